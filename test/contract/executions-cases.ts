/** Contract cases: executions (store, finish, retry, groups and follow-ups, listing, history and prune). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Execution, Job } from '../../src/job/types.js';
import { ExecutionClosedError, type JobEvent } from '../../src/store/types.js';
import { at, exec, job, running } from '../helpers/fixtures.js';
import { Collector, withStore, type ContractHarness } from './harness.js';

const describeEvent = (e: JobEvent): string => (e.type === 'put' ? `put ${e.job.name} ${e.job.success_count}` : `delete ${e.name}`);
const count = (j: Job | null): Job | undefined => (j ? { ...j, success_count: j.success_count + 1 } : undefined);

export function executionsCases(h: ContractHarness): void {
  const t = (title: string): string => `${h.label}: ${title}`;

  void test(t('putExecution upserts; getExecution round-trips; a finished record leaves listRunning'), withStore(h, async (store) => {
    const r = running('a', '1');
    await store.putExecution(r);
    assert.deepEqual(await store.getExecution('a', '1'), r);
    assert.deepEqual((await store.listRunning('a')).map((e) => e.id), ['1']);
    const done = exec('a', '1', { output: 'done', output_truncated: true });
    await store.putExecution(done);
    assert.deepEqual(await store.getExecution('a', '1'), done);
    assert.deepEqual(await store.listRunning('a'), []);
    assert.equal((await store.listExecutions('a')).total, 1);
    assert.equal(await store.getExecution('a', '2'), null);
    assert.equal(await store.getExecution('b', '1'), null);
  }));

  void test(t('completeExecution stores the execution and applies the updater atomically, counted once each'), withStore(h, async (store) => {
    const events = new Collector<string>();
    store.watchJobs((e) => events.push(describeEvent(e)));
    await store.updateJob('a', () => job('a'));
    await store.putExecution(running('a', '1'));
    const after = await store.completeExecution(exec('a', '1'), (cur) => (cur ? { ...cur, success_count: cur.success_count + 1, last_success: at(1) } : undefined));
    assert.equal(after?.success_count, 1);
    assert.equal((await store.getExecution('a', '1'))?.finished_at, at(1));
    assert.equal((await store.getJob('a'))?.success_count, 1);
    assert.deepEqual(await store.listRunning('a'), []);

    // Unchanged job: execution stored, no event.
    const same = await store.completeExecution(exec('a', '2'), () => undefined);
    assert.equal(same?.success_count, 1);
    assert.ok(await store.getExecution('a', '2'));
    // Updater throws: neither the execution nor the job change is kept.
    await assert.rejects(store.completeExecution(exec('a', '3'), () => {
      throw new Error('nope');
    }), /nope/);
    assert.equal(await store.getExecution('a', '3'), null);
    // The next event after the two job writes is this sentinel's: nothing in between.
    await store.updateJob('z', () => job('z'));
    assert.deepEqual(await events.waitFor(3), ['put a 0', 'put a 1', 'put z 0']);

    await Promise.all(Array.from({ length: 10 }, (_, i) => store.completeExecution(exec('a', `c${i}`), count)));
    assert.equal((await store.getJob('a'))?.success_count, 11);
  }));

  void test(t('completeExecution for a missing job still stores the execution; the updater gets null'), withStore(h, async (store) => {
    let received: Job | null | 'unset' = 'unset';
    const result = await store.completeExecution(exec('ghost', '1'), (cur) => {
      received = cur;
      return undefined;
    });
    assert.equal(received, null);
    assert.equal(result, null);
    assert.ok(await store.getExecution('ghost', '1'));
    assert.equal(await store.getJob('ghost'), null);
  }));

  void test(t('a failed attempt and its retry are stored in one step, so the group never looks finished between them'), withStore(h, async (store) => {
    await store.updateJob('a', () => job('a', { retries: 1 }));
    const first = running('a', 'try1', { group: 7 });
    assert.equal(await store.dispatchExecutions([first]), true);
    const retry = running('a', 'try2', { group: 7, attempt: 2, trigger: 'retry' });
    const failed = { ...first, finished_at: at(1), success: false, output: 'boom' };
    const after = await store.completeExecution(failed, (j) => (j ? { ...j, error_count: j.error_count + 1 } : undefined), { next: retry });
    assert.equal(after?.error_count, 1);
    assert.deepEqual((await store.listGroup('a', 7)).map((e) => [e.id, e.finished_at === null]), [['try1', false], ['try2', true]]);
    assert.deepEqual((await store.listRunning('a')).map((e) => e.id), ['try2'], 'forbid sees the retry running');
    assert.equal(await store.dispatchExecutions([running('a', 'other')], { exclusive: true }), false);
  }));

  void test(t('a closed execution refuses a late result (and its retry); the job is counted once'), withStore(h, async (store) => {
    await store.updateJob('a', () => job('a'));
    const e = running('a', 'x', { group: 3 });
    assert.equal(await store.dispatchExecutions([e]), true);
    const fail = (j: Job | null): Job | undefined => (j ? { ...j, error_count: j.error_count + 1 } : undefined);
    const lost = { ...e, finished_at: at(5), success: false, output: 'agent lost: n1 stopped renewing its lease' };
    assert.equal((await store.completeExecution(lost, fail))?.error_count, 1);
    const late = { ...e, finished_at: at(6), success: false, output: 'the real output' };
    await assert.rejects(
      store.completeExecution(late, fail, { next: running('a', 'x2', { group: 3, attempt: 2 }) }),
      (err: unknown) => err instanceof ExecutionClosedError,
    );
    assert.equal((await store.getExecution('a', 'x'))?.output, lost.output, 'the first close stands');
    assert.equal(await store.getExecution('a', 'x2'), null, 'no retry of a refused result');
    assert.equal((await store.getJob('a'))?.error_count, 1, 'counted once');
    // The same result again (a write whose reply was lost, retried) is not a late result.
    assert.equal((await store.completeExecution(lost, fail))?.error_count, 1);
    assert.equal((await store.getJob('a'))?.error_count, 1);
  }));

  void test(t('a closed execution is not reopened by a late start record'), withStore(h, async (store) => {
    const e = running('a', 'x', { group: 4 });
    assert.equal(await store.dispatchExecutions([e]), true);
    await store.completeExecution({ ...e, finished_at: at(5), output: 'agent lost' }, () => undefined);
    await assert.rejects(store.putExecution({ ...e, started_at: at(3) }), (err: unknown) => err instanceof ExecutionClosedError);
    assert.equal((await store.getExecution('a', 'x'))?.output, 'agent lost');
    assert.deepEqual(await store.listRunning('a'), []);
    await store.putExecution(running('a', 'y', { group: 4 }));
    assert.deepEqual((await store.listRunning('a')).map((r) => r.id), ['y']);
  }));

  void test(t('the result that finishes a group decides its outcome and stores its follow-up in the same step'), withStore(h, async (store) => {
    await store.updateJob('p', () => job('p', { dependent_jobs: ['c1', 'c2'] }));
    const a = running('p', 'a', { group: 9, node_name: 'n1' });
    const b = running('p', 'b', { group: 9, node_name: 'n2' });
    const other = running('p', 'other', { group: 8, node_name: 'n1' });
    assert.equal(await store.dispatchExecutions([a, b, other]), true);
    const seen: string[][] = [];
    const outcome = (j: Job, members: Execution[]): { job: Job; followUp?: string[] } | undefined => {
      seen.push(members.map((m) => `${m.id}:${m.finished_at === null ? 'running' : 'done'}`).sort());
      if (members.some((m) => m.finished_at === null) || j.last_group === 9) return undefined;
      return { job: { ...j, status: 'success', last_group: 9 }, followUp: j.dependent_jobs ?? [] };
    };
    await store.completeExecution({ ...a, finished_at: at(2), success: true }, () => undefined, { group: outcome });
    assert.deepEqual(seen.at(-1), ['a:done', 'b:running'], 'members as stored after this write, this group only');
    assert.equal((await store.getJob('p'))?.last_group, 0);
    assert.deepEqual(await store.listFollowUps(), []);
    const done = await store.completeExecution({ ...b, finished_at: at(3), success: true }, () => undefined, { group: outcome });
    assert.deepEqual(seen.at(-1), ['a:done', 'b:done']);
    assert.equal(done?.status, 'success');
    assert.equal((await store.getJob('p'))?.last_group, 9);
    assert.deepEqual(await store.listFollowUps(), [{ job: 'p', group: 9, node: 'n2', children: ['c1', 'c2'] }]);
    assert.deepEqual(await store.listFollowUps('n1'), []);
    await store.deleteFollowUp('p', 9);
    await store.deleteFollowUp('p', 9);
    assert.deepEqual(await store.listFollowUps(), []);
  }));

  void test(t('listExecutions sorts by started_at desc by default, ties by id, times as instants'), withStore(h, async (store) => {
    await store.putExecution(exec('a', 'x1', { started_at: at(10) }));
    await store.putExecution(exec('a', 'x3', { started_at: at(20) }));
    await store.putExecution(exec('a', 'x2', { started_at: at(20) }));
    await store.putExecution(exec('a', 'x0', { started_at: at(5) }));
    // 01:30+02:00 is 23:30Z the day before: older than T0 although it sorts later as text.
    await store.putExecution(exec('a', 'off', { started_at: '2024-01-01T01:30:00+02:00' }));
    await store.putExecution(exec('a', 'nanos', { started_at: '2024-01-01T00:00:00.500000000Z' }));
    await store.putExecution(exec('ab', 'y', { started_at: at(15) })); // a job whose name extends "a"
    const desc = await store.listExecutions('a');
    assert.equal(desc.total, 6);
    assert.deepEqual(desc.items.map((e) => e.id), ['x3', 'x2', 'x1', 'x0', 'nanos', 'off']);
    const asc = await store.listExecutions('a', { order: 'asc' });
    assert.deepEqual(asc.items.map((e) => e.id), ['off', 'nanos', 'x0', 'x1', 'x2', 'x3']);
    assert.equal(asc.items[0]?.started_at, '2024-01-01T01:30:00+02:00', 'the original text is kept');
    assert.deepEqual(await store.listExecutions('none'), { items: [], total: 0 });
    await assert.rejects(store.listExecutions('a', { sort: 'bogus' as 'attempt' }), /unsupported sort/);
  }));

  void test(t('listExecutions sorts by finished_at (running as newest) and by attempt, ties by id'), withStore(h, async (store) => {
    await store.putExecution(running('a', 'r1', { started_at: at(1) }));
    await store.putExecution(exec('a', 'f9', { started_at: at(2), finished_at: at(9), attempt: 2 }));
    await store.putExecution(exec('a', 'f5', { started_at: at(3), finished_at: at(5), attempt: 3 }));
    await store.putExecution(running('a', 'r2', { started_at: at(0), attempt: 2 }));
    const ids = async (sort: 'finished_at' | 'attempt', order?: 'asc'): Promise<string[]> =>
      (await store.listExecutions('a', { sort, order })).items.map((e) => e.id);
    assert.deepEqual(await ids('finished_at'), ['r2', 'r1', 'f9', 'f5']);
    assert.deepEqual(await ids('finished_at', 'asc'), ['f5', 'f9', 'r1', 'r2']);
    assert.deepEqual(await ids('attempt'), ['f5', 'r2', 'f9', 'r1']);
    assert.deepEqual(await ids('attempt', 'asc'), ['r1', 'f9', 'r2', 'f5']);
  }));

  void test(t('listExecutions pages with [start, end) and clamps, over a long history'), withStore(h, async (store) => {
    const all = Array.from({ length: 250 }, (_, i) => exec('a', `e${String(i).padStart(3, '0')}`, { started_at: at(i) }));
    for (let i = 0; i < all.length; i += 30) await store.dispatchExecutions(all.slice(i, i + 30));
    const ids = async (start?: number, end?: number): Promise<string[]> => {
      const page = await store.listExecutions('a', { order: 'asc', start, end });
      assert.equal(page.total, 250);
      return page.items.map((e) => e.id);
    };
    assert.deepEqual(await ids(2, 5), ['e002', 'e003', 'e004']);
    assert.deepEqual(await ids(248), ['e248', 'e249']);
    assert.deepEqual(await ids(undefined, 2), ['e000', 'e001']);
    assert.deepEqual(await ids(-3, 1), ['e000']);
    assert.deepEqual(await ids(247, 1000), ['e247', 'e248', 'e249']);
    assert.deepEqual(await ids(250), []);
    assert.deepEqual(await ids(251, 260), []);
    assert.deepEqual(await ids(5, 5), []);
    assert.deepEqual(await ids(6, 3), []);
    assert.deepEqual(await ids(0, -1), []);
    assert.equal((await ids(Number.NaN, Number.NaN)).length, 250);
    assert.deepEqual((await store.listExecutions('a', { start: 0, end: 3 })).items.map((e) => e.id), ['e249', 'e248', 'e247']);
  }));

  void test(t('listGroup returns every execution of a group, by attempt; big group ids survive'), withStore(h, async (store) => {
    await store.putExecution(exec('a', 'g1-2', { group: 100, attempt: 2, started_at: at(2) }));
    await store.putExecution(exec('a', 'g1-1', { group: 100, attempt: 1, started_at: at(1), node_name: 'n2' }));
    await store.putExecution(exec('a', 'g2-1', { group: 200, attempt: 1 }));
    await store.putExecution(exec('b', 'g1-b', { group: 100 }));
    assert.deepEqual((await store.listGroup('a', 100)).map((e) => e.id), ['g1-1', 'g1-2']);
    assert.deepEqual((await store.listGroup('a', 200)).map((e) => e.id), ['g2-1']);
    assert.deepEqual(await store.listGroup('a', 300), []);
    // Microsecond group ids are beyond 2^32 and must survive the round trip.
    const big = 1_704_067_200_123_456;
    await store.putExecution(exec('a', 'big', { group: big }));
    assert.deepEqual((await store.listGroup('a', big)).map((e) => e.group), [big]);
  }));

  void test(t('listRunning lists unfinished executions of one job or all, oldest first'), withStore(h, async (store) => {
    await store.putExecution(running('a', 'r', { started_at: at(2) }));
    await store.putExecution(exec('a', 'f'));
    await store.putExecution(running('b', 'r', { started_at: at(1) }));
    await store.putExecution(running('ab', 'r', { started_at: at(3) }));
    const names = (list: Execution[]): string[] => list.map((e) => `${e.job_name}/${e.id}`);
    assert.deepEqual(names(await store.listRunning('a')), ['a/r']);
    assert.deepEqual(names(await store.listRunning()), ['b/r', 'a/r', 'ab/r']);
    await store.putExecution(exec('a', 'r', { started_at: at(2) }));
    assert.deepEqual(names(await store.listRunning()), ['b/r', 'ab/r']);
    assert.deepEqual(await store.listRunning('none'), []);
  }));

  void test(t('deleteExecutions removes one job\'s executions (running ones too) and counts them'), withStore(h, async (store) => {
    for (let i = 0; i < 3; i++) await store.putExecution(exec('a', `${i}`));
    await store.putExecution(running('a', 'r'));
    await store.putExecution(exec('b', '0'));
    assert.equal(await store.deleteExecutions('a'), 4);
    assert.equal(await store.deleteExecutions('a'), 0);
    assert.equal((await store.listExecutions('a')).total, 0);
    assert.deepEqual(await store.listRunning(), []);
    assert.equal((await store.listExecutions('b')).total, 1);
  }));

  void test(t('pruneExecutions keeps the newest by started_at then id, never deletes running ones, and handles many'), withStore(h, async (store) => {
    for (let i = 0; i < 6; i++) await store.putExecution(exec('a', `e${i}`, { started_at: at(i) }));
    await store.putExecution(exec('a', 'e5b', { started_at: at(5) }));
    await store.putExecution(running('a', 'old-running', { started_at: at(-50) }));
    await store.putExecution(exec('b', 'keep-me', { started_at: at(-100) }));
    assert.equal(await store.pruneExecutions('a', 3), 4);
    assert.deepEqual((await store.listExecutions('a')).items.map((e) => e.id), ['e5b', 'e5', 'e4', 'old-running']);
    assert.equal(await store.pruneExecutions('a', 3), 0);
    assert.equal(await store.pruneExecutions('a', 10), 0);
    assert.equal(await store.pruneExecutions('a', 0), 3);
    assert.deepEqual((await store.listExecutions('a')).items.map((e) => e.id), ['old-running']);
    assert.deepEqual((await store.listRunning('a')).map((e) => e.id), ['old-running']);
    assert.equal(await store.pruneExecutions('a', -1), 0);
    assert.ok(await store.getExecution('b', 'keep-me'));

    // More victims than one etcd transaction may hold.
    const many = Array.from({ length: 300 }, (_, i) => exec('c', `m${String(i).padStart(3, '0')}`, { started_at: at(i) }));
    for (let i = 0; i < many.length; i += 30) await store.dispatchExecutions(many.slice(i, i + 30));
    assert.equal(await store.pruneExecutions('c', 10), 290);
    assert.deepEqual((await store.listExecutions('c', { end: 1 })).items.map((e) => e.id), ['m299']);
    assert.equal((await store.listExecutions('c')).total, 10);
  }));

  void test(t('pruneExecutions with a history not full deletes nothing, and running ones do not count'), withStore(h, async (store) => {
    await store.putExecution(exec('a', 'old'));
    await store.putExecution(running('a', 'live'));
    assert.equal(await store.pruneExecutions('a', 2), 0);
    assert.equal((await store.listExecutions('a')).total, 2);
    for (let i = 1; i <= 3; i++) await store.putExecution(exec('a', `done${i}`, { started_at: at(i) }));
    assert.equal(await store.pruneExecutions('a', 2), 2, 'two finished kept, the running one not counted');
    assert.deepEqual((await store.listExecutions('a', { order: 'asc' })).items.map((e) => e.id), ['live', 'done2', 'done3']);
    assert.equal(await store.pruneExecutions('a', 0), 2);
    assert.deepEqual((await store.listExecutions('a')).items.map((x) => x.id), ['live']);
  }));
}
