/**
 * EtcdStore against a real single-member etcd (Debian's etcd-server) on a
 * loopback port. Each test gets its own random keyspace, so tests share the
 * server without seeing each other's keys. The outage test stops and
 * restarts the member, so it runs last (node:test runs a file's tests in order).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EtcdStore, type EtcdStoreOptions } from '../../src/backends/etcd/etcd-store.js';
import type { Job } from '../../src/job/types.js';
import type { JobEvent } from '../../src/store/types.js';
import { freePort, startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { at, exec, job, running } from '../helpers/fixtures.js';
import { storeContract } from '../helpers/store-contract.js';
import { recordsContract } from '../helpers/records-contract.js';

let etcd: EtcdCluster;

before(async () => {
  etcd = await startEtcd(1);
});

after(async () => {
  await etcd?.stop();
});

function open(keyspace: string, extra: Partial<EtcdStoreOptions> = {}): Promise<EtcdStore> {
  return EtcdStore.connect({ endpoints: etcd.endpoints, keyspace, ...extra });
}

function withStore(fn: (store: EtcdStore, keyspace: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const keyspace = `t-${randomUUID()}`;
    const store = await open(keyspace);
    try {
      await fn(store, keyspace);
    } finally {
      await store.close();
    }
  };
}

/** Raw keys (relative to the keyspace) under a prefix, read with the store's own namespaced client. */
async function keys(store: EtcdStore, prefix: string): Promise<string[]> {
  return store.ns.getAll().prefix(prefix).keys();
}

/** Collects values pushed by a callback and lets a test await the n-th one (no sleeps). */
class Collector<T> {
  readonly items: T[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];

