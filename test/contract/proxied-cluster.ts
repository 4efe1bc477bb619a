/**
 * The ClusterHarness of a backend with a server (etcd, ZooKeeper): each
 * backend is opened through its own TCP proxy to the server, so a case can
 * cut one off for good (sever) or for a while (partition) as a crash or a
 * network partition would, without the client saying goodbye.
 */
import type { Backend, BackendModule } from '../../src/backends/types.js';
import { silentLogger } from '../../src/util/log.js';
import type { ClusterHarness } from './harness.js';
import { tcpProxy, type TcpProxy } from './tcp-proxy.js';

export function proxiedCluster(module: BackendModule, server: () => string, leaseTtlMs: number): ClusterHarness {
  const proxies = new Map<Backend, TcpProxy>();
  return {
    leaseTtlMs,
    openBackend: async (keyspace) => {
      const proxy = await tcpProxy(server());
      const auth = { tlsCa: null, tlsCert: null, tlsKey: null, username: null, password: null };
      const backend = await module.open({ machines: [proxy.endpoint], keyspace, leaseTtlMs, auth, dataDir: '' }, { log: silentLogger() });
      proxies.set(backend, proxy);
      return backend;
    },
    sever: async (backend) => {
      await proxies.get(backend)?.sever();
    },
    partition: async (backend) => {
      const proxy = proxies.get(backend);
      if (!proxy) throw new Error('partition: not a backend this harness opened');
      proxy.cut();
      return async () => proxy.heal();
    },
    closeBackend: async (backend) => {
      await backend.store.close();
      await proxies.get(backend)?.sever();
      proxies.delete(backend);
    },
  };
}
