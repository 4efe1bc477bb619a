/**
 * The dispatcher's tick bookkeeping around a failed dispatch, with real parts: an
 * embedded store (wrapped to fail chosen calls), the embedded cluster, an event bus.
 *
 * The case these guard: the dispatch of tick T fails; before its retry, the job's next
 * tick commits, so the store's fence refuses T for good. T must then be recorded as a
 * skip (once, with the reason), unless it ran after all; nothing may run twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent } from '../../src/agent/agent.js';
import { resolveConfig } from '../../src/agent/config.js';
import { embeddedBackend } from '../../src/backends/embedded/index.js';
import { Dispatcher, type ExecutionSink } from '../../src/cluster/dispatcher.js';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { SqliteStore } from '../../src/backends/embedded/sqlite-store.js';
import { EventBus, type EventMap } from '../../src/events/bus.js';
import { silentLogger } from '../../src/util/log.js';
import { tickGroup } from '../../src/util/ids.js';
import type { Execution, Job } from '../../src/job/types.js';
import type { Store } from '../../src/store/types.js';
import type { TickEvent } from '../../src/scheduler/scheduler.js';
import { at, job, running, T0 } from '../helpers/fixtures.js';
import { faulty, outage, type FaultRule, type FaultyStore } from '../helpers/faulty-store.js';

const T = T0 + 60_000;
const T1 = T + 1000;
const tick = (name: string, ms: number): TickEvent => ({ name, scheduledAt: new Date(ms), trigger: 'schedule' });

interface Rig {
  inner: SqliteStore;
  f: FaultyStore<Store>;
  dispatcher: Dispatcher;
  cluster: LocalCluster;
  delivered: Execution[];
  skipped: EventMap['tick.skipped'][];
}

function cluster(nodeName: string): LocalCluster {
  return new LocalCluster({ nodeName, addr: '127.0.0.1', port: () => 0, tags: {}, server: true, version: 'test', running: () => 0, log: silentLogger() });
}

/** A dispatcher on `inner` (a fresh embedded store unless given), its store calls failing per `rule`. */
function rig(rule?: FaultRule, inner: SqliteStore = SqliteStore.open(':memory:'), node = 'a1'): Rig {
  const f = faulty<Store>(inner, rule);
  const delivered: Execution[] = [];
  const sink: ExecutionSink = { deliver: (e) => delivered.push(e) };
  const events = new EventBus();
  const skipped: EventMap['tick.skipped'][] = [];
  events.on('tick.skipped', (e) => void skipped.push(e));
  const c = cluster(node);
  return { inner, f, dispatcher: new Dispatcher(f.store, c, sink, silentLogger(), events), cluster: c, delivered, skipped };
}

async function putJob(store: Store, name: string, patch: Partial<Job> = {}): Promise<void> {
  await store.updateJob(name, () => job(name, { schedule: '@every 1s', ...patch }));
}

/** Fails the first `times` calls of `method` for job `name` (and tick `tickIso`, for commitTick). */
function failFirst(method: 'getJob' | 'commitTick' | 'recordSkips' | 'listGroup', name: string, tickIso?: string, times = 1): FaultRule & { failures: () => number } {
  let failures = 0;
  const rule = ((m: string, args: unknown[]) => {
    if (m !== method || args[0] !== name || failures >= times) return undefined;
    if (tickIso !== undefined && args[1] !== tickIso) return undefined;
    failures++;
    return outage(method);
  }) as FaultRule & { failures: () => number };
  rule.failures = () => failures;
  return rule;
}

/** The first commitTick of `tickIso` lands on `inner`, but its answer is lost (an outage after the write). */
function lostReplyOnce(inner: Store, tickIso: string): FaultRule {
  let lost = false;
  return async (m, args) => {
    if (m !== 'commitTick' || args[1] !== tickIso || lost) return undefined;
    lost = true;
    await inner.commitTick(args[0] as string, args[1] as string, args[2] as Execution[]);
    return outage('commitTick');
  };
}

async function skipsOf(store: Store, name: string): Promise<{ at: string; code: string; reason: string }[]> {
  return (await store.listSkips(name)).items.map((s) => ({ at: s.scheduled_at, code: s.code, reason: s.reason }));
}