  push = (item: T): void => {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (this.items.length < w.n) return true;
      w.resolve();
      return false;
    });
  };

  async waitFor(n: number, timeoutMs = 10_000, what = `${n} items`): Promise<T[]> {
    if (this.items.length < n) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.waiters.push({ n, resolve })),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.items)}`)),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    }
    return this.items;
  }
}

const describeEvent = (e: JobEvent): string => (e.type === 'put' ? `put ${e.job.name} ${e.job.owner}` : `delete ${e.name}`);

/** Polls until fn() resolves, for recovery after an outage (bounded; not a fixed sleep). */
async function eventually<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

void test('kind and routing; empty keyspace reads as empty', withStore(async (store) => {
  assert.equal(store.kind, 'etcd');
  assert.equal(store.routesExecutions, true);
  await store.ping();
  assert.equal(await store.getJob('nope'), null);
  assert.equal(await store.countJobs(), 0);
  assert.deepEqual(await store.listJobs(), []);
  assert.deepEqual(await store.listRunning(), []);
  assert.equal(await store.getLastTick('nope'), null);
}));

void test('updateJob creates, updates, leaves untouched (undefined) and deletes (null)', withStore(async (store) => {
  const seen: Array<Job | null> = [];
  const created = await store.updateJob('a', (cur) => {
    seen.push(cur);
    return job('a', { owner: 'x' });
  });
  assert.deepEqual(created, job('a', { owner: 'x' }));
  assert.deepEqual(await store.getJob('a'), job('a', { owner: 'x' }));
  assert.deepEqual(await keys(store, 'jobs/'), ['jobs/a']);

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

void test('updateJob: a throwing updater writes nothing; a renamed job is refused; results are copies', withStore(async (store) => {
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
  await assert.rejects(store.getJob('a/b'), /invalid job name/);
}));

void test('updateJob is atomic under concurrency: 20 increments from two stores give 20', withStore(async (store, keyspace) => {
  const other = await open(keyspace);
  try {
    await store.updateJob('counter', () => job('counter'));
    let calls = 0;
    const inc = (s: EtcdStore) =>
      s.updateJob('counter', (cur) => {
        calls++;
        return cur ? { ...cur, success_count: cur.success_count + 1 } : undefined;
      });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => inc(i % 2 === 0 ? store : other)));
    assert.equal((await other.getJob('counter'))?.success_count, 20);
    // Every result is a distinct state: no two increments were applied to the same version.
    assert.deepEqual(results.map((j) => j?.success_count).sort((a, b) => (a ?? 0) - (b ?? 0)), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.ok(calls >= 20, `updater ran ${calls} times`);
  } finally {
    await other.close();
  }
}));

void test('listJobs pages through more than one response, sorted by name; countJobs counts', withStore(async (store) => {
  // Written in raw batches: one txn per 100 jobs keeps the setup fast.
  const names = Array.from({ length: 1203 }, (_, i) => `job-${String(1202 - i).padStart(5, '0')}`);
  for (let i = 0; i < names.length; i += 100) {
    const puts = names.slice(i, i + 100).map((n) => store.ns.put(`jobs/${n}`).value(JSON.stringify(job(n))));
    // A txn with an always-true compare; commit() explicitly (the builder is a thenable).
    await store.ns.if('jobs/', 'Version', '>', -1).then(...puts).commit();
  }
  for (const name of ['c', 'a', 'b', 'B']) await store.updateJob(name, () => job(name));
  const listed = await store.listJobs();
  assert.equal(listed.length, 1207);
  // Byte order, as the embedded store: upper case first, and 'c' < 'j'.
  assert.deepEqual(listed.slice(0, 5).map((j) => j.name), ['B', 'a', 'b', 'c', 'job-00000']);
  const sorted = [...names, 'a', 'b', 'c', 'B'].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  assert.deepEqual(listed.map((j) => j.name), sorted);
  assert.equal(await store.countJobs(), 1207);
}));

void test('watchJobs: put/delete events, only on change; a throwing listener breaks nothing; unsubscribe', async () => {
  const keyspace = `t-${randomUUID()}`;
  const errors: unknown[] = [];
  const store = await open(keyspace, { onListenerError: (e) => errors.push(e) });
  const writer = await open(keyspace);
  try {
    await store.ping(); // the watch starts after the revision this store has seen
    const events = new Collector<string>();
    const sentinel = new Collector<string>();
    const unsubscribe = store.watchJobs((e) => events.push(describeEvent(e)));
    const thrown = new Collector<string>();
    store.watchJobs((e) => {
      thrown.push(describeEvent(e));
      throw new Error('listener failed');
    });
    store.watchJobs((e) => sentinel.push(describeEvent(e)));

    // Writes through another store (another agent) arrive too.
    await writer.updateJob('a', () => job('a'));
    await writer.updateJob('a', (cur) => cur ?? undefined); // same body: no write, no event
    await writer.updateJob('a', () => undefined);
    await store.updateJob('a', (cur) => (cur ? { ...cur, owner: 'y' } : null));
    await store.updateJob('missing', () => null);
    await writer.updateJob('a', () => null);
    await store.updateJob('b', () => job('b'));
    await store.deleteJob('b');
    await store.deleteJob('b');
    await assert.rejects(store.updateJob('c', () => {
      throw new Error('rolled back');
    }));
    const expected = ['put a ', 'put a y', 'delete a', 'put b ', 'delete b'];
    assert.deepEqual(await events.waitFor(5), expected);
    // Each subscription has its own watch: the throwing one gets every event too, and each throw is reported.
    assert.deepEqual(await thrown.waitFor(5), expected);
    assert.equal(errors.length, 5);
    assert.ok(errors.every((e) => /listener failed/.test(String(e))));

    unsubscribe();
    unsubscribe(); // idempotent
    await writer.updateJob('c', () => job('c'));
    // The still-subscribed listener sees c; the unsubscribed one, sharing the stream, does not.
    await sentinel.waitFor(6);
    assert.deepEqual(events.items, expected);
  } finally {
    await writer.close();
    await store.close();
  }
});

void test('watchJobs started before any read still sees later writes', withStore(async (store, keyspace) => {
  const fresh = await open(keyspace);
  try {
    const events = new Collector<string>();
    fresh.watchJobs((e) => events.push(describeEvent(e)));
    // With no revision seen yet the watch starts from "now", which the caller can't observe:
    // keep writing until one write lands after it (bounded), then every later write must arrive.
    for (let i = 0; i < 50 && events.items.length === 0; i++) {
      await store.updateJob('w', () => job('w', { owner: String(i) }));
      await events.waitFor(1, 200).catch(() => undefined);
    }
    assert.match(events.items[0] ?? '', /^put w /);
    const seen = events.items.length;
    await store.updateJob('w2', () => job('w2'));
    await store.deleteJob('w');
    assert.deepEqual((await events.waitFor(seen + 2)).slice(seen), ['put w2 ', 'delete w']);
  } finally {
    await fresh.close();
  }
}));

void test('watchJobs whose history was compacted away re-lists and keeps watching', withStore(async (writer, keyspace) => {
  const log = new Collector<string>();
  const store = await open(keyspace, { log: { warn: (_o, msg) => log.push(msg), info: (_o, msg) => log.push(msg) } });
  try {
    await writer.updateJob('stays', () => job('stays'));
    await writer.updateJob('gone', () => job('gone'));
    await store.ping(); // the watch will replay from here...
    await writer.updateJob('stays', () => job('stays', { owner: '2' }));
    await writer.updateJob('new', () => job('new'));
    // ...but etcd has forgotten that history, so it cancels the watch.
    const { revision } = (await writer.ns.get('jobs/new').exec()).header;
    await writer.client.kv.compact({ revision, physical: true });
    const events = new Collector<string>();
    store.watchJobs((e) => events.push(describeEvent(e)));
    assert.deepEqual(await events.waitFor(3), ['put gone ', 'put new ', 'put stays 2']);
    assert.ok(log.items.some((m) => /watch cancelled by etcd/.test(m)), JSON.stringify(log.items));
    await writer.deleteJob('gone');
    assert.deepEqual((await events.waitFor(4)).slice(3), ['delete gone']);
  } finally {
    await store.close();
  }
}));

void test('deleteJob removes the job, its executions, running index and tick, and returns it', withStore(async (store) => {
  await store.updateJob('a', () => job('a'));
  await store.updateJob('b', () => job('b'));
  await store.putExecution(exec('a', '1'));
  await store.putExecution(running('a', '2'));
  await store.putExecution(exec('b', '1'));
  assert.equal(await store.commitTick('a', at(0), []), true);
  assert.deepEqual(await store.deleteJob('a'), job('a'));
  assert.equal(await store.getJob('a'), null);
  assert.equal(await store.getExecution('a', '1'), null);
  assert.equal(await store.getLastTick('a'), null);
  assert.deepEqual(await store.listRunning(), []);
  assert.deepEqual(await keys(store, 'running/'), []);
  assert.ok(await store.getExecution('b', '1'));
  assert.equal(await store.deleteJob('a'), null);
}));

void test('putExecution upserts and keeps the running index in step with finished_at', withStore(async (store) => {
  const r = running('a', '1');
  await store.putExecution(r);
  assert.deepEqual(await store.getExecution('a', '1'), r);
  assert.deepEqual(await keys(store, 'running/'), ['running/a/1']);
  assert.deepEqual(JSON.parse((await store.ns.get('running/a/1').string()) ?? 'null'), { node: 'node-1', group: 1 });
  const done = exec('a', '1', { output: 'done', output_truncated: true });
  await store.putExecution(done);
  assert.deepEqual(await store.getExecution('a', '1'), done);
  assert.deepEqual(await keys(store, 'running/'), []);
  assert.equal((await store.listExecutions('a')).total, 1);
  assert.equal(await store.getExecution('a', '2'), null);
}));

void test('completeExecution stores the execution and applies the updater atomically', withStore(async (store) => {
  await store.updateJob('a', () => job('a'));
  await store.putExecution(running('a', '1'));
  const after = await store.completeExecution(exec('a', '1'), (cur) =>
    cur ? { ...cur, success_count: cur.success_count + 1, last_success: at(1) } : undefined,
  );
  assert.equal(after?.success_count, 1);
  assert.equal((await store.getExecution('a', '1'))?.finished_at, at(1));
  assert.equal((await store.getJob('a'))?.success_count, 1);
  assert.deepEqual(await store.listRunning('a'), []);

  const same = await store.completeExecution(exec('a', '2'), () => undefined);
  assert.equal(same?.success_count, 1);
  assert.ok(await store.getExecution('a', '2'));

  await assert.rejects(store.completeExecution(exec('a', '3'), () => {
    throw new Error('nope');
  }), /nope/);
  assert.equal(await store.getExecution('a', '3'), null);

  // Concurrent completions each count once.
  await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      store.completeExecution(exec('a', `c${i}`), (cur) => (cur ? { ...cur, success_count: cur.success_count + 1 } : undefined)),
    ),
  );
  assert.equal((await store.getJob('a'))?.success_count, 11);
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

void test('listExecutions sorts by started_at desc by default, ties by id, times as instants', withStore(async (store) => {
  await store.putExecution(exec('a', 'x1', { started_at: at(10) }));
  await store.putExecution(exec('a', 'x3', { started_at: at(20) }));
  await store.putExecution(exec('a', 'x2', { started_at: at(20) }));
  await store.putExecution(exec('a', 'x0', { started_at: at(5) }));
  await store.putExecution(exec('a', 'off', { started_at: '2024-01-01T01:30:00+02:00' })); // 23:30Z the day before
  await store.putExecution(exec('ab', 'y', { started_at: at(15) })); // a job whose name extends "a"
  const desc = await store.listExecutions('a');
  assert.equal(desc.total, 5);
  assert.deepEqual(desc.items.map((e) => e.id), ['x3', 'x2', 'x1', 'x0', 'off']);
  const asc = await store.listExecutions('a', { order: 'asc' });
  assert.deepEqual(asc.items.map((e) => e.id), ['off', 'x0', 'x1', 'x2', 'x3']);
  assert.equal(asc.items[0]?.started_at, '2024-01-01T01:30:00+02:00');
  assert.deepEqual(await store.listExecutions('none'), { items: [], total: 0 });
  await assert.rejects(store.listExecutions('a', { sort: 'bogus' as 'attempt' }), /unsupported sort/);
}));

void test('listExecutions sorts by finished_at (running as newest) and by attempt', withStore(async (store) => {
  await store.putExecution(running('a', 'r1', { started_at: at(1) }));
  await store.putExecution(exec('a', 'f9', { started_at: at(2), finished_at: at(9), attempt: 2 }));
  await store.putExecution(exec('a', 'f5', { started_at: at(3), finished_at: at(5), attempt: 3 }));
  await store.putExecution(running('a', 'r2', { started_at: at(0), attempt: 2 }));
  assert.deepEqual((await store.listExecutions('a', { sort: 'finished_at' })).items.map((e) => e.id), ['r2', 'r1', 'f9', 'f5']);
  assert.deepEqual(
    (await store.listExecutions('a', { sort: 'finished_at', order: 'asc' })).items.map((e) => e.id),
    ['f5', 'f9', 'r1', 'r2'],
  );
  assert.deepEqual((await store.listExecutions('a', { sort: 'attempt' })).items.map((e) => e.id), ['f5', 'r2', 'f9', 'r1']);
  assert.deepEqual(
    (await store.listExecutions('a', { sort: 'attempt', order: 'asc' })).items.map((e) => e.id),
    ['r1', 'f9', 'r2', 'f5'],
  );
}));

void test('listExecutions pages with [start, end) and clamps, over more than one etcd page', withStore(async (store) => {
  const all = Array.from({ length: 250 }, (_, i) => exec('a', `e${String(i).padStart(3, '0')}`, { started_at: at(i) }));
  // Finished executions take 4 ops each (record, both index removals, group entry): 30 fit in one txn.
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
  assert.deepEqual(await ids(5, 5), []);
  assert.deepEqual(await ids(6, 3), []);
  assert.deepEqual(await ids(0, -1), []);
  assert.equal((await ids(Number.NaN, Number.NaN)).length, 250);
  const descPage = await store.listExecutions('a', { start: 0, end: 3 });
  assert.deepEqual(descPage.items.map((e) => e.id), ['e249', 'e248', 'e247']);
}));

void test('listGroup returns every execution of a group, by attempt; big group ids survive', withStore(async (store) => {
  await store.putExecution(exec('a', 'g1-2', { group: 100, attempt: 2, started_at: at(2) }));
  await store.putExecution(exec('a', 'g1-1', { group: 100, attempt: 1, started_at: at(1), node_name: 'n2' }));
  await store.putExecution(exec('a', 'g2-1', { group: 200, attempt: 1 }));
  await store.putExecution(exec('b', 'g1-b', { group: 100 }));
  assert.deepEqual((await store.listGroup('a', 100)).map((e) => e.id), ['g1-1', 'g1-2']);
  assert.deepEqual((await store.listGroup('a', 300)), []);
  const big = 1_704_067_200_123_456;
  await store.putExecution(exec('a', 'big', { group: big }));
  assert.deepEqual((await store.listGroup('a', big)).map((e) => e.group), [big]);
}));

void test('listRunning reads the running index, for one job or all', withStore(async (store) => {
  await store.putExecution(running('a', 'r', { started_at: at(2) }));
  await store.putExecution(exec('a', 'f'));
  await store.putExecution(running('b', 'r', { started_at: at(1) }));
  await store.putExecution(running('ab', 'r', { started_at: at(3) }));
  assert.deepEqual((await store.listRunning('a')).map((e) => `${e.job_name}/${e.id}`), ['a/r']);
  assert.deepEqual((await store.listRunning()).map((e) => `${e.job_name}/${e.id}`), ['b/r', 'a/r', 'ab/r']);
  await store.putExecution(exec('a', 'r', { started_at: at(2) }));
  assert.deepEqual((await store.listRunning()).map((e) => `${e.job_name}/${e.id}`), ['b/r', 'ab/r']);
  assert.deepEqual(await store.listRunning('none'), []);
}));

void test('deleteExecutions removes one job\'s executions and index, and counts them', withStore(async (store) => {
  for (let i = 0; i < 3; i++) await store.putExecution(exec('a', `${i}`));
  await store.putExecution(running('a', 'r'));
  await store.putExecution(exec('b', '0'));
  assert.equal(await store.deleteExecutions('a'), 4);
  assert.equal(await store.deleteExecutions('a'), 0);
  assert.equal((await store.listExecutions('a')).total, 0);
  assert.deepEqual(await keys(store, 'running/'), []);
  assert.equal((await store.listExecutions('b')).total, 1);
}));

void test('pruneExecutions keeps the newest by started_at and never deletes running ones', withStore(async (store) => {
  for (let i = 0; i < 6; i++) await store.putExecution(exec('a', `e${i}`, { started_at: at(i) }));
  await store.putExecution(exec('a', 'e5b', { started_at: at(5) }));
  await store.putExecution(running('a', 'old-running', { started_at: at(-50) }));
  await store.putExecution(exec('b', 'keep-me', { started_at: at(-100) }));
  assert.equal(await store.pruneExecutions('a', 3), 4);
  assert.deepEqual((await store.listExecutions('a')).items.map((e) => e.id), ['e5b', 'e5', 'e4', 'old-running']);
  assert.equal(await store.pruneExecutions('a', 3), 0);
  assert.equal(await store.pruneExecutions('a', 0), 3);
  assert.deepEqual((await store.listExecutions('a')).items.map((e) => e.id), ['old-running']);
  assert.deepEqual((await store.listRunning('a')).map((e) => e.id), ['old-running']);
  assert.ok(await store.getExecution('b', 'keep-me'));

  // More victims than one txn may hold.
  const many = Array.from({ length: 300 }, (_, i) => exec('c', `m${String(i).padStart(3, '0')}`, { started_at: at(i) }));
  for (let i = 0; i < many.length; i += 30) await store.dispatchExecutions(many.slice(i, i + 30));
  assert.equal(await store.pruneExecutions('c', 10), 290);
  assert.deepEqual((await store.listExecutions('c', { end: 1 })).items.map((e) => e.id), ['m299']);
  assert.equal((await store.listExecutions('c')).total, 10);
}));

void test('commitTick: same and older ticks are refused without writing; route keys are written', withStore(async (store) => {
  assert.equal(await store.getLastTick('a'), null);
  const t60 = running('a', 't60', { started_at: at(60), node_name: 'n1' });
  assert.equal(await store.commitTick('a', at(60), [t60]), true);
  assert.equal(await store.getLastTick('a'), at(60));
  assert.deepEqual(await store.getExecution('a', 't60'), t60);
  assert.deepEqual(await keys(store, 'running/'), ['running/a/t60']);
  assert.deepEqual(await keys(store, 'assign/'), ['assign/n1/a/t60']);

  assert.equal(await store.commitTick('a', at(60), [running('a', 'dup')]), false);
  assert.equal(await store.getExecution('a', 'dup'), null);
  assert.equal(await store.commitTick('a', at(30), [running('a', 'old')]), false);
  assert.equal(await store.getExecution('a', 'old'), null);
  assert.equal(await store.commitTick('a', '2024-01-01T02:01:00+02:00', [running('a', 'same')]), false);
  assert.equal(await store.getLastTick('a'), at(60));
  assert.deepEqual(await keys(store, 'assign/'), ['assign/n1/a/t60']);

  const later = [running('a', 't120-n1', { group: 2, node_name: 'n1' }), running('a', 't120-n2', { group: 2, node_name: 'n2' })];
  assert.equal(await store.commitTick('a', at(120), later), true);
  assert.deepEqual((await store.listGroup('a', 2)).map((e) => e.id), ['t120-n1', 't120-n2']);
  assert.deepEqual(await keys(store, 'assign/'), ['assign/n1/a/t120-n1', 'assign/n1/a/t60', 'assign/n2/a/t120-n2']);

  assert.equal(await store.commitTick('b', at(0), []), true);
  assert.equal(await store.getLastTick('b'), at(0));
  await assert.rejects(store.commitTick('a', 'not a time', []), /invalid tick/);
  const tooMany = Array.from({ length: 60 }, (_, i) => running('a', `x${i}`));
  await assert.rejects(store.commitTick('a', at(180), tooMany), /max-txn-ops/);
  assert.equal(await store.getLastTick('a'), at(120));
}));

void test('commitTick is a fence under concurrent callers on two stores', withStore(async (store, keyspace) => {
  const other = await open(keyspace);
  try {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 ? other : store).commitTick('a', at(60), [running('a', `n${i}`)])),
    );
    assert.equal(results.filter(Boolean).length, 1);
    assert.equal((await store.listExecutions('a')).total, 1);
    assert.equal((await keys(store, 'assign/')).length, 1);
  } finally {
    await other.close();
  }
}));

void test('commitTick leadership fence: wrong revision and "none" refuse; the holder commits', withStore(async (store) => {
  const put = await store.ns.put('leader').value('agent-1').exec();
  const createRevision = put.header.revision; // a put that creates the key sets its create revision
  const kv = (await store.ns.get('leader').exec()).kvs[0];
  assert.equal(kv?.create_revision, createRevision);

  store.setFence({ key: 'leader', createRevision: String(BigInt(createRevision) - 1n) });
  assert.equal(await store.commitTick('a', at(60), [running('a', 'deposed')]), false);
  assert.equal(await store.getLastTick('a'), null);
  assert.equal(await store.getExecution('a', 'deposed'), null);
  assert.deepEqual(await keys(store, 'assign/'), []);

  store.setFence('none');
  assert.equal(await store.commitTick('a', at(60), [running('a', 'follower')]), false);
  assert.equal(await store.getExecution('a', 'follower'), null);

  store.setFence({ key: 'leader', createRevision });
  assert.equal(await store.commitTick('a', at(60), [running('a', 'leader')]), true);
  assert.ok(await store.getExecution('a', 'leader'));
  // Overwriting the key keeps its create revision; the fence still holds.
  await store.ns.put('leader').value('agent-1 again').exec();
  assert.equal(await store.commitTick('a', at(120), []), true);
  // A new leadership (delete + create) has a new create revision: the old fence fails.
  await store.ns.delete().key('leader').exec();
  await store.ns.put('leader').value('agent-2').exec();
  assert.equal(await store.commitTick('a', at(180), [running('a', 'stale')]), false);
  assert.equal(await store.getLastTick('a'), at(120));
  assert.equal(await store.getExecution('a', 'stale'), null);

  store.setFence(null);
  assert.equal(await store.commitTick('a', at(180), []), true);
}));

void test('dispatchExecutions stores, indexes and routes executions', withStore(async (store) => {
  await store.dispatchExecutions([running('a', '1', { node_name: 'n1' }), running('a', '2', { node_name: 'n/2' })]);
  assert.equal((await store.listRunning('a')).length, 2);
  assert.deepEqual(await keys(store, 'assign/'), ['assign/n%2F2/a/2', 'assign/n1/a/1']);
  await store.dispatchExecutions([]);
}));

void test('consumeAssignments: existing ones first, then new ones; each claimed once; unsubscribe', withStore(async (store) => {
  await store.dispatchExecutions([running('a', 'pre1', { node_name: 'n1' }), running('b', 'pre2', { node_name: 'n1' })]);
  await store.dispatchExecutions([running('a', 'other-node', { node_name: 'n2' })]);
  const got = new Collector<string>();
  const unsubscribe = store.consumeAssignments('n1', (e) => got.push(`${e.job_name}/${e.id}/${e.node_name}`));
  assert.deepEqual([...(await got.waitFor(2))].sort(), ['a/pre1/n1', 'b/pre2/n1']);

  assert.equal(await store.commitTick('a', at(60), [running('a', 'tick', { node_name: 'n1' }), running('a', 'tick-n2', { node_name: 'n2' })]), true);
  await store.dispatchExecutions([running('c', 'run-now', { node_name: 'n1' })]);
  await got.waitFor(4);
  assert.deepEqual(got.items.slice(2).sort(), ['a/tick/n1', 'c/run-now/n1']);
  assert.deepEqual(await keys(store, 'assign/n1/'), []);
  assert.deepEqual((await keys(store, 'assign/n2/')).sort(), ['assign/n2/a/other-node', 'assign/n2/a/tick-n2']);

  unsubscribe();
  unsubscribe();
  await store.dispatchExecutions([running('a', 'after', { node_name: 'n1' })]);
  // Nobody consumes n1 any more, so its key stays; a new consumer then gets exactly that one.
  const later = new Collector<string>();
  const stop = store.consumeAssignments('n1', (e) => later.push(e.id));
  assert.deepEqual(await later.waitFor(1), ['after']);
  stop();
  assert.equal(got.items.length, 4);
}));

void test('consumeAssignments: two consumers racing for one queue handle each execution exactly once', withStore(async (store, keyspace) => {
  const other = await open(keyspace);
  try {
    const pre = Array.from({ length: 20 }, (_, i) => running('a', `pre${i}`, { node_name: 'n1' }));
    await store.dispatchExecutions(pre);
    const handled = new Collector<string>();
    const stops = [store, other, store].map((s, i) => s.consumeAssignments('n1', (e) => handled.push(`${i}:${e.id}`)));
    const live = Array.from({ length: 40 }, (_, i) => running('a', `live${i}`, { node_name: 'n1' }));
    await Promise.all(Array.from({ length: 4 }, (_, k) => store.dispatchExecutions(live.slice(k * 10, k * 10 + 10))));
    await handled.waitFor(60, 20_000);
    const ids = handled.items.map((s) => s.split(':')[1]);
    assert.equal(new Set(ids).size, 60, 'no execution handled twice');
    assert.equal(ids.length, 60);
    // Drain check: a sentinel dispatched last is handled, and still nothing arrived twice.
    await store.dispatchExecutions([running('a', 'sentinel', { node_name: 'n1' })]);
    await handled.waitFor(61);
    assert.equal(new Set(handled.items.map((s) => s.split(':')[1])).size, 61);
    assert.deepEqual(await keys(store, 'assign/'), []);
    for (const stop of stops) stop();
  } finally {
    await other.close();
  }
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

void test('keyspaces are isolated', withStore(async (store) => {
  const other = await open(`t-${randomUUID()}`);
  try {
    await store.updateJob('a', () => job('a'));
    assert.equal(await other.getJob('a'), null);
    assert.equal(await other.countJobs(), 0);
  } finally {
    await other.close();
  }
}));

void test('close is idempotent; calls after close reject clearly', async () => {
  const store = await open(`t-${randomUUID()}`);
  const unwatch = store.watchJobs(() => undefined);
  const unconsume = store.consumeAssignments('n1', () => undefined);
  await store.close();
  await store.close();
  unwatch();
  unconsume();
  await assert.rejects(store.getJob('a'), /closed/);
  await assert.rejects(store.updateJob('a', () => job('a')), /closed/);
});

void test('connect does not need etcd; every call then rejects with "etcd unavailable" quickly', async () => {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    rejections.push(reason);
  };
  process.on('unhandledRejection', onRejection);
  const log = new Collector<string>();
  const store = await EtcdStore.connect({
    endpoints: [`127.0.0.1:${await freePort()}`],
    keyspace: 'nobody',
    callTimeoutMs: 1000,
    log: { warn: (_o, msg) => log.push(msg), info: (_o, msg) => log.push(msg) },
  });
  try {
    const unwatch = store.watchJobs(() => undefined);
    const unconsume = store.consumeAssignments('n1', () => undefined);
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['ping', () => store.ping()],
      ['getJob', () => store.getJob('a')],
      ['listJobs', () => store.listJobs()],
      ['updateJob', () => store.updateJob('a', () => job('a'))],
      ['completeExecution', () => store.completeExecution(exec('a', '1'), () => undefined)],
      ['commitTick', () => store.commitTick('a', at(0), [running('a', '1')])],
      ['listRunning', () => store.listRunning()],
      ['setSetting', () => store.setSetting('k', 'v')],
    ];
    // How fast they fail is measured by `npm run bench` (scenario reaction), not asserted here.
    for (const [name, call] of calls) {
      await assert.rejects(call(), (err: Error) => {
        assert.equal(err.name, 'EtcdUnavailableError');
        assert.ok(err.message.startsWith(`etcd unavailable: ${name}: `), err.message);
        return true;
      });
    }
    // The subscriptions keep trying in the background and say so.
    await log.waitFor(2);
    assert.ok(log.items.some((m) => /cannot start the job watch/.test(m)));
    assert.ok(log.items.some((m) => /cannot list assignments/.test(m)));
    unwatch();
    unconsume();
  } finally {
    await store.close();
    process.off('unhandledRejection', onRejection);
  }
  assert.deepEqual(rejections, []);
});

// Stops and restarts the shared member: keep last.
void test('outage: calls fail fast and clearly, then work again; watches and queues resume', async () => {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    rejections.push(reason);
  };
  process.on('unhandledRejection', onRejection);
  const keyspace = `t-${randomUUID()}`;
  const log = new Collector<string>();
  const store = await open(keyspace, { log: { warn: (_o, msg) => log.push(msg), info: (_o, msg) => log.push(msg) } });
  const writer = await open(keyspace);
  try {
    await store.updateJob('a', () => job('a'));
    const events = new Collector<string>();
    store.watchJobs((e) => events.push(describeEvent(e)));
    const handled = new Collector<string>();
    store.consumeAssignments('n1', (e) => handled.push(e.id));
    // Both subscriptions are live once they deliver something written after them.
    await writer.updateJob('probe', () => job('probe'));
    await writer.dispatchExecutions([running('a', 'before', { node_name: 'n1' })]);
    await events.waitFor(1);
    await handled.waitFor(1);

    await etcd.stopMember(0, true); // SIGKILL: no goodbye on the connections
    const started = Date.now();
    await assert.rejects(store.getJob('a'), (err: Error) => {
      assert.match(err.message, /^etcd unavailable: getJob: /);
      return true;
    });
    const took = Date.now() - started;
    await assert.rejects(store.updateJob('a', (j) => j), /etcd unavailable/);
    await assert.rejects(store.commitTick('a', at(60), []), /etcd unavailable/);
    // Subscribed while etcd is down: starts once it is back.
    const lateHandled = new Collector<string>();
    store.consumeAssignments('n2', (e) => lateHandled.push(e.id));

    await etcd.startMember(0);
    const back = Date.now();
    await eventually(() => store.getJob('a'), 15_000);
    const recoveredMs = Date.now() - back;
    assert.equal((await store.getJob('a'))?.name, 'a');

    await writer.updateJob('after-outage', () => job('after-outage'));
    await writer.dispatchExecutions([running('a', 'after-n1', { node_name: 'n1' }), running('a', 'after-n2', { node_name: 'n2' })]);
    await events.waitFor(2, 15_000, 'the job watch to resume');
    assert.equal(events.items.at(-1), 'put after-outage ');
    assert.deepEqual(await handled.waitFor(2, 15_000, 'the n1 queue to resume'), ['before', 'after-n1']);
    assert.deepEqual(await lateHandled.waitFor(1, 15_000, 'the n2 consumer to start'), ['after-n2']);
    const resumedMs = Date.now() - back;
    assert.ok(log.items.includes('etcd store: watch disconnected; reconnecting'), JSON.stringify(log.items));
    assert.ok(log.items.includes('etcd store: watch reconnected'), JSON.stringify(log.items));
    process.stdout.write(`# outage: getJob failed in ${took} ms; store usable ${recoveredMs} ms and watches delivering ${resumedMs} ms after restart\n`);
  } finally {
    await writer.close();
    await store.close();
    process.off('unhandledRejection', onRejection);
  }
  assert.deepEqual(rejections, []);
});

