/**
 * Store contract cases every backend must pass, run by each backend's test
 * file with its own way of opening a fresh store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/types.js';
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
}
