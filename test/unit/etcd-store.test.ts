/**
 * What only the etcd store does, against a real single-member etcd (Debian's
 * etcd-server) on a loopback port: its key layout, watch start and compaction,
 * the leadership fence as a create revision, transaction limits, what a call
 * reads, and how it fails when etcd is away. Everything every backend must do
 * is in the contract suite (test/contract/etcd.test.ts). Each test gets its own
 * random keyspace; the outage test stops and restarts the member, so it runs
 * last (node:test runs a file's tests in order).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { GRPCUnavailableError } from 'etcd3';
import { EtcdStore, type EtcdStoreOptions } from '../../src/backends/etcd/etcd-store.js';
import type { JobEvent } from '../../src/store/types.js';
import { freePort, startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { at, exec, job, running } from '../helpers/fixtures.js';
import { eventually } from '../helpers/agent.js';
import { Collector } from '../contract/harness.js';

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

/** Runs `fn` and fails if anything it started (watches, claims, retries) left a promise rejection unhandled. */
function withoutUnhandledRejections(fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => {
      rejections.push(reason);
    };
    process.on('unhandledRejection', onRejection);
    try {
      await fn();
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    assert.deepEqual(rejections, []);
  };
}

const describeEvent = (e: JobEvent): string => (e.type === 'put' ? `put ${e.job.name} ${e.job.owner}` : `delete ${e.name}`);

void test('a job name that cannot be one key segment is refused', withStore(async (store) => {
  await assert.rejects(store.getJob('a/b'), /invalid job name/);
  await assert.rejects(store.updateJob('a/b', () => job('a/b')), /invalid job name/);
}));

void test('key layout: the running index holds node and group; assignments are keyed by URI-encoded node; both go when finished', withStore(async (store) => {
  await store.dispatchExecutions([running('a', '1', { node_name: 'n1', group: 7 }), running('a', '2', { node_name: 'n/2' })]);
  assert.deepEqual(await keys(store, 'running/'), ['running/a/1', 'running/a/2']);
  assert.deepEqual(JSON.parse((await store.ns.get('running/a/1').string()) ?? 'null'), { node: 'n1', group: 7 });
  assert.deepEqual(await keys(store, 'assign/'), ['assign/n%2F2/a/2', 'assign/n1/a/1']);
  assert.equal(await store.commitTick('a', at(60), [running('a', 't60', { node_name: 'n1' })]), true);
  assert.deepEqual(await keys(store, 'assign/n1/'), ['assign/n1/a/1', 'assign/n1/a/t60']);
  await store.completeExecution(exec('a', '1', { node_name: 'n1', group: 7 }), () => undefined);
  await store.completeExecution(exec('a', '2', { node_name: 'n/2' }), () => undefined);
  assert.deepEqual(await keys(store, 'running/'), ['running/a/t60']);
  assert.deepEqual(await keys(store, 'assign/'), ['assign/n1/a/t60'], 'a finished execution is dequeued');
  await store.deleteExecutions('a');
  assert.deepEqual(await keys(store, 'running/'), []);
}));

void test('commitTick needing more operations than --max-txn-ops is refused whole', withStore(async (store) => {
  assert.equal(await store.commitTick('a', at(60), []), true);
  const tooMany = Array.from({ length: 60 }, (_, i) => running('a', `x${i}`));
  await assert.rejects(store.commitTick('a', at(180), tooMany), /max-txn-ops/);
  assert.equal(await store.getLastTick('a'), at(60));
  assert.deepEqual(await keys(store, 'executions/'), []);
}));

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

