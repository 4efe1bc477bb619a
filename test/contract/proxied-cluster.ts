/**
 * The harness of a backend with a server (etcd, ZooKeeper). One server for
 * the whole test file, a random keyspace per store (so cases never see each
 * other's keys), and each backend opened through its own TCP proxy to the
 * server, so a case can cut one off for good (sever) or for a while
 * (partition) as a crash or a network partition would, without the client
 * saying goodbye.
 */
import { after, before } from 'node:test';
import { randomUUID } from 'node:crypto';
import type { Backend, BackendModule } from '../../src/backends/types.js';
import type { Store } from '../../src/store/types.js';
import { silentLogger } from '../../src/util/log.js';
import { startBackendServers, type BackendServers, type ClusterBackend } from '../helpers/backend-servers.js';
import type { ClusterHarness, ContractHarness, StoreOptions } from './harness.js';
import { tcpProxy, type TcpProxy } from './tcp-proxy.js';

/** A store log that says nothing. */
export const quiet = { warn: (): void => undefined, info: (): void => undefined };

export interface ServerHarnessOptions {
  backend: ClusterBackend;
  module: BackendModule;
  /** Lease TTL (session timeout) of the backends the cluster cases open. */
  leaseTtlMs: number;
  /** A store on `keyspace` of the server at `endpoints`. */
  connect(endpoints: string[], keyspace: string, options: StoreOptions): Promise<Store>;
}

/**
 * The contract harness of `o.backend` on one server, started before the file's first case and
 * stopped after its last; `servers()` is that server, for a file's own cases. A peer connects to
 * its store's keyspace; a server restart SIGKILLs the server and starts it again on its data.
 */
export function serverHarness(o: ServerHarnessOptions): { harness: ContractHarness; servers: () => BackendServers } {
  let servers: BackendServers | undefined;
  before(async () => {
    servers = await startBackendServers(o.backend, 1);
  });
  after(async () => {
    await servers?.stop();
  });
  const running = (): BackendServers => {
    if (!servers) throw new Error(`${o.backend}: the server is not running`);
    return servers;
  };
  const keyspaces = new WeakMap<Store, string>();
  const connect = async (keyspace: string, options: StoreOptions = {}): Promise<Store> => {
    const store = await o.connect(running().endpoints, keyspace, options);
    keyspaces.set(store, keyspace);
    return store;
  };
  return {
    servers: running,
    harness: {
      label: o.backend,
      openStore: (options) => connect(`t-${randomUUID()}`, options),
      openPeer: (store) => connect(keyspaces.get(store) ?? `t-${randomUUID()}`),
      restartServer: async (whileDown) => {
        await running().stopMember(0, true);
        try {
          await whileDown?.();
        } finally {
          await running().startMember(0);
        }
      },
      cluster: proxiedCluster(o.module, () => running().endpoints[0] ?? '', o.leaseTtlMs),
    },
  };
}

function proxiedCluster(module: BackendModule, server: () => string, leaseTtlMs: number): ClusterHarness {
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
