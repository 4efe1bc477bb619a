import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SCHEMA_VERSION, SqliteStore } from '../../src/backends/embedded/sqlite-store.js';
import type { Job } from '../../src/job/types.js';
import type { JobEvent } from '../../src/store/types.js';
import { at, exec, job } from '../helpers/fixtures.js';
import { storeContract } from '../helpers/store-contract.js';
import { recordsContract } from '../helpers/records-contract.js';

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

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-store-'));
}

// test() returns a promise the runner tracks itself; `void` marks that for no-floating-promises.
void test('kind is embedded; getJob of a missing job is null', withStore(async (store) => {
  assert.equal(store.kind, 'embedded');
  assert.equal(await store.getJob('nope'), null);
  assert.equal(await store.countJobs(), 0);
  assert.deepEqual(await store.listJobs(), []);
}));

void test('updateJob creates, updates, leaves untouched (undefined) and deletes (null)', withStore(async (store) => {
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

  const untouched = await store.updateJob('a', () => undefined);
  assert.deepEqual(untouched, updated);

  assert.equal(await store.updateJob('missing', () => undefined), null);
  assert.equal(await store.getJob('missing'), null);

  const deleted = await store.updateJob('a', () => null);
  assert.equal(deleted, null);
  assert.equal(await store.getJob('a'), null);
  assert.equal(await store.updateJob('a', () => null), null);

  assert.equal(seen[0], null);
  assert.equal(seen[1]?.owner, 'x');
}));

