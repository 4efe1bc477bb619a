/**
 * Store.writeJobs on etcd when a batch is over --max-txn-ops: it is split into
 * several transactions, each job with its own audit entry, and still lands
 * whole. (writeJobs itself, on every backend, is in the contract suite.)
 */
import { after, before, test } from 'node:test';
import { randomUUID } from 'node:crypto';
import { EtcdStore } from '../../src/backends/etcd/etcd-store.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { writeJobsCase } from '../contract/jobs-cases.js';

let etcd: EtcdCluster | undefined;
before(async () => {
  etcd = await startEtcd(1);
});
after(async () => {
  await etcd?.stop();
});

test('writeJobs on etcd: split into transactions of at most maxTxnOps', async () => {
  // 30 jobs × (put + 2 audit keys) + a delete: ~100 ops, so 8 per transaction means many.
  const store = await EtcdStore.connect({ endpoints: etcd!.endpoints, keyspace: `t-${randomUUID()}`, maxTxnOps: 8 });
  try {
    await writeJobsCase(store);
  } finally {
    await store.close();
  }
});
