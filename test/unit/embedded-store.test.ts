/**
 * What only the embedded (SQLite) store does: putJobs, the default listener
 * error hook, the file on disk (WAL, schema version, migration, refusing what
 * it cannot open) and scale. Everything every backend must do is in the
 * contract suite (test/contract/embedded.test.ts); crash recovery is in
 * embedded-store-crash.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SCHEMA_VERSION, SqliteStore } from '../../src/backends/embedded/sqlite-store.js';
import type { JobEvent } from '../../src/store/types.js';
import { TIMING_FIELDS, type Job, type JobTiming } from '../../src/job/types.js';
import { at, exec, job } from '../helpers/fixtures.js';

function withStore(fn: (store: SqliteStore) => Promise<void>): () => Promise<void> {
  return async () => {
    const store = SqliteStore.open(':memory:');
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };
}

/** Runs `fn` in a fresh temporary directory, removed afterwards. */
function inTempDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-store-'));
    try {
      await fn(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

// test() returns a promise the runner tracks itself; `void` marks that for no-floating-promises.
void test('putJobs writes in one batch and emits changed jobs only', withStore(async (store) => {
  await store.updateJob('a', () => job('a'));
  const events: JobEvent[] = [];
  store.watchJobs((e) => events.push(e));
  await store.putJobs([job('a'), job('b'), job('c')]);
  assert.deepEqual(events.map((e) => (e.type === 'put' ? e.job.name : e.name)), ['b', 'c']);
  assert.equal(await store.countJobs(), 3);
}));

void test('watchJobs: the default error hook only warns', withStore(async (store) => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w.message);
  };
  process.on('warning', onWarning);
  try {
    store.watchJobs(() => {
      throw new Error('loud listener');
    });
    await store.updateJob('a', () => job('a'));
    // 'warning' is emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(warnings.some((w) => w.includes('loud listener')));
  } finally {
    process.off('warning', onWarning);
  }
}));

void test('a file store persists across close and reopen, with schema version and WAL', inTempDir(async (dir) => {
  const file = path.join(dir, 'nested', 'deeper', 'kairos.db'); // parent dirs do not exist yet
  const store = new SqliteStore(file);
  await store.updateJob('a', () => job('a', { tags: { role: 'web' } }));
  await store.putExecution(exec('a', '1', { output: 'héllo\n' }));
  await store.commitTick('a', at(60), []);
  await store.setSetting('paused', 'true');
  await store.close();

  const reopened = SqliteStore.open(file);
  try {
    assert.deepEqual(await reopened.getJob('a'), job('a', { tags: { role: 'web' } }));
    assert.deepEqual(await reopened.getExecution('a', '1'), exec('a', '1', { output: 'héllo\n' }));
    assert.equal(await reopened.getLastTick('a'), at(60));
    assert.equal(await reopened.getSetting('paused'), 'true');
    assert.equal(await reopened.commitTick('a', at(60), []), false);
  } finally {
    await reopened.close();
  }

  const { default: Database } = await import('better-sqlite3');
  const raw = new Database(file, { readonly: true });
  try {
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  } finally {
    raw.close();
  }
}));

void test('opening a file that is not a database throws with the path', inTempDir(async (dir) => {
  const file = path.join(dir, 'garbage.db');
  fs.writeFileSync(file, Buffer.alloc(8192, 0x5a));
  assert.throws(() => SqliteStore.open(file), (err: Error) => {
    assert.match(err.message, /cannot open embedded store/);
    assert.ok(err.message.includes(file));
    return true;
  });
  // A parent path that is a file cannot become a directory.
  const blocked = path.join(file, 'sub', 'k.db');
  assert.throws(() => SqliteStore.open(blocked), (err: Error) => err.message.includes(blocked));
}));

// Fields the job lacks (depends_on, optional) are absent from its timing, not undefined.
const pick = (j: Job): JobTiming => Object.fromEntries(TIMING_FIELDS.filter((f) => j[f] !== undefined).map((f) => [f, j[f]])) as JobTiming;

