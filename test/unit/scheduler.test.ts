/**
 * The scheduler's decisions (which ticks fire, in what order, with which
 * trigger) under an injected clock. The timer itself is a real setTimeout:
 * jobs are given due times at or before the injected "now", so it fires with
 * a zero delay, and tests wait for the resulting onTick/onMissed events. One
 * test uses the real clock with a 25 ms interval to cover the re-arming path.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MinHeap, type HeapNode } from '../../src/scheduler/heap.js';
import { parseSchedule, type Schedule } from '../../src/scheduler/schedule.js';
import { Scheduler, type MissedEvent, type ScheduledJob, type SchedulerOptions, type TickEvent } from '../../src/scheduler/scheduler.js';
import { ticksFrom } from '../../src/scheduler/ticks.js';
import { toScheduledJob } from '../../src/scheduler/job-entry.js';
import type { CatchUpPolicy } from '../../src/job/types.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
// A fixed "now" on a whole minute, so cron ticks line up with it.
const T0 = Date.parse('2026-06-15T12:00:00.000Z');

function sched(spec: string): Schedule {
  return parseSchedule(spec, { timezone: 'UTC' });
}

/** Wraps a schedule to count next() calls: "bounded work" without timing assertions. */
function counting(inner: Schedule): Schedule & { calls: number } {
  const s = {
    calls: 0,
    kind: inner.kind,
    next(after: Date): Date | null {
      s.calls++;
      return inner.next(after);
    },
  };
  return s;
}

function job(name: string, schedule: Schedule, anchor: number, catchUp: CatchUpPolicy = 'latest', startingDeadlineMs: number | null = null): ScheduledJob {
  return { name, schedule, anchor, catchUp, startingDeadlineMs };
}

interface Harness {
  scheduler: Scheduler;
  ticks: TickEvent[];
  missed: MissedEvent[];
  clock: { now: number };
  /** Resolves once `pred` holds after an event (bounded, so a bug fails instead of hanging). */
  until(what: string, pred: () => boolean, timeoutMs?: number): Promise<void>;
}

// A started scheduler keeps a timer armed: stop every one, even when a test fails.
const live: Scheduler[] = [];
afterEach(() => {
  for (const s of live.splice(0)) s.stop();
});

