/**
 * Store.writeJobs, the bulk write behind POST /v1/jobs/bulk: puts, deletes
 * (with the job's executions) and audit entries land together, watchers hear
 * every change; on etcd a batch over --max-txn-ops is split into several
 * transactions, each job with its own audit entry.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SqliteStore } from '../../src/backends/embedded/sqlite-store.js';
import { EtcdStore } from '../../src/backends/etcd/etcd-store.js';
import type { JobEvent, Store } from '../../src/store/types.js';
import { auditEntry } from '../../src/core/audit.js';
import { exec, job } from '../helpers/fixtures.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';

const actor = { name: 'tester', scope: {} };

async function writeJobsContract(store: Store): Promise<void> {
  await store.updateJob('old', () => job('old'));
  await store.putExecution(exec('old', 'e1', { finished_at: '2026-01-01T00:00:01Z' }));
  const events: JobEvent[] = [];
  const stop = store.watchJobs((e) => events.push(e));
  const puts = Array.from({ length: 30 }, (_v, i) => job(`j${String(i).padStart(2, '0')}`));
  await store.writeJobs({
    put: puts,
    delete: ['old'],
    audit: [...puts.map((j) => auditEntry(actor, 'job.create', j.name, { after: j, detail: { via: 'apply' } })), auditEntry(actor, 'job.delete', 'old', { before: job('old') })],
  });
  assert.deepEqual(
    (await store.listJobs()).map((j) => j.name),
    puts.map((j) => j.name),
  );
  assert.equal(await store.getJob('old'), null);
  assert.equal((await store.listExecutions('old')).total, 0, 'the deleted job\'s executions go with it');
  const audit = await store.listAudit({ start: 0, end: 100 });
  assert.equal(audit.total, 31);
  assert.equal((await store.listAudit({ job: 'j07' })).items[0]?.action, 'job.create');
  assert.equal((await store.listAudit({ job: 'old' })).items[0]?.action, 'job.delete');
  // Watchers hear every put and the delete (etcd: asynchronously).
  const deadline = Date.now() + 10_000;
  while (events.length < 31 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  stop();
  assert.equal(events.filter((e) => e.type === 'put').length, 30);
  assert.deepEqual(events.filter((e) => e.type === 'delete'), [{ type: 'delete', name: 'old' }]);
}

test('writeJobs on the embedded store: one transaction', async () => {
  const store = SqliteStore.open(':memory:');
  try {
    await writeJobsContract(store);
  } finally {
    await store.close();
  }
});

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
    await writeJobsContract(store);
  } finally {
    await store.close();
  }
});
