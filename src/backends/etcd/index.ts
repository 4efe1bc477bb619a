/**
 * The etcd backend: the store and the cluster share one connection (the
 * store's namespace); the leader key's create revision is the fence the
 * store checks on every tick commit.
 */
import { loadBackendTls } from '../../util/tls-files.js';
import type { Backend, BackendOptions, OpenContext } from '../types.js';
import { EtcdStore } from './etcd-store.js';
import { EtcdCluster } from './etcd-cluster.js';

export async function open(options: BackendOptions, context: OpenContext): Promise<Backend> {
  // Certificate files are read (and checked) now, so a wrong path fails at once, naming the option.
  const credentials = loadBackendTls(options.auth);
  const { log } = context;
  const store = await EtcdStore.connect({
    endpoints: options.machines,
    keyspace: options.keyspace,
    ...credentials,
    // With the agent's logger, the store's warnings (watch lost, retries) are log lines like the rest,
    // in --log-format, instead of Node process warnings on stderr.
    ...(log ? { log, onListenerError: (err: unknown) => log.error({ err: err instanceof Error ? err.message : String(err) }, 'store: a watch listener failed') } : {}),
  });
  return {
    name: 'etcd',
    store,
    cluster: (self) =>
      new EtcdCluster({
        ...self,
        ns: store.ns,
        setFence: (fence) => store.setFence(fence),
        leaseTtlSec: Math.ceil(options.leaseTtlMs / 1000),
      }),
  };
}
