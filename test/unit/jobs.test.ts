/**
 * JobService's parent/child bookkeeping against the real embedded store, with
 * writes failing at chosen points (a crash or outage between two writes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobService, type JobQuery } from '../../src/core/jobs.js';
import { parseJobQuery } from '../../src/api/routes/jobs.js';
import { SqliteStore } from '../../src/backends/embedded/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { ExecutorRegistry } from '../../src/executors/registry.js';
import { ShellExecutor } from '../../src/executors/shell.js';
import { faulty, outage } from '../helpers/faulty-store.js';

const executors = new ExecutorRegistry();
executors.register(new ShellExecutor());

const def = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  schedule: '@every 1h',
  executor: 'shell',
  executor_config: { command: 'true' },
  ...extra,
});

void test('creating a child stores it and links its parent in one write: a failure after the first write leaves no unlinked child', async () => {
  const f = faulty<Store>(SqliteStore.open(':memory:'));
  const jobs = new JobService(f.store, executors, async () => null);
  try {
    await jobs.upsert(def('parent'));
    await jobs.upsert(def('other'));
    let writes = 0;
    // Every write after the first one of an upsert fails, as if the agent died right after it.
    f.setRule((method) => (method.startsWith('update') && ++writes > 1 ? outage(method) : undefined));
    await jobs.upsert(def('child', { parent_job: 'parent', schedule: '' })).catch(() => undefined);
    const child = await f.store.getJob('child');
    const parent = await f.store.getJob('parent');
    assert.ok(child === null || parent?.dependent_jobs?.includes('child'), `child stored ${child !== null}, parent lists ${JSON.stringify(parent?.dependent_jobs)}`);
    assert.ok(child !== null, 'one write is enough to create a child');

    // Moving the child to another parent unlinks and links in that same write.
    writes = 0;
    await jobs.upsert(def('child', { parent_job: 'other', schedule: '' })).catch(() => undefined);
    assert.equal((await f.store.getJob('child'))?.parent_job, 'other');
    assert.equal((await f.store.getJob('parent'))?.dependent_jobs, null);
    assert.deepEqual((await f.store.getJob('other'))?.dependent_jobs, ['child']);
  } finally {
    await f.store.close();
  }
});

void test('a child whose parent was deleted meanwhile is refused, and nothing is written', async () => {
  const store = SqliteStore.open(':memory:');
  const jobs = new JobService(store, executors, async () => null);
  try {
    await jobs.upsert(def('parent'));
    await store.deleteJob('parent');
    await assert.rejects(jobs.upsert(def('child', { parent_job: 'parent', schedule: '' })), /parent job not found/);
    assert.equal(await store.getJob('child'), null);
  } finally {
    await store.close();
  }
});

void test('list filters by tags (all must match), owner and executor, alongside status, disabled, q, sort and paging', async () => {
  const store = SqliteStore.open(':memory:');
  const jobs = new JobService(store, executors, async () => null);
  try {
    await jobs.upsert(def('a-web', { owner: 'ana', tags: { team: 'web', env: 'prod' } }));
    await jobs.upsert(def('b-web', { owner: 'bob', tags: { team: 'web', env: 'dev' }, disabled: true }));
    await jobs.upsert(def('c-db', { owner: 'ana', tags: { team: 'db', env: 'prod' } }));
    await jobs.upsert(def('d-none', { owner: '' }));
    const names = async (query: JobQuery): Promise<string[]> => (await jobs.list(query)).items.map((j) => j.name);

    assert.deepEqual(await names({ tags: { team: 'web' } }), ['a-web', 'b-web']);
    assert.deepEqual(await names({ tags: { team: 'web', env: 'prod' } }), ['a-web']);
    assert.deepEqual(await names({ tags: { team: 'nope' } }), []);
    assert.deepEqual(await names({ owner: 'ana' }), ['a-web', 'c-db']);
    assert.deepEqual(await names({ owner: 'ana', tags: { env: 'prod' }, order: 'desc' }), ['c-db', 'a-web']);
    assert.deepEqual(await names({ executor: 'shell', disabled: 'true' }), ['b-web']);
    assert.deepEqual(await names({ executor: 'http' }), []);
    assert.deepEqual(await names({ q: 'web', owner: 'bob' }), ['b-web']);
    const page = await jobs.list({ tags: { team: 'web' }, start: 1, end: 2 });
    assert.deepEqual([page.total, page.items.map((j) => j.name)], [2, ['b-web']]);

    // The query string: repeated or comma-separated k=v pairs, a value may hold '='.
    assert.deepEqual(parseJobQuery({ tags: ['team=web', 'env=prod'] }).tags, { team: 'web', env: 'prod' });
    assert.deepEqual(parseJobQuery({ tags: 'team=web,expr=a=b' }).tags, { team: 'web', expr: 'a=b' });
    assert.deepEqual(parseJobQuery({ owner: 'ana', executor: 'http' }), { ...parseJobQuery({}), owner: 'ana', executor: 'http' });
    assert.throws(() => parseJobQuery({ tags: 'team' }), /tags filter "team" must be key=value/);
  } finally {
    await store.close();
  }
});

void test('a filtered list walks the store page by page and matches q exactly, also across pages and with characters JSON escapes', async () => {
  const store = SqliteStore.open(':memory:');
  const jobs = new JobService(store, executors, async () => null);
  try {
    // 4500 jobs: three store pages. Every 1000th has a displayname with a quote and a backslash.
    await store.putJobs(
      Array.from({ length: 4500 }, (_, i) => {
        const name = `job-${String(i).padStart(5, '0')}`;
        return { ...def(name), displayname: i % 1000 === 7 ? `say "hi" \\ ${i}` : `plain ${i}`, tags: null, metadata: null, status: '', disabled: false } as never;
      }),
    );
    const names = async (query: JobQuery): Promise<string[]> => (await jobs.list(query)).items.map((j) => j.name);
    // The name filter spans every page; the last page is a partial one.
    assert.deepEqual(await names({ q: '-0449' }), Array.from({ length: 10 }, (_, k) => `job-0449${k}`));
    assert.equal((await jobs.list({ q: 'job-' })).total, 4500);
    // Quotes and backslashes are escaped in the stored JSON: matched on the parsed job, not prefiltered away.
    assert.deepEqual(await names({ q: '"hi" \\' }), ['job-00007', 'job-01007', 'job-02007', 'job-03007', 'job-04007']);
    // A text that is only in other fields of the JSON (the command) is not a match.
    assert.deepEqual(await names({ q: 'true' }), []);
    assert.deepEqual(await names({ q: 'plain 4499', order: 'desc' }), ['job-04499']);
  } finally {
    await store.close();
  }
});
