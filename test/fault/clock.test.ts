/**
 * Wall-clock jumps under the scheduler. The scheduler reads the wall clock
 * through its injected `now`, while its one timer is a setTimeout, which runs
 * on the monotonic clock: exactly the split a real NTP step or VM resume
 * produces. Here setTimeout is node:test's mock timer (advanced in 200 ms
 * steps, together with the injected wall clock) and a "jump" moves only the
 * wall clock. For `@every` and cron jobs under each `catch_up` policy:
 *   - no tick is emitted twice, ticks come in order and lie on the schedule;
 *   - every tick up to the scheduler's next due time is either emitted or
 *     reported missed (nothing disappears silently);
 *   - what is caught up after a forward jump is exactly what the policy says;
 *   - a backward jump loses nothing and repeats nothing (the scheduler waits
 *     for the wall clock to come back to its last tick).
 * Whole-system exactly-once across leaders is the store's job (commitTick);
 * these tests pin the scheduler's own decisions.
 */
import { afterEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSchedule, type Schedule } from '../../src/scheduler/schedule.js';
import { Scheduler, type MissedEvent, type TickEvent } from '../../src/scheduler/scheduler.js';
import type { CatchUpPolicy } from '../../src/job/types.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
// A whole hour, so `*/30 * * * * *` and `0 30 12 * * *` line up with it.
const T0 = Date.parse('2026-06-15T12:00:00.000Z');
const STEP = 200;
const POLICIES: CatchUpPolicy[] = ['all', 'latest', 'skip'];

const iso = (ms: number): string => new Date(ms).toISOString();

interface Sim {
  scheduler: Scheduler;
  schedule: Schedule;
  ticks: TickEvent[];
  missed: MissedEvent[];
  /** The injected wall clock (ms). */
  wall(): number;
  /** Let `ms` of real (monotonic) time pass: wall clock and timers together, in small steps. */
  run(ms: number): void;
  /** Step the wall clock only (NTP step, VM resume); timers don't notice. */
  jump(ms: number): void;
}

const live: Scheduler[] = [];
afterEach(() => {
  for (const s of live.splice(0)) s.stop();
  mock.timers.reset();
});

function sim(spec: string, policy: CatchUpPolicy): Sim {
  mock.timers.enable({ apis: ['setTimeout'] });
  let wall = T0;
  const ticks: TickEvent[] = [];
  const missed: MissedEvent[] = [];
  const schedule = parseSchedule(spec, { timezone: 'UTC' });
  const scheduler = new Scheduler({ now: () => wall, onTick: (t) => void ticks.push(t), onMissed: (m) => void missed.push(m) });
  live.push(scheduler);
  scheduler.set({ name: 'j', schedule, anchor: T0, catchUp: policy, startingDeadlineMs: null });
  scheduler.start();
  return {
    scheduler,
    schedule,
    ticks,
    missed,
    wall: () => wall,
    run(ms: number) {
      for (let done = 0; done < ms; done += STEP) {
        const d = Math.min(STEP, ms - done);
        wall += d;
        mock.timers.tick(d);
      }
    },
    jump(ms: number) {
      wall += ms;
    },
  };
}

/** The schedule's ticks in (from, to). */
function grid(schedule: Schedule, from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = schedule.next(new Date(from)); t && t.getTime() < to; t = schedule.next(t)) out.push(t.getTime());
  return out;
}

/** The invariants that hold whatever the jump and the policy. */
function checkInvariants(s: Sim): void {
  const at = s.ticks.map((t) => t.scheduledAt.getTime());
  assert.equal(new Set(at).size, at.length, `a tick was emitted twice: ${at.map(iso).join(', ')}`);
  for (let k = 1; k < at.length; k++) assert.ok((at[k] as number) > (at[k - 1] as number), `ticks out of order at ${iso(at[k] as number)}`);
  const next = s.scheduler.nextRun('j')?.getTime() ?? Infinity;
  const decided = grid(s.schedule, T0, next);
  const onGrid = new Set(decided);
  for (const t of at) assert.ok(onGrid.has(t), `tick ${iso(t)} is not on the schedule`);
  const reported = s.missed.reduce((n, m) => n + m.count, 0);
  assert.equal(at.length + reported, decided.length, `every tick before ${iso(next)} is run or reported missed`);
}

const catchups = (s: Sim): string[] => s.ticks.filter((t) => t.trigger === 'catchup').map((t) => iso(t.scheduledAt.getTime()));
const onTime = (s: Sim): string[] => s.ticks.filter((t) => t.trigger === 'schedule').map((t) => iso(t.scheduledAt.getTime()));
const missedCount = (s: Sim): number => s.missed.reduce((n, m) => n + m.count, 0);
const range = (from: number, to: number, step: number): string[] => {
  const out: string[] = [];
  for (let t = from; t <= to; t += step) out.push(iso(T0 + t));
  return out;
};