for (const method of ['getJob', 'commitTick'] as const) {
  void test(`dispatch of T fails (${method}), T+1 commits before the retry: T is recorded as a dispatch_failed skip once, nothing runs twice`, async () => {
    const rule = failFirst(method, 'j', method === 'commitTick' ? at(60) : undefined);
    const r = rig(rule);
    await putJob(r.inner, 'j');

    await assert.rejects(r.dispatcher.dispatchTick(tick('j', T)), /injected fault/);
    assert.equal(rule.failures(), 1);
    const next = await r.dispatcher.dispatchTick(tick('j', T1));
    assert.equal(next.executions.length, 1, 'the next tick runs');

    // Committing T+1 made T impossible to commit: it is recorded now, whether or not a retry comes.
    const want = [{ at: at(60), code: 'dispatch_failed' }];
    assert.deepEqual((await skipsOf(r.inner, 'j')).map(({ at: a, code }) => ({ at: a, code })), want);
    assert.match((await skipsOf(r.inner, 'j'))[0]?.reason ?? '', new RegExp(`^dispatch failed \\(.*${method}: injected fault\\) and a later tick was committed before its retry$`));
    assert.deepEqual(r.skipped.map((e) => [e.scheduledAt, e.kind, e.count]), [[at(60), 'dispatch_failed', 1]]);

    // The retry of T: refused by the fence, and neither recorded nor published again.
    const retried = await r.dispatcher.dispatchTick(tick('j', T));
    assert.deepEqual(retried.executions, []);
    await r.dispatcher.dispatchTick(tick('j', T));
    assert.equal(r.skipped.length, 1);
    assert.equal((await r.inner.getJob('j'))?.skip_count, 1);
    assert.equal((await r.inner.listSkips('j')).total, 1);

    // Nothing ran twice, and T did not run at all.
    assert.deepEqual(r.delivered.map((e) => e.scheduled_at), [at(61)]);
    assert.deepEqual(await r.inner.listGroup('j', tickGroup(T)), []);
    assert.equal((await r.inner.listExecutions('j')).total, 1);
    assert.equal(await r.inner.getLastTick('j'), at(61));
    await r.inner.close();
  });
}

void test('when T cannot be settled as T+1 commits (store still failing), the refused retry records it, once', async () => {
  const getJob = failFirst('getJob', 'j');
  // T+1's look at T's group fails too: T stays owed, and the retry settles it.
  const listGroup = failFirst('listGroup', 'j');
  const r = rig((m, args) => getJob(m, args) ?? listGroup(m, args));
  await putJob(r.inner, 'j');
  await assert.rejects(r.dispatcher.dispatchTick(tick('j', T)));
  assert.equal((await r.dispatcher.dispatchTick(tick('j', T1))).executions.length, 1, 'T+1 is dispatched even though T could not be settled');
  assert.equal(listGroup.failures(), 1);
  assert.equal((await r.inner.listSkips('j')).total, 0);

  await r.dispatcher.dispatchTick(tick('j', T));
  assert.deepEqual((await skipsOf(r.inner, 'j')).map((s) => [s.at, s.code]), [[at(60), 'dispatch_failed']]);
  await r.dispatcher.dispatchTick(tick('j', T));
  assert.equal((await r.inner.getJob('j'))?.skip_count, 1);
  assert.equal(r.skipped.length, 1);
  assert.deepEqual(r.delivered.map((e) => e.scheduled_at), [at(61)]);
  await r.inner.close();
});

void test('a failed commit of T that landed (lost reply) is not recorded as a skip when T+1 overtakes it', async () => {
  const inner = SqliteStore.open(':memory:');
  const r = rig(lostReplyOnce(inner, at(60)), inner);
  await putJob(inner, 'j');
  await assert.rejects(r.dispatcher.dispatchTick(tick('j', T)));
  await r.dispatcher.dispatchTick(tick('j', T1));
  await r.dispatcher.dispatchTick(tick('j', T));
  assert.equal((await inner.listSkips('j')).total, 0);
  assert.equal((await inner.getJob('j'))?.skip_count, 0);
  assert.deepEqual(r.skipped, []);
  assert.equal((await inner.listGroup('j', tickGroup(T))).length, 1, 'T was committed once, by its first attempt');
  assert.equal((await inner.listGroup('j', tickGroup(T1))).length, 1);
  await inner.close();
});

void test('a lost-reply commit of T+1 that landed overtakes a failed T: T is recorded when T+1\'s retry finds its own executions', async () => {
  const inner = SqliteStore.open(':memory:');
  const getJob = failFirst('getJob', 'j');
  const commit = lostReplyOnce(inner, at(61));
  const r = rig((m, args) => getJob(m, args) ?? commit(m, args), inner);
  await putJob(inner, 'j');
  await assert.rejects(r.dispatcher.dispatchTick(tick('j', T)));
  await assert.rejects(r.dispatcher.dispatchTick(tick('j', T1)));
  // T's retry comes first: refused, and T+1 (ours, in doubt) may have overtaken it: not dropped.
  await r.dispatcher.dispatchTick(tick('j', T));
  assert.equal((await inner.listSkips('j')).total, 0);
  // T+1's retry: refused, its own executions are there, so it was ours and T was overtaken.
  await r.dispatcher.dispatchTick(tick('j', T1));
  assert.deepEqual((await skipsOf(inner, 'j')).map((s) => [s.at, s.code]), [[at(60), 'dispatch_failed']]);
  assert.equal((await inner.getJob('j'))?.skip_count, 1);
  assert.equal(r.skipped.length, 1);
  assert.equal((await inner.listGroup('j', tickGroup(T1))).length, 1);
  await inner.close();
});