void test('a version 1 database (before tokens and audit) upgrades in place and keeps its jobs', inTempDir(async (dir) => {
  const file = path.join(dir, 'v1.db');
  const { default: Database } = await import('better-sqlite3');
  const raw = new Database(file);
  // Version 1's tables as an older Kairos left them.
  raw.exec(`CREATE TABLE jobs (name TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL);
    CREATE TABLE executions (job_name TEXT NOT NULL, id TEXT NOT NULL, started_at INTEGER NOT NULL, finished_at INTEGER,
      grp INTEGER NOT NULL, attempt INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (job_name, id));
    CREATE TABLE ticks (job_name TEXT PRIMARY KEY NOT NULL, last_tick TEXT NOT NULL);
    CREATE TABLE settings (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);`);
  raw.prepare('INSERT INTO jobs (name, body) VALUES (?, ?)').run('old', JSON.stringify(job('old')));
  raw.pragma('user_version = 1');
  raw.close();
  const store = SqliteStore.open(file);
  try {
    assert.equal((await store.getJob('old'))?.name, 'old');
    // The timing column is filled from the body, with the body's JSON types.
    const original = job('old', { schedule: '@every 5m', disabled: true, starts_at: null, concurrency: 'forbid' });
    assert.deepEqual(await store.listJobTimingsAfter('', 10), [pick(job('old'))]);
    await store.putJobs([original]);
    assert.deepEqual(await store.listJobTimingsAfter('', 10), [pick(original)]);
    assert.deepEqual(await store.listJobTimingsAfter('old', 10), []);
    assert.deepEqual(await store.listTokens(), []);
    await store.appendAudit({ id: '1', at: new Date().toISOString(), actor: 'a', action: 'job.run', job: 'old', before: null, after: null, detail: null });
    assert.equal((await store.listAudit({ job: 'old' })).total, 1);
  } finally {
    await store.close();
  }
  // A row written by a tool that knows only the body still loads, from its body.
  const later = new Database(file);
  later.prepare('INSERT INTO jobs (name, body) VALUES (?, ?)').run('handmade', JSON.stringify(job('handmade', { schedule: '@hourly' })));
  later.close();
  const reopened = SqliteStore.open(file);
  try {
    assert.deepEqual((await reopened.listJobTimingsAfter('', 10)).map((t) => [t.name, t.schedule]), [['handmade', '@hourly'], ['old', '@every 5m']]);
  } finally {
    await reopened.close();
  }
}));

void test('a database from a newer schema version is refused', inTempDir(async (dir) => {
  const file = path.join(dir, 'future.db');
  const { default: Database } = await import('better-sqlite3');
  const raw = new Database(file);
  raw.pragma('user_version = 99');
  raw.close();
  assert.throws(() => SqliteStore.open(file), /schema version 99/);
}));

void test('many jobs and a long history stay fast to list and page', withStore(async (store) => {
  const jobs = Array.from({ length: 20_000 }, (_, i) => job(`job-${String(i).padStart(5, '0')}`));
  await store.putJobs(jobs);
  assert.equal(await store.countJobs(), 20_000);
  const listed = await store.listJobs();
  assert.equal(listed[0]?.name, 'job-00000');
  assert.equal(listed.at(-1)?.name, 'job-19999');

  for (let i = 0; i < 5_000; i++) {
    await store.putExecution(exec('job-00000', `e${i}`, { started_at: at(i), attempt: (i % 3) + 1 }));
  }
  const page = await store.listExecutions('job-00000', { start: 4_990, end: 5_000 });
  assert.equal(page.total, 5_000);
  assert.deepEqual(page.items.map((e) => e.id), Array.from({ length: 10 }, (_, i) => `e${9 - i}`));
}));

void test('countJobs stays right whoever writes: this store, or another connection to the same file', inTempDir(async (dir) => {
  const file = path.join(dir, 'count.db');
  const a = SqliteStore.open(file);
  const b = SqliteStore.open(file);
  try {
    assert.equal(await a.countJobs(), 0);
    await b.putJobs([job('x'), job('y'), job('z')]);
    assert.equal(await a.countJobs(), 3, 'a commit by another connection');
    await a.deleteJob('x');
    assert.equal(await a.countJobs(), 2, 'a delete through this store');
    await a.updateJob('w', () => job('w'));
    assert.equal(await a.countJobs(), 3, 'an insert through this store');
    await a.updateJob('w', (j) => (j ? { ...j, disabled: true } : undefined));
    assert.equal(await a.countJobs(), 3, 'an update');
    await b.writeJobs({ put: [], delete: ['y', 'z'], audit: [] });
    assert.equal(await a.countJobs(), 1);
    assert.equal(await b.countJobs(), 1);
  } finally {
    await a.close();
    await b.close();
  }
}));