describe('clock jumps forward (+1 h)', () => {
  for (const policy of POLICIES) {
    test(`@every 10s, catch_up ${policy}`, () => {
      const s = sim('@every 10s', policy);
      s.run(60 * SEC);
      assert.deepEqual(onTime(s), range(10 * SEC, 60 * SEC, 10 * SEC));
      // The timer is armed for T0+70s; the wall clock jumps to T0+1h1m, so it fires at T0+1h1m10s:
      // ticks T0+70s .. T0+1h1m0s (360) are missed, T0+1h1m10s is on time.
      s.jump(HOUR);
      s.run(60 * SEC);
      checkInvariants(s);
      const afterJump = range(HOUR + 70 * SEC, HOUR + 120 * SEC, 10 * SEC);
      assert.deepEqual(onTime(s), [...range(10 * SEC, 60 * SEC, 10 * SEC), ...afterJump]);
      if (policy === 'all') {
        // The latest 100 missed ticks (the cap), oldest first, before the on-time one.
        assert.deepEqual(catchups(s), range(HOUR + 70 * SEC - 100 * 10 * SEC, HOUR + 60 * SEC, 10 * SEC));
        assert.equal(missedCount(s), 260);
      } else {
        // latest: an on-time tick is due in the same firing, so no extra run; skip: never.
        assert.deepEqual(catchups(s), []);
        assert.equal(missedCount(s), 360);
      }
    });

    test(`cron */30 * * * * *, catch_up ${policy}`, () => {
      const s = sim('*/30 * * * * *', policy);
      s.run(60 * SEC);
      s.jump(HOUR);
      s.run(60 * SEC);
      checkInvariants(s);
      // Armed for T0+90s, fires at wall T0+1h1m30s: 120 missed, T0+1h1m30s on time.
      assert.deepEqual(onTime(s), [...range(30 * SEC, 60 * SEC, 30 * SEC), ...range(HOUR + 90 * SEC, HOUR + 120 * SEC, 30 * SEC)]);
      if (policy === 'all') {
        assert.deepEqual(catchups(s), range(HOUR + 90 * SEC - 100 * 30 * SEC, HOUR + 60 * SEC, 30 * SEC));
        assert.equal(missedCount(s), 20);
      } else {
        assert.deepEqual(catchups(s), []);
        assert.equal(missedCount(s), 120);
      }
    });

    test(`daily cron 0 30 12 * * * jumped over while its timer waits, catch_up ${policy}`, () => {
      // Due 30 min after T0; the timer waits at most a minute, so the jump is noticed within one.
      const s = sim('0 30 12 * * *', policy);
      s.run(10 * SEC);
      s.jump(HOUR);
      s.run(2 * MIN);
      checkInvariants(s);
      assert.deepEqual(onTime(s), []);
      if (policy === 'skip') {
        assert.deepEqual(catchups(s), []);
        assert.deepEqual(s.missed.map((m) => m.count), [1]);
      } else {
        assert.deepEqual(catchups(s), [iso(T0 + 30 * MIN)]);
        assert.deepEqual(s.missed, []);
      }
      assert.equal(s.scheduler.nextRun('j')?.getTime(), T0 + 30 * MIN + 24 * HOUR);
    });
  }
});

describe('clock jumps back (-10 min)', () => {
  for (const policy of POLICIES) {
    for (const [spec, every] of [['@every 10s', 10 * SEC], ['*/30 * * * * *', 30 * SEC]] as const) {
      test(`${spec}, catch_up ${policy}: nothing repeated, nothing lost`, () => {
        const s = sim(spec, policy);
        s.run(60 * SEC);
        const before = s.ticks.length;
        assert.ok(before >= 2);
        s.jump(-10 * MIN);
        // The wall clock is 10 minutes behind the last tick: nothing may fire until it catches up.
        s.run(10 * MIN);
        assert.equal(s.ticks.length, before, 'no tick while the wall clock replays time already scheduled');
        s.run(2 * MIN);
        checkInvariants(s);
        // Wall clock now T0+3m: every tick in (T0, T0+3m] ran once, on time, none missed.
        assert.deepEqual(onTime(s), range(every, 3 * MIN, every));
        assert.deepEqual(catchups(s), []);
        assert.deepEqual(s.missed, []);
      });
    }
  }

  test('back then forward again within one timer wait: each tick once', () => {
    const s = sim('@every 10s', 'all');
    s.run(35 * SEC);
    s.jump(-10 * MIN);
    s.run(3 * SEC);
    s.jump(10 * MIN);
    s.run(60 * SEC);
    checkInvariants(s);
    assert.deepEqual(onTime(s), range(10 * SEC, 90 * SEC, 10 * SEC));
    assert.deepEqual(s.missed, []);
  });
});
