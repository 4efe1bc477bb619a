/**
 * Opens the store an agent's options name. The agent and the local admin
 * commands (`kairos token`) share it, so both reach the same data the same way.
 */
import { join } from 'node:path';
import type { AgentConfig } from './config.js';
import type { Store } from '../store/types.js';
import { loadBackendTls } from '../api/tls.js';
import type { Logger } from '../util/log.js';

/** Each backend's code (etcd3 and its gRPC stack, better-sqlite3) loads only when that backend is chosen. */
export async function openStore(config: AgentConfig, log?: Logger): Promise<Store> {
  // Certificate files are read (and checked) now, so a wrong path fails at once, naming the option.
  const backend = loadBackendTls(config.backendAuth);
  if (config.backend === 'etcd') {
    const { EtcdStore } = await import('../store/etcd/etcd-store.js');
    // With the agent's logger, the store's warnings (watch lost, retries) are log lines like the rest,
    // in --log-format, instead of Node process warnings on stderr.
    return EtcdStore.connect({
      endpoints: config.backendMachines,
      keyspace: config.keyspace,
      ...backend,
      ...(log ? { log, onListenerError: (err: unknown) => log.error({ err: err instanceof Error ? err.message : String(err) }, 'store: a watch listener failed') } : {}),
    });
  }
  const { SqliteStore } = await import('../store/embedded/sqlite-store.js');
  return SqliteStore.open(join(config.dataDir, 'kairos.db'));
}