void test('updateJob rolls back when the updater throws, and rejects a renamed job', withStore(async (store) => {
  await store.updateJob('a', () => job('a'));
  await assert.rejects(
    store.updateJob('a', () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  await assert.rejects(store.updateJob('a', () => job('b')), /named "b"/);
  assert.deepEqual(await store.getJob('a'), job('a'));
  assert.equal(await store.getJob('b'), null);
}));

void test('updateJob returns a copy: mutating it does not change the store', withStore(async (store) => {
  const stored = await store.updateJob('a', () => job('a'));
  assert.ok(stored);
  stored.owner = 'mutated';
  assert.equal((await store.getJob('a'))?.owner, '');
}));

void test('listJobs sorts by name; countJobs counts', withStore(async (store) => {
  for (const name of ['c', 'a', 'b', 'B']) await store.updateJob(name, () => job(name));
  assert.deepEqual((await store.listJobs()).map((j) => j.name), ['B', 'a', 'b', 'c']);
  assert.equal(await store.countJobs(), 4);
}));

void test('putJobs writes in one batch and emits changed jobs only', withStore(async (store) => {
  await store.updateJob('a', () => job('a'));
  const events: JobEvent[] = [];
  store.watchJobs((e) => events.push(e));
  await store.putJobs([job('a'), job('b'), job('c')]);
  assert.deepEqual(events.map((e) => (e.type === 'put' ? e.job.name : e.name)), ['b', 'c']);
  assert.equal(await store.countJobs(), 3);
}));

void test('watchJobs: put/delete events after commit, only on change; unsubscribe', withStore(async (store) => {
  const events: JobEvent[] = [];
  const unsubscribe = store.watchJobs((e) => {
    // Events come after commit, so the store already shows the write.
    events.push(e);
  });
  await store.updateJob('a', () => job('a'));
  await store.updateJob('a', (cur) => cur ?? undefined); // same body → no event
  await store.updateJob('a', () => undefined); // untouched → no event
  await store.updateJob('a', (cur) => (cur ? { ...cur, owner: 'y' } : null));
  await store.updateJob('missing', () => null); // nothing deleted → no event
  await store.updateJob('a', () => null);
  await store.updateJob('b', () => job('b'));
  await store.deleteJob('b');
  await store.deleteJob('b'); // nothing to delete → no event
  await assert.rejects(store.updateJob('c', () => {
    throw new Error('rolled back');
  }));
  assert.deepEqual(events, [
    { type: 'put', job: job('a') },
    { type: 'put', job: job('a', { owner: 'y' }) },
    { type: 'delete', name: 'a' },
    { type: 'put', job: job('b') },
    { type: 'delete', name: 'b' },
  ]);
  unsubscribe();
  unsubscribe(); // idempotent
  await store.updateJob('c', () => job('c'));
  assert.equal(events.length, 5);
}));

void test('watchJobs: the store sees the committed write from inside a listener', withStore(async (store) => {
  let seenInside: Job | null = null;
  const pending: Array<Promise<void>> = [];
  store.watchJobs(() => {
    pending.push(store.getJob('a').then((j) => {
      seenInside = j;
    }));
  });
  await store.updateJob('a', () => job('a', { owner: 'z' }));
  await Promise.all(pending);
  assert.equal((seenInside as Job | null)?.owner, 'z');
}));

void test('watchJobs: a throwing listener breaks neither the write nor other listeners', async () => {
  const errors: unknown[] = [];
  const store = SqliteStore.open(':memory:', { onListenerError: (e) => errors.push(e) });
  try {
    const got: string[] = [];
    store.watchJobs(() => {
      throw new Error('listener failed');
    });
    store.watchJobs((e) => got.push(e.type));
    const result = await store.updateJob('a', () => job('a'));
    assert.equal(result?.name, 'a');
    assert.deepEqual(got, ['put']);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /listener failed/);
    assert.deepEqual(await store.getJob('a'), job('a'));
  } finally {
    await store.close();
  }
});

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

void test('deleteJob removes the job, its executions and its tick, and returns it', withStore(async (store) => {
  await store.updateJob('a', () => job('a'));
  await store.updateJob('b', () => job('b'));
  await store.putExecution(exec('a', '1'));
  await store.putExecution(exec('b', '1'));
  assert.equal(await store.commitTick('a', at(0), []), true);
  assert.deepEqual(await store.deleteJob('a'), job('a'));
  assert.equal(await store.getJob('a'), null);
  assert.equal(await store.getExecution('a', '1'), null);
  assert.equal(await store.getLastTick('a'), null);
  assert.ok(await store.getExecution('b', '1'));
  assert.equal(await store.deleteJob('a'), null);
}));

void test('putExecution upserts; getExecution round-trips', withStore(async (store) => {
  const running = exec('a', '1', { finished_at: null, output: '' });
  await store.putExecution(running);
  assert.deepEqual(await store.getExecution('a', '1'), running);
  const done = exec('a', '1', { output: 'done', output_truncated: true });
  await store.putExecution(done);
  assert.deepEqual(await store.getExecution('a', '1'), done);
  assert.equal((await store.listExecutions('a')).total, 1);
  assert.equal(await store.getExecution('a', '2'), null);
  assert.equal(await store.getExecution('b', '1'), null);
}));

void test('completeExecution stores the execution and applies the updater atomically', withStore(async (store) => {
  const events: JobEvent[] = [];
  store.watchJobs((e) => events.push(e));
  await store.updateJob('a', () => job('a'));
  await store.putExecution(exec('a', '1', { finished_at: null }));

  const after = await store.completeExecution(exec('a', '1'), (cur) =>
    cur ? { ...cur, success_count: cur.success_count + 1, last_success: at(1) } : undefined,
  );
  assert.equal(after?.success_count, 1);
  assert.equal((await store.getExecution('a', '1'))?.finished_at, at(1));
  assert.equal((await store.getJob('a'))?.success_count, 1);
  assert.equal(events.length, 2);

  // Unchanged job: execution stored, no event.
  const same = await store.completeExecution(exec('a', '2'), () => undefined);
  assert.equal(same?.success_count, 1);
  assert.ok(await store.getExecution('a', '2'));
  assert.equal(events.length, 2);

  // Updater throws: neither the execution nor the job change is kept.
  await assert.rejects(store.completeExecution(exec('a', '3'), () => {
    throw new Error('nope');
  }));
  assert.equal(await store.getExecution('a', '3'), null);
}));

void test('completeExecution for a missing job still stores the execution; updater gets null', withStore(async (store) => {
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

void test('listExecutions sorts by started_at desc by default, ties by id', withStore(async (store) => {
  await store.putExecution(exec('a', 'x1', { started_at: at(10) }));
  await store.putExecution(exec('a', 'x3', { started_at: at(20) }));
  await store.putExecution(exec('a', 'x2', { started_at: at(20) }));
  await store.putExecution(exec('a', 'x0', { started_at: at(5) }));
  await store.putExecution(exec('other', 'y', { started_at: at(15) }));
  const desc = await store.listExecutions('a');
  assert.equal(desc.total, 4);
  assert.deepEqual(desc.items.map((e) => e.id), ['x3', 'x2', 'x1', 'x0']);
  const asc = await store.listExecutions('a', { order: 'asc' });
  assert.deepEqual(asc.items.map((e) => e.id), ['x0', 'x1', 'x2', 'x3']);
  assert.deepEqual(await store.listExecutions('none'), { items: [], total: 0 });
}));

void test('listExecutions compares times as instants, not strings', withStore(async (store) => {
  // 01:30+02:00 is 23:30Z of the previous day: older than 00:00Z although it sorts later as text.
  await store.putExecution(exec('a', 'offset', { started_at: '2024-01-01T01:30:00+02:00' }));
  await store.putExecution(exec('a', 'utc', { started_at: '2024-01-01T00:00:00.000Z' }));
  await store.putExecution(exec('a', 'nanos', { started_at: '2024-01-01T00:00:00.500000000Z' }));
  const asc = await store.listExecutions('a', { order: 'asc' });
  assert.deepEqual(asc.items.map((e) => e.id), ['offset', 'utc', 'nanos']);
  assert.equal(asc.items[0]?.started_at, '2024-01-01T01:30:00+02:00'); // original text kept
}));

void test('listExecutions sorts by finished_at with running ones as newest', withStore(async (store) => {
  await store.putExecution(exec('a', 'r1', { started_at: at(1), finished_at: null }));
  await store.putExecution(exec('a', 'f9', { started_at: at(2), finished_at: at(9) }));
  await store.putExecution(exec('a', 'f5', { started_at: at(3), finished_at: at(5) }));
  await store.putExecution(exec('a', 'r2', { started_at: at(0), finished_at: null }));
  const desc = await store.listExecutions('a', { sort: 'finished_at' });
  assert.deepEqual(desc.items.map((e) => e.id), ['r2', 'r1', 'f9', 'f5']);
  const asc = await store.listExecutions('a', { sort: 'finished_at', order: 'asc' });
  assert.deepEqual(asc.items.map((e) => e.id), ['f5', 'f9', 'r1', 'r2']);
}));

void test('listExecutions sorts by attempt', withStore(async (store) => {
  await store.putExecution(exec('a', 'b', { attempt: 2 }));
  await store.putExecution(exec('a', 'a', { attempt: 2 }));
  await store.putExecution(exec('a', 'c', { attempt: 1 }));
  await store.putExecution(exec('a', 'd', { attempt: 3 }));
  assert.deepEqual((await store.listExecutions('a', { sort: 'attempt' })).items.map((e) => e.id), ['d', 'b', 'a', 'c']);
  assert.deepEqual(
    (await store.listExecutions('a', { sort: 'attempt', order: 'asc' })).items.map((e) => e.id),
    ['c', 'a', 'b', 'd'],
  );
}));

void test('listExecutions pages with [start, end) and clamps', withStore(async (store) => {
  for (let i = 0; i < 10; i++) await store.putExecution(exec('a', `e${i}`, { started_at: at(i) }));
  const ids = async (start?: number, end?: number): Promise<string[]> => {
    const page = await store.listExecutions('a', { order: 'asc', start, end });
    assert.equal(page.total, 10);
    return page.items.map((e) => e.id);
  };
  assert.deepEqual(await ids(2, 5), ['e2', 'e3', 'e4']);
  assert.deepEqual(await ids(8), ['e8', 'e9']);
  assert.deepEqual(await ids(undefined, 2), ['e0', 'e1']);
  assert.deepEqual(await ids(-3, 1), ['e0']);
  assert.deepEqual(await ids(7, 100), ['e7', 'e8', 'e9']);
  assert.deepEqual(await ids(10), []);
  assert.deepEqual(await ids(11, 20), []);
  assert.deepEqual(await ids(5, 5), []);
  assert.deepEqual(await ids(6, 3), []);
  assert.deepEqual(await ids(0, -1), []);
  assert.deepEqual(await ids(Number.NaN, Number.NaN), (await ids()));
  assert.equal((await ids()).length, 10);
  const descPage = await store.listExecutions('a', { start: 0, end: 3 });
  assert.deepEqual(descPage.items.map((e) => e.id), ['e9', 'e8', 'e7']);
}));

void test('listGroup returns every execution of a group, by attempt', withStore(async (store) => {
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

void test('listRunning lists unfinished executions of one job or all', withStore(async (store) => {
  await store.putExecution(exec('a', 'r', { finished_at: null, started_at: at(2) }));
  await store.putExecution(exec('a', 'f'));
  await store.putExecution(exec('b', 'r', { finished_at: null, started_at: at(1) }));
  assert.deepEqual((await store.listRunning('a')).map((e) => `${e.job_name}/${e.id}`), ['a/r']);
  assert.deepEqual((await store.listRunning()).map((e) => `${e.job_name}/${e.id}`), ['b/r', 'a/r']);
  await store.putExecution(exec('a', 'r', { started_at: at(2) }));
  assert.deepEqual((await store.listRunning()).map((e) => `${e.job_name}/${e.id}`), ['b/r']);
  assert.deepEqual(await store.listRunning('none'), []);
}));

void test('deleteExecutions removes one job\'s executions and counts them', withStore(async (store) => {
  for (let i = 0; i < 3; i++) await store.putExecution(exec('a', `${i}`));
  await store.putExecution(exec('b', '0'));
  assert.equal(await store.deleteExecutions('a'), 3);
  assert.equal(await store.deleteExecutions('a'), 0);
  assert.equal((await store.listExecutions('a')).total, 0);
  assert.equal((await store.listExecutions('b')).total, 1);
}));

void test('pruneExecutions keeps the newest by started_at, then id', withStore(async (store) => {
  for (let i = 0; i < 6; i++) await store.putExecution(exec('a', `e${i}`, { started_at: at(i) }));
  await store.putExecution(exec('a', 'e5b', { started_at: at(5) }));
  await store.putExecution(exec('b', 'keep-me', { started_at: at(-100) }));
  assert.equal(await store.pruneExecutions('a', 3), 4);
  assert.deepEqual((await store.listExecutions('a')).items.map((e) => e.id), ['e5b', 'e5', 'e4']);
  assert.equal(await store.pruneExecutions('a', 3), 0);
  assert.equal(await store.pruneExecutions('a', 10), 0);
  assert.equal(await store.pruneExecutions('a', 0), 3);
  assert.equal((await store.listExecutions('a')).total, 0);
  assert.equal(await store.pruneExecutions('a', -1), 0);
  assert.ok(await store.getExecution('b', 'keep-me'));
}));

void test('pruneExecutions never removes running executions, and they do not count', withStore(async (store) => {
  await store.putExecution(exec('a', 'old-running', { started_at: at(0), finished_at: null }));
  for (let i = 1; i <= 3; i++) await store.putExecution(exec('a', `done${i}`, { started_at: at(i) }));
  assert.equal(await store.pruneExecutions('a', 2), 1);
  assert.deepEqual((await store.listExecutions('a', { order: 'asc' })).items.map((e) => e.id), ['old-running', 'done2', 'done3']);
  assert.equal(await store.pruneExecutions('a', 0), 2);
  assert.deepEqual((await store.listRunning('a')).map((e) => e.id), ['old-running']);
}));

void test('commitTick fences: same tick and older ticks are rejected without writing', withStore(async (store) => {
  assert.equal(await store.getLastTick('a'), null);
  assert.equal(await store.commitTick('a', at(60), [exec('a', 't60', { started_at: at(60) })]), true);
  assert.equal(await store.getLastTick('a'), at(60));
  assert.ok(await store.getExecution('a', 't60'));

  assert.equal(await store.commitTick('a', at(60), [exec('a', 'dup')]), false);
  assert.equal(await store.getExecution('a', 'dup'), null);

  assert.equal(await store.commitTick('a', at(30), [exec('a', 'old')]), false);
  assert.equal(await store.getExecution('a', 'old'), null);
  assert.equal(await store.getLastTick('a'), at(60));

  // Same instant written with an offset is still the same tick.
  assert.equal(await store.commitTick('a', '2024-01-01T02:01:00+02:00', [exec('a', 'same')]), false);
  assert.equal(await store.getExecution('a', 'same'), null);

  const later = [exec('a', 't120-n1', { group: 2 }), exec('a', 't120-n2', { group: 2, node_name: 'n2' })];
  assert.equal(await store.commitTick('a', at(120), later), true);
  assert.equal(await store.getLastTick('a'), at(120));
  assert.deepEqual((await store.listGroup('a', 2)).map((e) => e.id), ['t120-n1', 't120-n2']);

  // Ticks are per job.
  assert.equal(await store.commitTick('b', at(0), []), true);
  assert.equal(await store.getLastTick('b'), at(0));
  await assert.rejects(store.commitTick('a', 'not a time', []), /invalid tick/);
}));

void test('commitTick is a fence under concurrent callers', withStore(async (store) => {
  const results = await Promise.all(
    Array.from({ length: 5 }, (_, i) => store.commitTick('a', at(60), [exec('a', `n${i}`)])),
  );
  assert.equal(results.filter(Boolean).length, 1);
  assert.equal((await store.listExecutions('a')).total, 1);
}));

void test('settings: set, overwrite, delete with null', withStore(async (store) => {
  assert.equal(await store.getSetting('paused'), null);
  await store.setSetting('paused', 'true');
  assert.equal(await store.getSetting('paused'), 'true');
  await store.setSetting('paused', 'false');
  assert.equal(await store.getSetting('paused'), 'false');
  await store.setSetting('paused', null);
  assert.equal(await store.getSetting('paused'), null);
  await store.setSetting('paused', null);
}));

void test('close is idempotent; calls after close reject clearly', async () => {
  const store = SqliteStore.open(':memory:');
  await store.close();
  await store.close();
  await assert.rejects(store.getJob('a'), /closed/);
  await assert.rejects(store.updateJob('a', () => job('a')), /closed/);
});

void test('a file store persists across close and reopen, with schema version and WAL', async () => {
  const dir = tempDir();
  try {
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
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

void test('opening a file that is not a database throws with the path', async () => {
  const dir = tempDir();
  try {
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
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

void test('a version 1 database (before tokens and audit) upgrades in place and keeps its jobs', async () => {
  const dir = tempDir();
  try {
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
      assert.deepEqual(await store.listTokens(), []);
      await store.appendAudit({ id: '1', at: new Date().toISOString(), actor: 'a', action: 'job.run', job: 'old', before: null, after: null, detail: null });
      assert.equal((await store.listAudit({ job: 'old' })).total, 1);
    } finally {
      await store.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

void test('a database from a newer schema version is refused', async () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'future.db');
    const { default: Database } = await import('better-sqlite3');
    const raw = new Database(file);
    raw.pragma('user_version = 99');
    raw.close();
    assert.throws(() => SqliteStore.open(file), /schema version 99/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

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

storeContract('embedded', withStore);
recordsContract('embedded', withStore);
