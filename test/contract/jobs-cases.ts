/** Contract cases: jobs (CRUD, paging, bulk writes), settings, isolation and close. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from '../../src/job/types.js';
import type { JobEvent, Store } from '../../src/store/types.js';
import { auditEntry } from '../../src/core/audit.js';
import { jobsWriterOf } from '../../src/store/jobs-writer.js';
import { at, exec, job, running } from '../helpers/fixtures.js';
import { closeStore, Collector, withPeer, withStore, type ContractHarness } from './harness.js';

const byteOrder = (x: string, y: string): number => Buffer.compare(Buffer.from(x), Buffer.from(y));

/**
 * A bulk write (POST /v1/jobs/bulk): puts, deletes (with the job's executions) and audit
 * entries land together, and watchers hear every change. Exported for etcd's small-transaction run.
 */
export async function writeJobsCase(store: Store): Promise<void> {
  const actor = { name: 'tester', scope: {} };
  await store.updateJob('old', () => job('old'));
  await store.putExecution(exec('old', 'e1', { finished_at: '2026-01-01T00:00:01Z' }));
  const events = new Collector<JobEvent>();
  const stop = store.watchJobs(events.push);
  const puts = Array.from({ length: 30 }, (_v, i) => job(`j${String(i).padStart(2, '0')}`));
  await store.writeJobs({
    put: puts,
    delete: ['old'],
    audit: [...puts.map((j) => auditEntry(actor, 'job.create', j.name, { after: j, detail: { via: 'apply' } })), auditEntry(actor, 'job.delete', 'old', { before: job('old') })],
  });
  assert.deepEqual((await store.listJobs()).map((j) => j.name), puts.map((j) => j.name));
  assert.equal(await store.getJob('old'), null);
  assert.equal((await store.listExecutions('old')).total, 0, 'the deleted job\'s executions go with it');
  assert.equal((await store.listAudit({ start: 0, end: 100 })).total, 31);
  assert.equal((await store.listAudit({ job: 'j07' })).items[0]?.action, 'job.create');
  assert.equal((await store.listAudit({ job: 'old' })).items[0]?.action, 'job.delete');
  // Watchers hear every put and the delete (possibly asynchronously).
  await events.waitFor(31);
  stop();
  assert.equal(events.items.filter((e) => e.type === 'put').length, 30);
  assert.deepEqual(events.items.filter((e) => e.type === 'delete'), [{ type: 'delete', name: 'old' }]);
}

/**
 * A bulk write in parts (jobsWriterOf: the store's own writer, or writeJobs at commit): parts and
 * the rest land together, a job put twice is stored as last put and heard once, and an aborted
 * writer leaves nothing. `expected` picks the writer (the embedded store's thread from 2000 on).
 */
export async function jobsWriterCase(store: Store, expected = 30): Promise<void> {
  const actor = { name: 'tester', scope: {} };
  await store.updateJob('old', () => job('old'));
  const events = new Collector<JobEvent>();
  const stop = store.watchJobs(events.push);
  const aborted = jobsWriterOf(store, expected);
  aborted.put([job('never')], [auditEntry(actor, 'job.create', 'never', { after: job('never') })]);
  await aborted.abort();
  const writer = jobsWriterOf(store, expected);
  const first = Array.from({ length: 10 }, (_v, i) => job(`p${i}`));
  const second = Array.from({ length: 10 }, (_v, i) => job(`q${i}`));
  writer.put(first, first.map((j) => auditEntry(actor, 'job.create', j.name, { after: j })));
  writer.put(second, second.map((j) => auditEntry(actor, 'job.create', j.name, { after: j })));
  await writer.commit({ put: [job('p3', { owner: 'last put' })], delete: ['old'], audit: [auditEntry(actor, 'job.delete', 'old', { before: job('old') })] });
  assert.deepEqual((await store.listJobs()).map((j) => j.name), [...first, ...second].map((j) => j.name));
  assert.equal((await store.getJob('p3'))?.owner, 'last put');
  assert.equal(await store.getJob('never'), null, 'the aborted writer wrote nothing');
  assert.equal((await store.listAudit({ start: 0, end: 100 })).total, 21);
  await events.waitFor(21);
  stop();
  assert.equal(events.items.filter((e) => e.type === 'put').length, 20, 'one event per job');
  assert.deepEqual(events.items.filter((e) => e.type === 'delete'), [{ type: 'delete', name: 'old' }]);
}