storeContract('etcd', (fn) => withStore((store) => fn(store)));
recordsContract('etcd', (fn) => withStore((store) => fn(store)));

void test('finishing an execution removes its assignment, so a late consumer is never handed it', withStore(async (store) => {
  const e = running('a', 'gone', { node_name: 'n1' });
  assert.equal(await store.dispatchExecutions([e]), true);
  assert.notEqual(await store.ns.get('assign/n1/a/gone').string(), null, 'queued while running');
  await store.completeExecution({ ...e, finished_at: at(5), success: false }, () => undefined);
  assert.equal(await store.ns.get('assign/n1/a/gone').string(), null, 'dequeued once finished');
  assert.equal((await store.listRunning('a')).length, 0);
}));

void test('pruneExecutions with history not full deletes nothing and keeps running ones', withStore(async (store) => {
  await store.putExecution(exec('a', 'old'));
  await store.putExecution(running('a', 'live'));
  assert.equal(await store.pruneExecutions('a', 2), 0);
  assert.equal((await store.listExecutions('a')).total, 2);
  assert.equal(await store.pruneExecutions('a', 0), 1);
  assert.deepEqual((await store.listExecutions('a')).items.map((x) => x.id), ['live']);
}));

/** Keys of every key-value the store's KV calls return (range and txn reads), to see what a call reads. */
function recordReads(store: EtcdStore): { keys: string[]; stop: () => void } {
  const kv = store.client.kv;
  const range = kv.range.bind(kv);
  const txn = kv.txn.bind(kv);
  const keys: string[] = [];
  const note = (kvs: { key: Buffer; value: Buffer }[] | undefined): void => {
    for (const x of kvs ?? []) if (x.value.length > 0) keys.push(x.key.toString());
  };
  kv.range = async (...args: Parameters<typeof kv.range>) => {
    const res = await range(...args);
    note(res.kvs);
    return res;
  };
  kv.txn = async (...args: Parameters<typeof kv.txn>) => {
    const res = await txn(...args);
    for (const r of res.responses) note(r.response_range?.kvs);
    return res;
  };
  return {
    keys,
    stop: () => {
      kv.range = range;
      kv.txn = txn;
    },
  };
}

