/**
 * Opens the store an agent's options name. The agent and the local admin
 * commands (`kairos token`) share it, so both reach the same data the same way.
 */
import { join } from 'node:path';
import type { AgentConfig } from './config.js';
import type { Store } from '../store/types.js';
import { SqliteStore } from '../store/embedded/sqlite-store.js';
import { EtcdStore } from '../store/etcd/etcd-store.js';
import { loadBackendTls } from '../api/tls.js';

export async function openStore(config: AgentConfig): Promise<Store> {
  // Certificate files are read (and checked) now, so a wrong path fails at once, naming the option.
  const backend = loadBackendTls(config.backendAuth);
  if (config.backend === 'etcd') {
    return EtcdStore.connect({ endpoints: config.backendMachines, keyspace: config.keyspace, ...backend });
  }
  return SqliteStore.open(join(config.dataDir, 'kairos.db'));
}