function harness(options: Partial<SchedulerOptions> = {}): Harness {
  const ticks: TickEvent[] = [];
  const missed: MissedEvent[] = [];
  const clock = { now: T0 };
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const w of [...waiters]) w();
  };
  const scheduler = new Scheduler({
    now: () => clock.now,
    onTick: (t) => {
      ticks.push(t);
      notify();
    },
    onMissed: (m) => {
      missed.push(m);
      notify();
    },
    ...options,
  });
  live.push(scheduler);
  const until = (what: string, pred: () => boolean, timeoutMs = 5000): Promise<void> =>
    new Promise((resolve, reject) => {
      if (pred()) return resolve();
      const check = (): void => {
        if (!pred()) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; ticks=${ticks.length} missed=${JSON.stringify(missed)}`));
      }, timeoutMs);
      waiters.add(check);
    });
  return { scheduler, ticks, missed, clock, until };
}

const iso = (ms: number): string => new Date(ms).toISOString();
const times = (ticks: TickEvent[]): string[] => ticks.map((t) => t.scheduledAt.toISOString());

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('MinHeap', () => {
  test('pops in due order whatever the push order, and reports size/peek', () => {
    const heap = new MinHeap();
    assert.equal(heap.pop(), undefined);
    assert.equal(heap.peek(), undefined);
    // Deterministic pseudo-random dues with many duplicates.
    let seed = 42;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 500;
    const dues = Array.from({ length: 2000 }, rnd);
    dues.forEach((due, i) => heap.push({ due, name: `j${i}`, version: i }));
    assert.equal(heap.size, 2000);
    assert.equal(heap.peek()?.due, Math.min(...dues));
    const out: number[] = [];
    for (let n = heap.pop(); n; n = heap.pop()) out.push(n.due);
    assert.deepEqual(out, [...dues].sort((a, b) => a - b));
    assert.equal(heap.size, 0);
  });

  test('interleaved push and pop match a sorted model; clear empties it', () => {
    const heap = new MinHeap();
    const model: number[] = [];
    let seed = 7;
    const rnd = (): number => (seed = (seed * 48271) % 2147483647);
    for (let i = 0; i < 3000; i++) {
      if (rnd() % 3 === 0 && model.length > 0) {
        model.sort((a, b) => a - b);
        assert.equal((heap.pop() as HeapNode).due, model.shift());
      } else {
        const due = rnd() % 10_000;
        heap.push({ due, name: String(i), version: 0 });
        model.push(due);
      }
      assert.equal(heap.size, model.length);
    }
    heap.clear();
    assert.equal(heap.size, 0);
    assert.equal(heap.peek(), undefined);
  });
});

describe('ticksFrom', () => {
  test('empty when the span is empty or the cap is zero', () => {
    assert.deepEqual(ticksFrom(sched('@every 1s'), T0, T0 - 1, 10), { ticks: [], total: 0, exact: true });
    assert.deepEqual(ticksFrom(sched('0 * * * * *'), T0, T0 + HOUR, 0), { ticks: [], total: 0, exact: true });
  });

  test('@every: arithmetic, phase from the first tick, upTo inclusive, latest `cap` kept', () => {
    const first = T0 + 250;
    const all = ticksFrom(sched('@every 10s'), first, first + 50 * SEC, 100);
    assert.deepEqual(all, { ticks: [0, 1, 2, 3, 4, 5].map((k) => first + k * 10 * SEC), total: 6, exact: true });
    const capped = ticksFrom(sched('@every 10s'), first, first + 50 * SEC - 1, 2);
    assert.deepEqual(capped, { ticks: [first + 30 * SEC, first + 40 * SEC], total: 5, exact: true });
  });

  test('@every 1s over a week: exact total, bounded work', () => {
    const s = counting(sched('@every 1s'));
    const span = ticksFrom(s, T0, T0 + 7 * DAY, 3);
    assert.equal(span.total, 7 * 86_400 + 1);
    assert.equal(span.exact, true);
    assert.deepEqual(span.ticks, [T0 + 7 * DAY - 2 * SEC, T0 + 7 * DAY - SEC, T0 + 7 * DAY]);
    assert.ok(s.calls < 10, `next() called ${s.calls} times`);
  });

  test('cron over a short span is walked exactly', () => {
    const span = ticksFrom(sched('0 */15 * * * *'), T0, T0 + 2 * HOUR, 100);
    assert.equal(span.exact, true);
    assert.equal(span.total, 9);
    assert.deepEqual(span.ticks, Array.from({ length: 9 }, (_, k) => T0 + k * 15 * MIN));
    assert.deepEqual(ticksFrom(sched('0 */15 * * * *'), T0, T0 + 2 * HOUR, 2).ticks, [T0 + 105 * MIN, T0 + 2 * HOUR]);
  });

  test('an @at schedule has only its one tick', () => {
    const s = sched(`@at ${iso(T0)}`);
    assert.deepEqual(ticksFrom(s, T0, T0 + DAY, 5), { ticks: [T0], total: 1, exact: true });
  });

  /** Every tick in [first, upTo] the slow way, to check the fast path against. */
  function bruteForce(s: Schedule, first: number, upTo: number): number[] {
    const out = [first];
    for (let t = s.next(new Date(first)); t && t.getTime() <= upTo; t = s.next(t)) out.push(t.getTime());
    return out;
  }

  for (const [spec, days] of [
    ['0 * * * * *', 30],
    ['*/10 * 9 * * 1-5', 30],
    ['*/30 * 9-10 * * 1-5', 30],
  ] as const) {
    test(`cron "${spec}" over ${days} days: exactly the latest ticks, bounded work`, () => {
      const s = sched(spec);
      const first = (s.next(new Date(T0 - days * DAY)) as Date).getTime();
      const upTo = T0 + 30 * SEC;
      const expected = bruteForce(s, first, upTo);
      assert.ok(expected.length > 4096, `the span must be too long to walk (has ${expected.length})`);
      const c = counting(s);
      const span = ticksFrom(c, first, upTo, 100);
      assert.deepEqual(span.ticks.map(iso), expected.slice(-100).map(iso));
      assert.equal(span.exact, false);
      assert.ok(span.total > 4096 && span.total <= expected.length, `total ${span.total} is a lower bound of ${expected.length}`);
      // One bounded walk plus a few searches, however long the span.
      assert.ok(c.calls <= 2 * 4096, `next() called ${c.calls} times for ${expected.length} ticks`);
    });
  }
});

describe('Scheduler', () => {
  test('many jobs fire in due order from one heap', async () => {
    const h = harness({ lateGraceMs: HOUR });
    const n = 500;
    let seed = 3;
    const dues = Array.from({ length: n }, () => T0 - 1 - ((seed = (seed * 48271) % 2147483647) % (30 * MIN)));
    dues.forEach((due, i) => h.scheduler.set(job(`job-${i}`, sched(`@at ${iso(due)}`), due - 1)));
    assert.equal(h.scheduler.size, n);
    assert.equal(h.scheduler.nextRun('job-0')?.getTime(), dues[0]);
    h.scheduler.start();
    await h.until(`${n} ticks`, () => h.ticks.length >= n);
    h.scheduler.stop();
    assert.equal(h.ticks.length, n);
    const fired = h.ticks.map((t) => t.scheduledAt.getTime());
    assert.deepEqual(fired, [...dues].sort((a, b) => a - b));
    assert.deepEqual(new Set(h.ticks.map((t) => t.name)).size, n);
    assert.ok(h.ticks.every((t) => t.trigger === 'schedule'));
  });

  test('with a lead, a job fires that long before its tick, carrying the tick; a job without `ahead` fires on it', async () => {
    const h = harness({ leadMs: 500 });
    // Both tick at T0 + 400: inside the lead of "early", ahead of "onTick".
    h.scheduler.set({ ...job('early', sched('@every 1s'), T0 - 600), ahead: true });
    h.scheduler.set({ ...job('onTick', sched('@every 1s'), T0 - 600), ahead: false });
    assert.equal(h.scheduler.nextRun('early')?.getTime(), T0 + 400, 'next is the tick, not the firing');
    h.scheduler.start();
    await h.until('the early tick', () => h.ticks.length >= 1);
    assert.deepEqual(h.ticks.map((t) => [t.name, t.scheduledAt.getTime() - T0, t.trigger]), [['early', 400, 'schedule']]);
    assert.equal(h.scheduler.nextRun('early')?.getTime(), T0 + 1400);
    h.clock.now = T0 + 400;
    await h.until('the tick of the job without lead', () => h.ticks.length >= 2);
    h.scheduler.stop();
    assert.deepEqual(h.ticks.map((t) => [t.name, t.scheduledAt.getTime() - T0]), [['early', 400], ['onTick', 400]]);
    assert.deepEqual(h.missed, []);
  });

  test('with batchMs, jobs dispatched ahead whose firing falls within it fire together, each with its own tick; a job without `ahead` is never fired early', async () => {
    const h = harness({ leadMs: 500, batchMs: 50 });
    // Firing times (tick − lead) T0, T0 + 30 and T0 + 60; the job without `ahead` fires on its tick, T0 + 40.
    h.scheduler.set({ ...job('a', sched('@every 1s'), T0 - 500), ahead: true });
    h.scheduler.set({ ...job('b', sched('@every 1s'), T0 - 470), ahead: true });
    h.scheduler.set({ ...job('c', sched('@every 1s'), T0 - 440), ahead: true });
    h.scheduler.set({ ...job('d', sched('@every 1s'), T0 - 960), ahead: false });
    h.scheduler.start();
    await h.until('the first batch', () => h.ticks.length >= 2);
    // Let the timer run again: at T0 nothing else may fire (d is due later; c is behind it).
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(h.ticks.map((t) => [t.name, t.scheduledAt.getTime() - T0]), [['a', 500], ['b', 530]]);
    h.clock.now = T0 + 40;
    await h.until('d on its tick, and c with it', () => h.ticks.length >= 4);
    h.scheduler.stop();
    assert.deepEqual(h.ticks.slice(2).map((t) => [t.name, t.scheduledAt.getTime() - T0]), [['d', 40], ['c', 560]]);
    assert.deepEqual(h.missed, []);
    assert.equal(h.scheduler.nextRun('b')?.getTime(), T0 + 1530);
  });

  test('one timer for many jobs, not one per job', () => {
    const before = activeTimers();
    const h = harness();
    for (let i = 0; i < 1000; i++) h.scheduler.set(job(`j${i}`, sched('@every 1h'), T0 - i * SEC));
    h.scheduler.start();
    assert.equal(activeTimers() - before, 1);
    // Adding jobs while running (earlier and later than the armed one) still keeps one timer.
    h.scheduler.set(job('earliest', sched('@every 1m'), T0));
    h.scheduler.set(job('latest', sched('@every 24h'), T0));
    assert.equal(activeTimers() - before, 1);
    h.scheduler.stop();
    assert.equal(activeTimers(), before);
  });

  test('set replaces an entry: the old due time never fires', async () => {
    const h = harness();
    h.scheduler.set(job('a', sched('@every 1m'), T0 - 90 * SEC));
    assert.equal(h.scheduler.nextRun('a')?.getTime(), T0 - 30 * SEC);
    h.scheduler.set(job('a', sched('@every 1h'), T0));
    assert.equal(h.scheduler.size, 1);
    assert.equal(h.scheduler.nextRun('a')?.getTime(), T0 + HOUR);
    // A later-due job: its tick proves the stale node of `a` (earlier) was popped and skipped.
    h.scheduler.set(job('b', sched('@every 1m'), T0 - 61 * SEC));
    h.scheduler.start();
    await h.until('the tick of b', () => h.ticks.length > 0);
    h.scheduler.stop();
    assert.deepEqual(h.ticks.map((t) => t.name), ['b']);
    assert.equal(h.scheduler.nextRun('a')?.getTime(), T0 + HOUR);
  });

  test('remove drops a job: it does not fire and is gone', async () => {
    const h = harness();
    h.scheduler.set(job('gone', sched('@every 1m'), T0 - 62 * SEC));
    h.scheduler.set(job('kept', sched('@every 1m'), T0 - 61 * SEC));
    h.scheduler.remove('gone');
    assert.equal(h.scheduler.has('gone'), false);
    assert.equal(h.scheduler.nextRun('gone'), null);
    assert.equal(h.scheduler.size, 1);
    h.scheduler.start();
    await h.until('the tick of kept', () => h.ticks.length > 0);
    h.scheduler.stop();
    assert.deepEqual(h.ticks.map((t) => t.name), ['kept']);
  });

  test('@every keeps its phase from the anchor', async () => {
    const h = harness();
    const anchor = T0 - 10 * SEC - 250;
    h.scheduler.set(job('phase', sched('@every 1s'), anchor));
    assert.equal(h.scheduler.nextRun('phase')?.getTime(), anchor + SEC);
    h.scheduler.start();
    await h.until('a tick', () => h.ticks.length > 0);
    h.scheduler.stop();
    // The latest tick at or before now is T0 - 250 ms: within the grace, so on time.
    assert.deepEqual(h.ticks.map((t) => [t.scheduledAt.getTime(), t.trigger]), [[T0 - 250, 'schedule']]);
    assert.equal(h.scheduler.nextRun('phase')?.getTime(), T0 + 750);
  });

  test('with the real clock, ticks arrive in sequence on the anchor phase', async () => {
    const interval = 25;
    // A custom schedule: the Schedule interface is all the scheduler needs, and @every's floor is 1s.
    const fast: Schedule = { kind: 'every', next: (after) => new Date(after.getTime() + interval) };
    const h = harness({ now: Date.now, lateGraceMs: 10 * SEC });
    const anchor = Date.now() + 3;
    h.scheduler.set(job('fast', fast, anchor));
    h.scheduler.start();
    await h.until('5 real-time ticks', () => h.ticks.length >= 5);
    h.scheduler.stop();
    const at = h.ticks.map((t) => t.scheduledAt.getTime());
    // Consecutive ticks, whatever the timer's lateness: no tick skipped, none repeated.
    at.slice(0, 5).forEach((t, k) => assert.equal(t, anchor + (k + 1) * interval));
    assert.ok(h.ticks.every((t) => t.trigger === 'schedule'));
  });

  describe('catch-up after a gap', () => {
    // @every 1m, last done tick 60m30s ago: 60 ticks missed, the latest 30 s ago.
    const gapJob = (policy: CatchUpPolicy, deadline: number | null = null): ScheduledJob =>
      job('gap', sched('@every 1m'), T0 - 60 * MIN - 30 * SEC, policy, deadline);
    const missedTicks = Array.from({ length: 60 }, (_, k) => T0 - 30 * SEC - (59 - k) * MIN);

    test('latest: the latest missed tick fires once, as a catch-up', async () => {
      const h = harness();
      h.scheduler.set(gapJob('latest'));
      h.scheduler.start();
      await h.until('the catch-up tick', () => h.ticks.length > 0);
      h.scheduler.stop();
      assert.deepEqual(h.ticks.map((t) => [iso(t.scheduledAt.getTime()), t.trigger]), [[iso(T0 - 30 * SEC), 'catchup']]);
      assert.deepEqual(h.missed.map((m) => m.count), [59]);
      assert.equal(h.scheduler.nextRun('gap')?.getTime(), T0 + 30 * SEC);
    });

    test('skip: nothing fires and onMissed reports the count', async () => {
      const h = harness();
      h.scheduler.set(gapJob('skip'));
      h.scheduler.start();
      await h.until('the missed report', () => h.missed.length > 0);
      h.scheduler.stop();
      assert.deepEqual(h.ticks, []);
      assert.equal(h.missed.length, 1);
      assert.equal(h.missed[0]?.count, 60);
      assert.match(h.missed[0]?.reason ?? '', /skip/);
      assert.equal(h.scheduler.nextRun('gap')?.getTime(), T0 + 30 * SEC);
    });

    test('all: every missed tick in order when under the cap', async () => {
      const h = harness({ maxCatchUp: 100 });
      h.scheduler.set(gapJob('all'));
      h.scheduler.start();
      await h.until('60 catch-up ticks', () => h.ticks.length >= 60);
      h.scheduler.stop();
      assert.deepEqual(times(h.ticks), missedTicks.map(iso));
      assert.ok(h.ticks.every((t) => t.trigger === 'catchup'));
      assert.deepEqual(h.missed, []);
    });

    test('all: capped at maxCatchUp, keeping the latest', async () => {
      const h = harness({ maxCatchUp: 10 });
      h.scheduler.set(gapJob('all'));
      h.scheduler.start();
      await h.until('10 catch-up ticks', () => h.ticks.length >= 10);
      h.scheduler.stop();
      assert.deepEqual(times(h.ticks), missedTicks.slice(-10).map(iso));
      assert.deepEqual(h.missed.map((m) => m.count), [50]);
      assert.match(h.missed[0]?.reason ?? '', /more than 10/);
    });

    test('all with a starting deadline: older ticks are dropped', async () => {
      const h = harness();
      h.scheduler.set(gapJob('all', 5 * MIN));
      h.scheduler.start();
      await h.until('the missed report', () => h.missed.length > 0);
      h.scheduler.stop();
      // Ticks 30 s, 1m30 s ... 4m30 s old are within 5 minutes.
      assert.deepEqual(times(h.ticks), missedTicks.slice(-5).map(iso));
      assert.deepEqual(h.missed.map((m) => [m.count, m.reason]), [[55, 'older than starting_deadline']]);
    });

    test('latest with a deadline shorter than the latest miss: nothing fires', async () => {
      const h = harness();
      h.scheduler.set(gapJob('latest', 10 * SEC));
      h.scheduler.start();
      await h.until('the missed report', () => h.missed.length > 0);
      h.scheduler.stop();
      assert.deepEqual(h.ticks, []);
      assert.deepEqual(h.missed.map((m) => [m.count, m.reason]), [[60, 'older than starting_deadline']]);
    });

    test('an on-time tick fires normally and the missed ones are reported', async () => {
      const h = harness();
      // Latest tick exactly at now: on time, so `latest` needs no extra catch-up run.
      h.scheduler.set(job('ontime', sched('@every 1m'), T0 - 10 * MIN));
      h.scheduler.start();
      await h.until('the tick', () => h.ticks.length > 0);
      h.scheduler.stop();
      assert.deepEqual(h.ticks.map((t) => [t.scheduledAt.getTime(), t.trigger]), [[T0, 'schedule']]);
      assert.deepEqual(h.missed.map((m) => m.count), [9]);
    });
  });

  describe('long gaps stay cheap', () => {
    test('@every 1s down for a week: one catch-up, the rest counted, bounded work', async () => {
      const h = harness({ lateGraceMs: 100 });
      h.clock.now = T0 + 400;
      const s = counting(sched('@every 1s'));
      h.scheduler.set(job('week', s, T0 - 7 * DAY, 'latest'));
      h.scheduler.start();
      await h.until('the catch-up tick', () => h.ticks.length > 0);
      h.scheduler.stop();
      assert.deepEqual(h.ticks.map((t) => [t.scheduledAt.getTime(), t.trigger]), [[T0, 'catchup']]);
      assert.deepEqual(h.missed.map((m) => m.count), [7 * 86_400 - 1]);
      assert.equal(h.scheduler.nextRun('week')?.getTime(), T0 + SEC);
      assert.ok(s.calls < 10, `next() called ${s.calls} times`);
    });

    test('"0 * * * * *" down for 30 days with all, capped at 100: exactly the latest 100', async () => {
      const h = harness({ maxCatchUp: 100 });
      h.clock.now = T0 + 30 * SEC;
      const s = counting(sched('0 * * * * *'));
      h.scheduler.set(job('month', s, T0 - 30 * DAY, 'all'));
      h.scheduler.start();
      await h.until('100 catch-up ticks', () => h.ticks.length >= 100);
      h.scheduler.stop();
      // onTick runs synchronously inside the timer callback, so everything this firing emits is in.
      assert.equal(h.ticks.length, 100);
      assert.deepEqual(times(h.ticks), Array.from({ length: 100 }, (_, k) => iso(T0 - (99 - k) * MIN)));
      assert.ok(h.ticks.every((t) => t.trigger === 'catchup'));
      assert.equal(h.missed.length, 1);
      const dropped = h.missed[0]?.count ?? 0;
      // 43,200 ticks were missed; the report is a lower bound when the span is too long to count.
      assert.ok(dropped > 3000 && dropped <= 30 * 24 * 60 - 100, `dropped ${dropped}`);
      assert.equal(h.scheduler.nextRun('month')?.getTime(), T0 + MIN);
      assert.ok(s.calls <= 2 * 4096, `next() called ${s.calls} times for 43,200 missed ticks`);
    });
  });
});

describe("a job's end (expires_at)", () => {
  // An @every 1s job whose window ended 60 s ago; its last committed tick is the window's last.
  const end = T0 - 60 * SEC;
  const timing = (catchUp: CatchUpPolicy): Parameters<typeof toScheduledJob>[0] => ({
    name: 'windowed',
    schedule: '@every 1s',
    timezone: '',
    disabled: false,
    parent_job: '',
    concurrency: 'allow',
    starts_at: null,
    expires_at: iso(end),
    catch_up: catchUp,
    starting_deadline: '',
    updated_at: iso(end - HOUR),
  });

  test('a leader loading an expired job fires nothing and reports no missed ticks (instants past the end are not ticks)', async () => {
    const h = harness();
    const entry = toScheduledJob(timing('latest'), iso(end));
    assert.ok(entry);
    h.scheduler.set(entry);
    h.scheduler.start();
    // A job due now, set after the expired one, fires: once it has, the expired one had its chance too.
    h.scheduler.set(job('probe', sched('@every 1m'), T0 - MIN));
    await h.until('the probe tick', () => h.ticks.length > 0);
    h.scheduler.stop();
    assert.deepEqual(times(h.ticks), [iso(T0)]);
    assert.deepEqual(h.missed, []);
    assert.equal(h.scheduler.nextRun('windowed'), null);
  });

  test('a gap across the end: only the ticks up to the end are missed or caught up', async () => {
    for (const policy of ['latest', 'skip', 'all'] as const) {
      const h = harness();
      // Last committed tick 10 s before the end: ticks end-9s .. end (10 of them) were missed.
      const entry = toScheduledJob(timing(policy), iso(end - 10 * SEC));
      assert.ok(entry);
      h.scheduler.set(entry);
      h.scheduler.start();
      await h.until(`the gap (${policy})`, () => h.missed.length + h.ticks.length > 0);
      h.scheduler.stop();
      const reported = h.missed.reduce((n, m) => n + m.count, 0);
      assert.equal(reported + h.ticks.length, 10, `${policy}: ${reported} missed and ${h.ticks.length} fired`);
      assert.ok([...h.ticks.map((t) => t.scheduledAt.getTime()), ...h.missed.flatMap((m) => m.ticks)].every((t) => t <= end), `${policy}: nothing past the end`);
      assert.equal(h.scheduler.nextRun('windowed'), null);
    }
  });

  test('a running job stops at its end: the last tick is the one at expires_at', async () => {
    const h = harness({ lateGraceMs: 100 });
    h.clock.now = end;
    const entry = toScheduledJob(timing('latest'), iso(end - SEC));
    assert.ok(entry);
    h.scheduler.set(entry);
    h.scheduler.start();
    await h.until('the last tick', () => h.ticks.length > 0);
    h.scheduler.stop();
    assert.deepEqual(h.ticks.map((t) => [iso(t.scheduledAt.getTime()), t.trigger]), [[iso(end), 'schedule']]);
    assert.equal(h.scheduler.nextRun('windowed'), null);
  });
});