void test('finishing an execution reads only its group: listGroup and a full-history prune read no other outputs', withStore(async (store, keyspace) => {
  const big = 'x'.repeat(64 * 1024);
  for (let i = 0; i < 12; i++) {
    await store.putExecution(exec('a', `old${String(i).padStart(2, '0')}`, { group: 100 + i, started_at: at(i), finished_at: at(i + 1), output: big }));
  }
  await store.putExecution(running('a', 'g1', { group: 7, started_at: at(50) }));
  await store.putExecution(exec('a', 'g2', { group: 7, started_at: at(51), attempt: 2 }));
  const reads = recordReads(store);
  try {
    assert.deepEqual((await store.listGroup('a', 7)).map((e) => e.id), ['g1', 'g2']);
    const outside = reads.keys.filter((k) => k.startsWith(`${keyspace}/executions/`) && !/\/g\d$/.test(k));
    assert.deepEqual(outside, [], 'listGroup read executions of other groups');
    reads.keys.length = 0;
    assert.equal(await store.pruneExecutions('a', 10), 3);
    assert.deepEqual(reads.keys.filter((k) => k.startsWith(`${keyspace}/executions/`)), [], 'prune read stored executions');
  } finally {
    reads.stop();
  }
  // The oldest finished ones went; the running one and the newest stayed.
  const left = (await store.listExecutions('a', { sort: 'started_at', order: 'asc' })).items.map((e) => e.id);
  assert.deepEqual(left, ['old03', 'old04', 'old05', 'old06', 'old07', 'old08', 'old09', 'old10', 'old11', 'g1', 'g2']);
  assert.deepEqual((await store.listGroup('a', 7)).map((e) => e.id), ['g1', 'g2']);
  assert.deepEqual(await store.listGroup('a', 100), []);
}));

void test('executions stored before the group index are indexed on first use', withStore(async (store) => {
  // As an older version wrote them: the record and a running entry holding the bare node name.
  await store.ns.put('executions/a/old1').value(JSON.stringify(exec('a', 'old1', { group: 5 })));
  await store.ns.put('executions/a/old2').value(JSON.stringify(running('a', 'old2', { group: 5, attempt: 2 })));
  await store.ns.put('running/a/old2').value('node-1');
  assert.deepEqual((await store.listGroup('a', 5)).map((e) => e.id), ['old1', 'old2']);
  assert.deepEqual(await keys(store, 'groups/'), ['groups/a/5/old1']);
  await store.completeExecution(exec('a', 'old2', { group: 5, attempt: 2 }), () => undefined);
  assert.deepEqual(await keys(store, 'running/'), []);
  assert.deepEqual((await store.listGroup('a', 5)).map((e) => [e.id, e.finished_at !== null]), [['old1', true], ['old2', true]]);
}));
