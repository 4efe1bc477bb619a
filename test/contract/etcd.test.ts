/**
 * The backend contract on etcd: one real etcd process for the whole file, a
 * random keyspace per store (so cases never see each other's keys), and
 * backends reached through a proxy each, so a case can cut one off.
 */
import { after, before } from 'node:test';
import { randomUUID } from 'node:crypto';
import { EtcdStore } from '../../src/backends/etcd/etcd-store.js';
import * as backendModule from '../../src/backends/etcd/index.js';
import type { Store } from '../../src/store/types.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { backendContract, type StoreOptions } from './backend-contract.js';
import { proxiedCluster } from './proxied-cluster.js';

let etcd: EtcdCluster;
before(async () => {
  etcd = await startEtcd(1);
});
after(async () => {
  await etcd?.stop();
});

const quiet = { warn: () => undefined, info: () => undefined };
const keyspaces = new WeakMap<Store, string>();

async function connect(keyspace: string, options: StoreOptions = {}): Promise<Store> {
  const store = await EtcdStore.connect({ endpoints: etcd.endpoints, keyspace, log: quiet, ...options });
  keyspaces.set(store, keyspace);
  return store;
}

backendContract({
  label: 'etcd',
  openStore: (options) => connect(`t-${randomUUID()}`, options),
  openPeer: (store) => connect(keyspaces.get(store) ?? `t-${randomUUID()}`),
  restartServer: async (whileDown) => {
    await etcd.stopMember(0, true);
    try {
      await whileDown?.();
    } finally {
      await etcd.startMember(0);
    }
  },
  cluster: proxiedCluster(backendModule, () => etcd.endpoints[0] ?? '', 2000),
});
