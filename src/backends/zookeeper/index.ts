/**
 * The ZooKeeper backend: the store and the cluster share one session. The
 * leader's election node (ephemeral sequential) is the fence the store checks
 * in every tick commit; --lease-ttl is the session timeout.
 */
import type { Backend, BackendOptions, OpenContext } from '../types.js';
import { ZkStore } from './zk-store.js';
import { ZkCluster } from './zk-cluster.js';

export async function open(options: BackendOptions, context: OpenContext): Promise<Backend> {
  const { log } = context;
  const store = await ZkStore.connect({
    servers: options.machines,
    keyspace: options.keyspace,
    sessionTimeoutMs: options.leaseTtlMs,
    // With the agent's logger, the store's warnings (watch lost, retries) are log lines like the rest.
    ...(log ? { log, onListenerError: (err: unknown) => log.error({ err: err instanceof Error ? err.message : String(err) }, 'store: a watch listener failed') } : {}),
  });
  return {
    name: 'zookeeper',
    store,
    cluster: (self) =>
      new ZkCluster({
        ...self,
        session: store.session,
        layout: store.layout,
        setFence: (fence) => store.setFence(fence),
      }),
  };
}
