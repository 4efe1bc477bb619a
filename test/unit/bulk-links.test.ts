/**
 * Bulk writes keep parents' dependent_jobs, refuse cycles and orphaning prunes the same way
 * whether they read only the jobs they name (a small request into a big store) or scan them all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyBulk, BulkValidationError } from '../../src/core/bulk.js';
import { ConflictError } from '../../src/core/errors.js';
import { definitionOf } from '../../src/core/audit.js';
import { SqliteStore } from '../../src/backends/embedded/sqlite-store.js';
import type { ExecutorCatalog } from '../../src/job/schema.js';
import type { Store } from '../../src/store/types.js';

const executors: ExecutorCatalog = { validate: () => null };
const actor = { name: 'test', scope: {} };
const limits = { maxJobs: 0 };

const job = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  schedule: '@every 1h',
  executor: 'shell',
  executor_config: { command: 'true' },
  ...extra,
});

const apply = (store: Store, jobs: Record<string, unknown>[], prune: string | null = null) =>
  applyBulk(store, executors, limits, { jobs, prune: prune ? { label: prune } : null, dry_run: false }, actor);

/**
 * p1 ← c1 ← g, p1 ← c2, p2; plus `filler` unrelated jobs. With 40 fillers a 3-job request reads
 * only what it names (3 × 4 < 45 stored); with none it scans.
 */
async function family(filler: number): Promise<SqliteStore> {
  const store = SqliteStore.open(':memory:');
  await apply(store, [job('p1'), job('p2'), job('c1', { parent_job: 'p1' }), job('c2', { parent_job: 'p1' }), job('g', { parent_job: 'c1' })]);
  if (filler > 0) await apply(store, Array.from({ length: filler }, (_, i) => job(`filler-${i}`)));
  return store;
}

async function dependents(store: Store, name: string): Promise<string[] | null> {
  return (await store.getJob(name))?.dependent_jobs ?? null;
}

for (const [mode, filler] of [
  ['reading only the named jobs', 40],
  ['scanning every job', 0],
] as const) {
  test(`re-parenting, new children and grandchildren update each parent (${mode})`, async () => {
    const store = await family(filler);
    assert.deepEqual(await dependents(store, 'p1'), ['c1', 'c2']);
    await apply(store, [job('c2', { parent_job: 'p2' }), job('c3', { parent_job: 'p2' }), job('n', { parent_job: 'g' })]);
    assert.deepEqual(await dependents(store, 'p1'), ['c1']);
    assert.deepEqual(await dependents(store, 'p2'), ['c2', 'c3']);
    assert.deepEqual(await dependents(store, 'g'), ['n']);
    assert.deepEqual(await dependents(store, 'c1'), ['g']);
    // A child leaving its parent for none empties the list to null, as dkron shows it.
    await apply(store, [job('n')]);
    assert.equal(await dependents(store, 'g'), null);
    await store.close();
  });

  test(`a cycle through stored ancestors is refused, nothing written (${mode})`, async () => {
    const store = await family(filler);
    await assert.rejects(apply(store, [job('p1', { parent_job: 'g' })]), (err: unknown) => {
      assert.ok(err instanceof BulkValidationError);
      assert.equal(err.errors[0]?.field, 'parent_job');
      assert.match(err.errors[0]?.message ?? '', /cycle: p1 -> g -> c1 -> p1/);
      return true;
    });
    assert.equal((await store.getJob('p1'))?.parent_job, '');
    await store.close();
  });

  test(`a prune may not orphan a child that stays, nor leave a parent missing (${mode})`, async () => {
    const store = await family(filler);
    const owned = { metadata: { 'managed-by': 'files' } };
    // p1 and its children become owned; g is not, and keeps c1 as its parent.
    await apply(store, [job('p1', owned), job('c1', { ...owned, parent_job: 'p1' }), job('c2', { ...owned, parent_job: 'p1' })]);
    await assert.rejects(apply(store, [job('p1', owned)], 'managed-by=files'), (err: unknown) => {
      assert.ok(err instanceof ConflictError);
      assert.match(err.message, /cannot prune job "c1": it has dependent jobs that stay \(g\)/);
      return true;
    });
    // Re-parenting g to p1 in the same request lets c1 go; c2 goes too.
    const r = await apply(store, [job('p1', owned), job('g', { parent_job: 'p1' })], 'managed-by=files');
    assert.deepEqual(r.deleted.sort(), ['c1', 'c2']);
    assert.deepEqual(await dependents(store, 'p1'), ['g']);
    // A child naming a job this request prunes is an error naming why.
    await assert.rejects(apply(store, [job('x', { parent_job: 'p1' })], 'managed-by=files'), (err: unknown) => {
      assert.ok(err instanceof BulkValidationError);
      assert.match(err.errors[0]?.message ?? '', /parent job "p1" not found \(it would be pruned\)/);
      return true;
    });
    await store.close();
  });
}

test('the audit entry of a bulk create or update holds the stored job\'s definition', async () => {
  const store = SqliteStore.open(':memory:');
  const full = job('full', {
    displayname: 'Full',
    timezone: 'Europe/Berlin',
    owner: 'ops',
    owner_email: 'ops@example.com',
    tags: { role: 'web' },
    metadata: { team: 'a' },
    retries: 2,
    concurrency: 'forbid',
    processors: { log: {} },
    executor_config: { command: 'echo hi', timeout: '1m' },
  });
  await apply(store, [full]);
  await apply(store, [{ ...full, retries: 3 }]);
  const stored = await store.getJob('full');
  const audit = await store.listAudit({ job: 'full' });
  assert.deepEqual(audit.items.map((e) => e.action), ['job.update', 'job.create']);
  assert.deepEqual(JSON.parse(JSON.stringify(audit.items[0]?.after)), JSON.parse(JSON.stringify(definitionOf(stored))));
  assert.equal((audit.items[0]?.before as { retries: number }).retries, 2);
  await store.close();
});