void test('watchJobs opened before any reply, its first read slow: a write the caller makes after a read still arrives', withStore(async (_store, keyspace) => {
  const fresh = await open(keyspace);
  const kv = fresh.client.kv;
  const range = kv.range.bind(kv);
  let delayed = 0;
  // The watch's first read (keys only) is answered after the caller's write has landed, as a busy
  // cluster may: its revision is then past that write.
  kv.range = async (...args: Parameters<typeof kv.range>) => {
    if (args[0].keys_only === true && delayed++ === 0) await new Promise((r) => setTimeout(r, 300));
    return range(...args);
  };
  try {
    const events = new Collector<string>();
    fresh.watchJobs((e) => events.push(describeEvent(e)));
    // A CAS write: it reads, then writes.
    await fresh.updateJob('a', () => job('a'));
    assert.equal(delayed, 1, 'the watch read was the slow one');
    assert.deepEqual(await events.waitFor(1, 5000), ['put a ']);
  } finally {
    kv.range = range;
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
  // A fan-in window: any agent commits it, each tick still once (its own compare-and-set).
  assert.equal(await store.commitTick('w', at(60), [running('w', 'window')], { unfenced: true }), true);
  assert.equal(await store.commitTick('w', at(60), [running('w', 'window-again')], { unfenced: true }), false);
  assert.equal(await store.getExecution('w', 'window-again'), null);

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

/** Counts the store's round trips (range and txn calls) until stopped. */
function countCalls(store: EtcdStore): { count: () => number; stop: () => void } {
  const kv = store.client.kv;
  const range = kv.range.bind(kv);
  const txn = kv.txn.bind(kv);
  let n = 0;
  kv.range = (...args: Parameters<typeof kv.range>) => {
    n++;
    return range(...args);
  };
  kv.txn = (...args: Parameters<typeof kv.txn>) => {
    n++;
    return txn(...args);
  };
  return {
    count: () => n,
    stop: () => {
      kv.range = range;
      kv.txn = txn;
    },
  };
}

void test('runs of different jobs finishing together share one read: five completions, one read and five writes', withStore(async (store) => {
  const names = ['f1', 'f2', 'f3', 'f4', 'f5'];
  for (const n of names) {
    await store.updateJob(n, () => job(n));
    await store.putExecution(running(n, `${n}-x`, { group: 3 }));
  }
  const calls = countCalls(store);
  try {
    const jobs = await Promise.all(names.map((n) => store.completeExecution(exec(n, `${n}-x`, { group: 3 }), (j) => (j ? { ...j, success_count: j.success_count + 1 } : undefined), { group: () => undefined })));
    assert.equal(calls.count(), 1 + names.length);
    assert.deepEqual(jobs.map((j) => j?.success_count), [1, 1, 1, 1, 1]);
  } finally {
    calls.stop();
  }
  for (const n of names) {
    assert.equal((await store.getJob(n))?.success_count, 1);
    assert.notEqual((await store.getExecution(n, `${n}-x`))?.finished_at, null);
  }
  // Two runs of one job finishing together: both counted (the second's write loses its compare and reads again).
  await store.putExecution(running('f1', 'y1', { group: 4 }));
  await store.putExecution(running('f1', 'y2', { group: 5 }));
  await Promise.all(['y1', 'y2'].map((id, i) => store.completeExecution(exec('f1', id, { group: 4 + i }), (j) => (j ? { ...j, success_count: j.success_count + 1 } : undefined))));
  assert.equal((await store.getJob('f1'))?.success_count, 3);
}));

void test('finishing a run of a one-run group takes two round trips, and a history that is not full is not counted on every finish; records other agents wrote are pruned within 16 finishes', withStore(async (store, keyspace) => {
  await store.updateJob('p', () => job('p'));
  // The leader: it dispatches (writes the running record); this store, the worker, finishes it.
  const leader = await open(keyspace);
  const finish = async (id: string, group: number): Promise<number> => {
    await leader.putExecution(running('p', id, { group, started_at: at(group) }));
    const calls = countCalls(store);
    try {
      await store.completeExecution(exec('p', id, { group, started_at: at(group), finished_at: at(group + 1) }), (j) => j, { group: () => undefined });
      return calls.count();
    } finally {
      calls.stop();
    }
  };
  const prune = async (keep: number): Promise<number> => {
    const calls = countCalls(store);
    try {
      await store.pruneExecutions('p', keep);
      return calls.count();
    } finally {
      calls.stop();
    }
  };
  const stored = async (): Promise<number> => (await store.listExecutions('p')).total;
  try {
    // The job, the execution and the group's entries in one read; the result in one write.
    assert.equal(await finish('e00', 0), 2);
    assert.equal(await prune(5), 1, 'the first prune of a job counts its records');
    for (let i = 1; i < 5; i++) {
      await finish(`e0${i}`, i);
      assert.equal(await prune(5), 0, `finish ${i}: the history (${await stored()} of 5) was counted again`);
    }
    // Past the limit: counted and pruned at once.
    await finish('e05', 5);
    assert.ok((await prune(5)) > 0);
    assert.equal(await stored(), 5);
    // Other agents write 40 records this store cannot know of; under a limit of 30 its own
    // estimate stays low, so only the periodic count finds them.
    for (let i = 0; i < 40; i++) await leader.putExecution(exec('p', `x${String(i).padStart(2, '0')}`, { group: 100 + i, started_at: at(100 + i), finished_at: at(101 + i) }));
    await prune(30);
    for (let i = 0; i < 16; i++) {
      await finish(`f${String(i).padStart(2, '0')}`, 200 + i);
      await prune(30);
    }
    assert.equal(await stored(), 30, 'records other agents wrote are pruned once this store counts again');
  } finally {
    await leader.close();
  }
}));

void test('updateJob whose reply was lost after it landed, then overtaken by another write, is not applied again', withStore(async (store, keyspace) => {
  const peer = await open(keyspace);
  try {
    await store.updateJob('j', () => job('j'));
    const kv = store.client.kv;
    const txn = kv.txn.bind(kv);
    let armed = true;
    // The write lands, a run's completion updates the job's counters through another agent, and
    // the reply is lost (what a dropped connection does): the store must find its write by the
    // audit entry that went with it, not re-run the toggle on the newer job.
    kv.txn = async (...args: Parameters<typeof kv.txn>) => {
      const res = await txn(...args);
      if (armed) {
        armed = false;
        await peer.updateJob('j', (j) => (j ? { ...j, success_count: j.success_count + 1 } : undefined));
        throw new GRPCUnavailableError('test: the reply was lost');
      }
      return res;
    };
    let calls = 0;
    const toggled = await store.updateJob(
      'j',
      (j) => {
        calls++;
        return j ? { ...j, disabled: !j.disabled } : undefined;
      },
      () => ({ id: `audit-${randomUUID()}`, at: new Date().toISOString(), actor: 't', action: 'job.toggle', job: 'j', before: null, after: null, detail: null }),
    );
    kv.txn = txn;
    assert.equal(calls, 1, 'the updater ran once');
    assert.equal(toggled?.disabled, true);
    const stored = await peer.getJob('j');
    assert.equal(stored?.disabled, true, 'the toggle stands');
    assert.equal(stored?.success_count, 1, 'the other write stands');
  } finally {
    await peer.close();
  }
}));

/** Makes the next txn with at least `minOps` success ops land and then lose its reply; answers how many it hit. */
function loseNextReply(store: EtcdStore, minOps: number): { restore: () => void; hits: () => number } {
  const kv = store.client.kv;
  const txn = kv.txn.bind(kv);
  let hits = 0;
  kv.txn = async (...args: Parameters<typeof kv.txn>) => {
    const res = await txn(...args);
    if (hits === 0 && (args[0].success?.length ?? 0) >= minOps) {
      hits++;
      throw new GRPCUnavailableError('test: the reply was lost');
    }
    return res;
  };
  return { restore: () => (kv.txn = txn), hits: () => hits };
}

void test('a burst of tick commits whose reply was lost after it landed: each reports committed, nothing is written twice', withStore(async (store) => {
  const names = ['b1', 'b2', 'b3', 'b4', 'b5'];
  const lost = loseNextReply(store, names.length * 2);
  const results = await Promise.all(names.map((n) => store.commitTick(n, at(60), [running(n, `${n}-x`, { node_name: 'n1' })])));
  lost.restore();
  assert.equal(lost.hits(), 1, 'the burst went out as one txn, and its reply was lost');
  assert.deepEqual(results, [true, true, true, true, true]);
  for (const n of names) assert.deepEqual((await store.listExecutions(n)).items.map((e) => e.id), [`${n}-x`]);
  // The next burst still commits (the revisions it remembers are those of the landed write).
  assert.deepEqual(await Promise.all(names.map((n) => store.commitTick(n, at(120), []))), [true, true, true, true, true]);
}));

void test('a burst of assignments whose claim reply was lost after it landed: each is handed over once', withStore(async (store) => {
  const queued = Array.from({ length: 6 }, (_, i) => running('a', `q${i}`, { node_name: 'n1' }));
  assert.equal(await store.dispatchExecutions(queued), true);
  // The claim txn deletes each key and reads its execution and job: 18 ops for the 6 queued ones.
  const lost = loseNextReply(store, 18);
  const got = new Collector<string>();
  const stop = store.consumeAssignments('n1', (e) => got.push(e.id));
  try {
    assert.deepEqual([...(await got.waitFor(6))].sort(), queued.map((e) => e.id));
    assert.equal(lost.hits(), 1);
    await store.dispatchExecutions([running('a', 'sentinel', { node_name: 'n1' })]);
    await got.waitFor(7);
    assert.equal(got.items.length, 7, 'nothing handed over twice');
  } finally {
    lost.restore();
    stop();
  }
}));

void test('an assignment is handed over with its job, read in the claim (null when the job is gone)', withStore(async (store) => {
  await store.updateJob('a', () => job('a', { owner: 'kept' }));
  assert.equal(await store.dispatchExecutions([running('a', 'with-job', { node_name: 'n1' })]), true);
  assert.equal(await store.dispatchExecutions([running('gone', 'no-job', { node_name: 'n1' })]), true);
  const got = new Collector<string>();
  const stop = store.consumeAssignments('n1', (e, j) => got.push(`${e.id} ${j === undefined ? 'unread' : j === null ? 'null' : j.owner}`));
  try {
    assert.deepEqual([...(await got.waitFor(2))].sort(), ['no-job null', 'with-job kept']);
  } finally {
    stop();
  }
}));

void test('an assignment claimed again after it was handed over (a replayed event, its claim reply lost or not) is not handed over again', withStore(async (store) => {
  const first = running('a', 'once', { node_name: 'n1' });
  assert.equal(await store.dispatchExecutions([first]), true);
  const got = new Collector<string>();
  const stop = store.consumeAssignments('n1', (e) => got.push(e.id));
  try {
    await got.waitFor(1);
    // The queue key put again, as a replayed watch event or a relist shows it: claimed, and its
    // claim's reply lost (a single claim deletes and reads: 2 ops), so the key is gone either way.
    const lost = loseNextReply(store, 2);
    await store.ns.put('assign/n1/a/once').value('n1');
    await eventually('the repeated claim', async () => lost.hits() === 1 && (await keys(store, 'assign/')).length === 0);
    lost.restore();
    // Put again, claimed with its reply intact.
    await store.ns.put('assign/n1/a/once').value('n1');
    await eventually('the second repeated claim', async () => (await keys(store, 'assign/')).length === 0);
    await store.dispatchExecutions([running('a', 'sentinel', { node_name: 'n1' })]);
    await got.waitFor(2);
    assert.deepEqual(got.items, ['once', 'sentinel'], 'the execution still running was handed over once');
  } finally {
    stop();
  }
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

void test('connect does not need etcd; every call then rejects with "etcd unavailable" quickly', withoutUnhandledRejections(async () => {
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
  }
}));

// Stops and restarts the shared member: keep last. (That watches and queues resume is in the contract suite.)
void test('outage: calls fail fast and clearly naming etcd, then work again; the watch says it reconnected', withoutUnhandledRejections(async () => {
  const log = new Collector<string>();
  const store = await open(`t-${randomUUID()}`, { log: { warn: (_o, msg) => log.push(msg), info: (_o, msg) => log.push(msg) } });
  try {
    await store.updateJob('a', () => job('a'));
    const events = new Collector<string>();
    store.watchJobs((e) => events.push(describeEvent(e)));
    await store.updateJob('probe', () => job('probe'));
    await events.waitFor(1);

    await etcd.stopMember(0, true); // SIGKILL: no goodbye on the connections
    const started = Date.now();
    await assert.rejects(store.getJob('a'), (err: Error) => {
      assert.equal(err.name, 'EtcdUnavailableError');
      assert.match(err.message, /^etcd unavailable: getJob: /);
      return true;
    });
    const took = Date.now() - started;
    await assert.rejects(store.updateJob('a', (j) => j), /etcd unavailable/);
    await assert.rejects(store.commitTick('a', at(60), []), /etcd unavailable/);

    await etcd.startMember(0);
    const back = Date.now();
    assert.equal((await eventually('etcd to answer again', () => store.getJob('a'), 15_000, 100))?.name, 'a');
    const recoveredMs = Date.now() - back;
    await eventually('the watch to reconnect', async () => log.items.includes('etcd store: watch reconnected'), 15_000);
    assert.ok(log.items.includes('etcd store: watch disconnected; reconnecting'), JSON.stringify(log.items));
    process.stdout.write(`# outage: getJob failed in ${took} ms; store usable ${recoveredMs} ms after restart\n`);
  } finally {
    await store.close();
  }
}));