void test('forbid: a skip committed whose record failed is recorded by the refused retry, once', async () => {
  const rule = failFirst('recordSkips', 'f');
  const r = rig(rule);
  await putJob(r.inner, 'f', { concurrency: 'forbid' });
  await r.inner.putExecution(running('f', 'busy', { group: 7 }));
  await assert.rejects(r.dispatcher.dispatchTick(tick('f', T)), /injected fault/);
  assert.equal(await r.inner.getLastTick('f'), at(60), 'the skip was committed as the tick');
  assert.equal((await r.inner.listSkips('f')).total, 0);

  await r.dispatcher.dispatchTick(tick('f', T));
  await r.dispatcher.dispatchTick(tick('f', T));
  const skips = await skipsOf(r.inner, 'f');
  assert.deepEqual(skips.map((s) => [s.at, s.code]), [[at(60), 'forbid']]);
  assert.match(skips[0]?.reason ?? '', /execution busy is still running/);
  assert.equal((await r.inner.getJob('f'))?.skip_count, 1);
  assert.deepEqual(r.skipped.map((e) => [e.scheduledAt, e.kind]), [[at(60), 'forbid']]);
  assert.deepEqual(r.delivered, []);
  await r.inner.close();
});

void test('forbid: T fails, T+1 is skipped (busy) and committed: T is still recorded, once, and nothing runs', async () => {
  const r = rig(failFirst('getJob', 'f'));
  await putJob(r.inner, 'f', { concurrency: 'forbid' });
  await r.inner.putExecution(running('f', 'busy', { group: 7 }));
  await assert.rejects(r.dispatcher.dispatchTick(tick('f', T)));
  await r.dispatcher.dispatchTick(tick('f', T1));
  await r.dispatcher.dispatchTick(tick('f', T));
  assert.deepEqual((await skipsOf(r.inner, 'f')).map((s) => [s.at, s.code]).sort(), [[at(60), 'dispatch_failed'], [at(61), 'forbid']]);
  assert.equal((await r.inner.getJob('f'))?.skip_count, 2);
  assert.equal(r.skipped.length, 2);
  assert.deepEqual(r.delivered, []);
  await r.inner.close();
});

void test('T committed as a skip by another leader: this agent\'s failed attempt adds no record, no notice and no read', async () => {
  const inner = SqliteStore.open(':memory:');
  const r = rig(failFirst('getJob', 'f'), inner, 'a1');
  const other = rig(undefined, inner, 'a2');
  await putJob(inner, 'f', { concurrency: 'forbid' });
  await inner.putExecution(running('f', 'busy', { group: 7 }));
  await assert.rejects(r.dispatcher.dispatchTick(tick('f', T)));
  // The other leader takes T (a forbid skip) and T+1.
  await other.dispatcher.dispatchTick(tick('f', T));
  await other.dispatcher.dispatchTick(tick('f', T1));
  const reads = (): number => (r.f.calls.get('listGroup') ?? 0) + (r.f.calls.get('getLastTick') ?? 0) + (r.f.calls.get('listSkips') ?? 0);
  const before = reads();
  await r.dispatcher.dispatchTick(tick('f', T));
  assert.equal(reads(), before, 'the refused retry reads nothing more');
  assert.deepEqual((await skipsOf(inner, 'f')).map((s) => [s.at, s.code]).sort(), [[at(60), 'forbid'], [at(61), 'forbid']]);
  assert.equal((await inner.getJob('f'))?.skip_count, 2);
  assert.deepEqual(r.skipped, []);
  await inner.close();
});

void test('the normal refusal (another leader dispatched the tick) costs no extra read', async () => {
  const inner = SqliteStore.open(':memory:');
  const r = rig(undefined, inner, 'a1');
  const other = rig(undefined, inner, 'a2');
  await putJob(inner, 'j');
  assert.equal((await other.dispatcher.dispatchTick(tick('j', T))).executions.length, 1);
  assert.deepEqual((await r.dispatcher.dispatchTick(tick('j', T))).executions, []);
  assert.equal(r.f.calls.get('listGroup') ?? 0, 0);
  assert.equal(r.f.calls.get('getLastTick') ?? 0, 0);
  assert.equal((await inner.listSkips('j')).total, 0);
  await inner.close();
});