export function jobsCases(h: ContractHarness): void {
  const t = (title: string): string => `${h.label}: ${title}`;

  void test(t('a fresh store is empty, says its kind, and routes executions exactly when it has a queue'), withStore(h, async (store) => {
    assert.equal(store.kind, h.label);
    assert.equal(store.routesExecutions, typeof store.consumeAssignments === 'function');
    assert.equal(await store.getJob('nope'), null);
    assert.equal(await store.countJobs(), 0);
    assert.deepEqual(await store.listJobs(), []);
    assert.deepEqual(await store.listRunning(), []);
    assert.equal(await store.getLastTick('nope'), null);
    assert.deepEqual([...(await store.listLastTicks())], []);
    assert.deepEqual(await store.listFollowUps(), []);
  }));

  void test(t('updateJob creates, updates, leaves untouched (undefined) and deletes (null)'), withStore(h, async (store) => {
    const seen: Array<Job | null> = [];
    const created = await store.updateJob('a', (cur) => {
      seen.push(cur);
      return job('a', { owner: 'x' });
    });
    assert.deepEqual(created, job('a', { owner: 'x' }));
    assert.deepEqual(await store.getJob('a'), job('a', { owner: 'x' }));

    const updated = await store.updateJob('a', (cur) => {
      seen.push(cur);
      assert.ok(cur);
      return { ...cur, success_count: cur.success_count + 1 };
    });
    assert.equal(updated?.success_count, 1);
    assert.equal((await store.getJob('a'))?.success_count, 1);

    assert.deepEqual(await store.updateJob('a', () => undefined), updated);
    assert.equal(await store.updateJob('missing', () => undefined), null);
    assert.equal(await store.getJob('missing'), null);

    assert.equal(await store.updateJob('a', () => null), null);
    assert.equal(await store.getJob('a'), null);
    assert.equal(await store.updateJob('a', () => null), null);
    assert.equal(seen[0], null);
    assert.equal(seen[1]?.owner, 'x');
  }));

  void test(t('updateJob: a throwing updater writes nothing; a renamed job is refused; results are copies'), withStore(h, async (store) => {
    await store.updateJob('a', () => job('a'));
    await assert.rejects(store.updateJob('a', () => {
      throw new Error('boom');
    }), /boom/);
    await assert.rejects(store.updateJob('a', () => job('b')), /named "b"/);
    assert.deepEqual(await store.getJob('a'), job('a'));
    assert.equal(await store.getJob('b'), null);
    const stored = await store.updateJob('a', (cur) => (cur ? { ...cur, owner: 'o' } : null));
    assert.ok(stored);
    stored.owner = 'mutated';
    assert.equal((await store.getJob('a'))?.owner, 'o');
    const read = await store.getJob('a');
    assert.ok(read);
    read.owner = 'mutated too';
    assert.equal((await store.getJob('a'))?.owner, 'o');
  }));

  void test(t('updateJob is atomic under concurrency: 20 increments from two agents give 20'), withStore(h, async (store) => {
    await withPeer(h, store, async (other) => {
      await store.updateJob('counter', () => job('counter'));
      let calls = 0;
      const inc = (s: Store): Promise<Job | null> =>
        s.updateJob('counter', (cur) => {
          calls++;
          return cur ? { ...cur, success_count: cur.success_count + 1 } : undefined;
        });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => inc(i % 2 === 0 ? store : other)));
      assert.equal((await other.getJob('counter'))?.success_count, 20);
      // Every result is a distinct state: no two increments were applied to the same version.
      assert.deepEqual(results.map((j) => j?.success_count).sort((a, b) => (a ?? 0) - (b ?? 0)), Array.from({ length: 20 }, (_, i) => i + 1));
      assert.ok(calls >= 20, `updater ran ${calls} times`);
    });
  }));

  void test(t('listJobs sorts by name in byte order across more than one read; countJobs counts'), withStore(h, async (store) => {
    // More jobs than one etcd range response holds; written in one bulk write to keep the setup fast.
    const names = Array.from({ length: 1203 }, (_, i) => `job-${String(1202 - i).padStart(5, '0')}`);
    await store.writeJobs({ put: names.map((n) => job(n)), delete: [], audit: [] });
    for (const name of ['c', 'a', 'b', 'B']) await store.updateJob(name, () => job(name));
    const listed = await store.listJobs();
    assert.equal(listed.length, 1207);
    // Upper case first, and 'c' < 'j'.
    assert.deepEqual(listed.slice(0, 5).map((j) => j.name), ['B', 'a', 'b', 'c', 'job-00000']);
    assert.deepEqual(listed.map((j) => j.name), [...names, 'a', 'b', 'c', 'B'].sort(byteOrder));
    assert.equal(await store.countJobs(), 1207);
  }));

  void test(t('listJobs pages by name'), withStore(h, async (store) => {
    for (const n of ['d', 'b', 'a', 'c', 'e']) await store.updateJob(n, () => job(n));
    assert.deepEqual((await store.listJobs({ offset: 1, limit: 3 })).map((j) => j.name), ['b', 'c', 'd']);
    assert.deepEqual((await store.listJobs({ offset: 4, limit: 10 })).map((j) => j.name), ['e']);
    assert.deepEqual(await store.listJobs({ offset: 5, limit: 10 }), []);
    assert.deepEqual(await store.listJobs({ offset: 0, limit: 0 }), []);
  }));

  void test(t('updateJobs writes several jobs in one step, or none when the updater throws'), withStore(h, async (store) => {
    await store.updateJob('p', () => job('p'));
    const out = await store.updateJobs(['c', 'p'], (cur) => {
      assert.equal(cur.get('c'), null);
      const p = cur.get('p');
      assert.ok(p);
      return new Map([['c', job('c', { parent_job: 'p' })], ['p', { ...p, dependent_jobs: ['c'] }]]);
    });
    assert.equal(out.get('c')?.parent_job, 'p');
    assert.deepEqual((await store.getJob('p'))?.dependent_jobs, ['c']);
    await assert.rejects(store.updateJobs(['d', 'p'], () => {
      throw new Error('no parent');
    }), /no parent/);
    await assert.rejects(store.updateJobs(['d'], () => new Map([['x', job('x')]])), /not given/);
    assert.equal(await store.getJob('d'), null);
    assert.equal(await store.getJob('x'), null);
    const untouched = await store.updateJobs(['p', 'c'], () => new Map());
    assert.deepEqual(untouched.get('p')?.dependent_jobs, ['c']);
  }));

  void test(t('deleteJob removes the job, its executions (running ones too) and its tick, and returns it'), withStore(h, async (store) => {
    await store.updateJob('a', () => job('a'));
    await store.updateJob('b', () => job('b'));
    await store.putExecution(exec('a', '1'));
    await store.putExecution(running('a', '2'));
    await store.putExecution(exec('b', '1'));
    assert.equal(await store.commitTick('a', at(0), []), true);
    assert.deepEqual(await store.deleteJob('a'), job('a'));
    assert.equal(await store.getJob('a'), null);
    assert.equal(await store.getExecution('a', '1'), null);
    assert.equal(await store.getExecution('a', '2'), null);
    assert.equal(await store.getLastTick('a'), null);
    assert.deepEqual(await store.listRunning(), []);
    assert.ok(await store.getExecution('b', '1'));
    assert.equal(await store.deleteJob('a'), null);
  }));

  void test(t('writeJobs puts, deletes and audits together; watchers hear every change'), withStore(h, writeJobsCase));
  void test(t('a bulk write in parts lands whole at commit, and not at all after abort'), withStore(h, (store) => jobsWriterCase(store)));

  void test(t('settings: set, overwrite, delete with null'), withStore(h, async (store) => {
    assert.equal(await store.getSetting('paused'), null);
    await store.setSetting('paused', 'true');
    assert.equal(await store.getSetting('paused'), 'true');
    await store.setSetting('paused', 'false');
    assert.equal(await store.getSetting('paused'), 'false');
    await store.setSetting('paused', null);
    assert.equal(await store.getSetting('paused'), null);
    await store.setSetting('paused', null);
  }));

  void test(t('two fresh stores do not see each other\'s data'), withStore(h, async (store) => {
    const other = await h.openStore();
    try {
      await store.updateJob('a', () => job('a'));
      await store.setSetting('paused', 'true');
      assert.equal(await other.getJob('a'), null);
      assert.equal(await other.countJobs(), 0);
      assert.equal(await other.getSetting('paused'), null);
    } finally {
      await closeStore(h, other);
    }
  }));

  void test(t('close is idempotent; calls after close reject clearly; unsubscribing after close is harmless'), async () => {
    const store = await h.openStore();
    const unwatch = store.watchJobs(() => undefined);
    const unconsume = store.consumeAssignments?.('n1', () => undefined);
    await closeStore(h, store);
    await store.close();
    unwatch();
    unconsume?.();
    await assert.rejects(store.getJob('a'), /closed/);
    await assert.rejects(store.updateJob('a', () => job('a')), /closed/);
  });
}
