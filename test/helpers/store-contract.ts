/**
 * Store contract cases every backend must pass, run by each backend's test
 * file with its own way of opening a fresh store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecutionClosedError, type Store } from '../../src/store/types.js';
import type { Execution, Job } from '../../src/job/types.js';
import { at, exec, job, running } from './fixtures.js';

export function storeContract(label: string, withStore: (fn: (store: Store) => Promise<void>) => () => Promise<void>): void {
  void test(`${label}: exclusive dispatch (forbid) is refused atomically while the job has a running execution`, withStore(async (store) => {
    assert.equal(await store.dispatchExecutions([running('a', 'r1')], { exclusive: true }), true);
    assert.equal(await store.dispatchExecutions([running('a', 'r2')], { exclusive: true }), false);
    assert.equal(await store.getExecution('a', 'r2'), null);
    assert.equal(await store.commitTick('a', at(10), [running('a', 't10')], { exclusive: true }), false);
    assert.equal(await store.getLastTick('a'), null, 'a refused tick writes nothing');
    assert.equal(await store.dispatchExecutions([running('b', 'other')], { exclusive: true }), true, 'other jobs are not blocked');
    await store.putExecution(exec('a', 'r1'));
    assert.equal(await store.commitTick('a', at(10), [running('a', 't10')], { exclusive: true }), true);
    // Concurrent exclusive dispatches: exactly one wins.
    await store.putExecution(exec('a', 't10'));
    const results = await Promise.all(
      Array.from({ length: 8 }, (_v, i) => store.dispatchExecutions([running('a', `race${i}`)], { exclusive: true })),
    );
    assert.equal(results.filter(Boolean).length, 1);
  }));

  void test(`${label}: listLastTicks returns every job's last tick`, withStore(async (store) => {
    assert.deepEqual([...(await store.listLastTicks())], []);
    await store.commitTick('a', at(1), []);
    await store.commitTick('b', at(2), []);
    await store.commitTick('a', at(3), []);
    assert.deepEqual([...(await store.listLastTicks())].sort(), [['a', at(3)], ['b', at(2)]]);
  }));

  void test(`${label}: listJobs pages by name`, withStore(async (store) => {
    for (const n of ['d', 'b', 'a', 'c', 'e']) await store.updateJob(n, () => job(n));
    assert.deepEqual((await store.listJobs({ offset: 1, limit: 3 })).map((j) => j.name), ['b', 'c', 'd']);
    assert.deepEqual((await store.listJobs({ offset: 4, limit: 10 })).map((j) => j.name), ['e']);
    assert.deepEqual(await store.listJobs({ offset: 5, limit: 10 }), []);
    assert.deepEqual(await store.listJobs({ offset: 0, limit: 0 }), []);
  }));

  void test(`${label}: a failed attempt and its retry are stored in one step, so the group never looks finished between them`, withStore(async (store) => {
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

  void test(`${label}: a closed execution refuses a late result (and its retry); the job is counted once`, withStore(async (store) => {
    await store.updateJob('a', () => job('a'));
    const e = running('a', 'x', { group: 3 });
    assert.equal(await store.dispatchExecutions([e]), true);
    const count = (j: Job | null): Job | undefined => (j ? { ...j, error_count: j.error_count + 1 } : undefined);
    const lost = { ...e, finished_at: at(5), success: false, output: 'agent lost: n1 stopped renewing its lease' };
    assert.equal((await store.completeExecution(lost, count))?.error_count, 1);
    const late = { ...e, finished_at: at(6), success: false, output: 'the real output' };
    await assert.rejects(
      store.completeExecution(late, count, { next: running('a', 'x2', { group: 3, attempt: 2 }) }),
      (err: unknown) => err instanceof ExecutionClosedError,
    );
    assert.equal((await store.getExecution('a', 'x'))?.output, lost.output, 'the first close stands');
    assert.equal(await store.getExecution('a', 'x2'), null, 'no retry of a refused result');
    assert.equal((await store.getJob('a'))?.error_count, 1, 'counted once');
    // The same result again (a write whose reply was lost, retried) is not a late result.
    assert.equal((await store.completeExecution(lost, count))?.error_count, 1);
    assert.equal((await store.getJob('a'))?.error_count, 1);
  }));

  void test(`${label}: updateJobs writes several jobs in one step, or none when the updater throws`, withStore(async (store) => {
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

  void test(`${label}: the result that finishes a group decides its outcome and stores its follow-up in the same step`, withStore(async (store) => {
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

  void test(`${label}: a closed execution is not reopened by a late start record`, withStore(async (store) => {
    const e = running('a', 'x', { group: 4 });
    assert.equal(await store.dispatchExecutions([e]), true);
    await store.completeExecution({ ...e, finished_at: at(5), output: 'agent lost' }, () => undefined);
    await assert.rejects(store.putExecution({ ...e, started_at: at(3) }), (err: unknown) => err instanceof ExecutionClosedError);
    assert.equal((await store.getExecution('a', 'x'))?.output, 'agent lost');
    assert.deepEqual(await store.listRunning('a'), []);
    await store.putExecution(running('a', 'y', { group: 4 }));
    assert.deepEqual((await store.listRunning('a')).map((r) => r.id), ['y']);
  }));
}