void test('a failed tick left behind on losing leadership is the next leader\'s: not recorded by this agent later', async () => {
  const r = rig(failFirst('getJob', 'j'));
  await putJob(r.inner, 'j');
  await r.cluster.start();
  await assert.rejects(r.dispatcher.dispatchTick(tick('j', T)));
  await r.cluster.stop();
  // Leading again later (the other leader handled T, e.g. recorded it as missed): the next tick commits.
  await r.cluster.start();
  await r.dispatcher.dispatchTick(tick('j', T1));
  assert.equal((await r.inner.listSkips('j')).total, 0);
  assert.deepEqual(r.skipped, []);
  await r.inner.close();
});

void test('a failed tick later recorded as missed (catch-up policy) is not recorded again by the dispatcher', async () => {
  const r = rig(failFirst('getJob', 'j'));
  await putJob(r.inner, 'j');
  await assert.rejects(r.dispatcher.dispatchTick(tick('j', T)));
  await r.dispatcher.recordMissed({ name: 'j', count: 1, reason: 'catch_up is "skip"', policy: 'skip', ticks: [T], earlier: null });
  await r.dispatcher.dispatchTick(tick('j', T1));
  assert.deepEqual((await skipsOf(r.inner, 'j')).map((s) => [s.at, s.code]), [[at(60), 'catch_up_skip']]);
  assert.equal((await r.inner.getJob('j'))?.skip_count, 1);
  assert.deepEqual(r.skipped, [], 'the missed ticks are published by the scheduler\'s owner, not here');
  await r.inner.close();
});

void test('through the agent: a tick whose commit failed, retried after the next tick committed, is recorded as a skip (not lost)', async () => {
  const inner = SqliteStore.open(':memory:');
  let failedTick: string | null = null;
  const f = faulty<Store>(inner, (m, args) => {
    if (m !== 'commitTick' || args[0] !== 'every' || failedTick !== null) return undefined;
    failedTick = args[1] as string;
    return outage('commitTick');
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-dispatcher-'));
  const config = resolveConfig({ server: true, 'node-name': 'a1', 'http-addr': '127.0.0.1:0', 'data-dir': dataDir }, {});
  // The retry waits longer than the job's interval: the next tick commits first, as under load.
  const agent = new Agent(config, silentLogger(), embeddedBackend(f.store), { dispatchRetryMs: { initial: 1500, max: 1500 } });
  let skipCount = 0;
  const skipped = new Promise<EventMap['tick.skipped']>((resolve) =>
    agent.events.on('tick.skipped', (e) => {
      skipCount++;
      resolve(e);
    }),
  );
  let retried!: () => void;
  const refused = new Promise<void>((resolve) => (retried = resolve));
  try {
    await agent.start();
    await agent.jobs.upsert({ name: 'every', schedule: '@every 1s', executor: 'shell', executor_config: { command: 'true', shell: 'true' } });
    const event = await withTimeout(skipped, 10_000, 'the lost tick to be recorded as a skip');
    assert.equal(event.scheduledAt, failedTick);
    assert.equal(event.kind, 'dispatch_failed');
    // The agent's retry of that tick comes later and is refused by the fence. Seen at its commit (inside the
    // job's lock), so one more dispatch of the tick queued now runs after it: then nothing more may be recorded.
    f.setRule((m, args) => {
      if (m === 'commitTick' && args[0] === 'every' && args[1] === failedTick) retried();
      return undefined;
    });
    await withTimeout(refused, 10_000, 'the agent to retry the failed tick');
    await agent.dispatcher.dispatchTick({ name: 'every', scheduledAt: new Date(failedTick ?? ''), trigger: 'schedule' });
    assert.equal(skipCount, 1, 'one notice for the tick');
    const skips = (await inner.listSkips('every')).items;
    assert.deepEqual(skips.map((s) => [s.scheduled_at, s.code]), [[failedTick, 'dispatch_failed']]);
    assert.equal((await inner.listGroup('every', tickGroup(Date.parse(failedTick ?? '')))).length, 0, 'the failed tick never ran');
    const all = (await inner.listExecutions('every')).items;
    assert.ok(all.length > 0);
    assert.equal(new Set(all.map((e) => e.group)).size, all.length, 'no tick ran twice');
  } finally {
    f.setRule(undefined);
    await agent.stop(); // closes the store
  }
});

async function withTimeout<V>(p: Promise<V>, ms: number, what: string): Promise<V> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
