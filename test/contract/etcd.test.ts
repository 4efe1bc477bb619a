/**
 * The backend contract on etcd: one real etcd process for the whole file, a
 * random keyspace per store (so cases never see each other's keys), and
 * backends reached through a proxy each, so a case can cut one off.
 */
import { EtcdStore } from '../../src/backends/etcd/etcd-store.js';
import * as backendModule from '../../src/backends/etcd/index.js';
import { backendContract } from './backend-contract.js';
import { quiet, serverHarness } from './proxied-cluster.js';

const { harness } = serverHarness({
  backend: 'etcd',
  module: backendModule,
  leaseTtlMs: 2000,
  connect: (endpoints, keyspace, options) => EtcdStore.connect({ endpoints, keyspace, log: quiet, ...options }),
});
backendContract(harness);
