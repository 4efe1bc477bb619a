/**
 * The run window of a fan-in job (`depends_on`): the parents' successes that count together.
 *
 * - A job without a schedule: the window is the parents' scheduled tick itself. Parents on the
 *   same schedule (or downstream of the same root) share ticks, so their runs for one tick meet.
 * - A job with a cron schedule: the window is [a tick of that schedule, the next one), and a
 *   parent run belongs to the window its scheduled time falls in (`0 0 * * *` in a time zone:
 *   "today" there, DST aware since the ticks are the schedule's own).
 * - `@every D`: windows of D aligned to the Unix epoch. `@at`/`@manually` draw no windows.
 *
 * The window's start is its key: a fan-in job's executions carry it as `scheduled_at`, and the
 * tick fence stores it, so one window runs at most once.
 */
import { parseSchedule, type Schedule } from './schedule.js';

/** How far back a window's start is looked for; an older one is not a window. */
const MAX_LOOKBACK_MS = 400 * 24 * 3600_000;

export interface WindowedJob {
  name: string;
  schedule: string;
  timezone: string;
}

/** The start of the window that a parent run scheduled at `t` (ms) belongs to. */
export function windowStart(job: WindowedJob, t: number): number {
  if (job.schedule === '') return t;
  let s: Schedule;
  try {
    s = parseSchedule(job.schedule, { timezone: job.timezone, jobName: job.name });
  } catch {
    return t; // validated at save; a stored job that no longer parses keeps the tick
  }
  if (s.kind === 'every') {
    const step = (s.next(new Date(0)) as Date).getTime();
    return Math.floor(t / step) * step;
  }
  if (s.kind !== 'cron') return t;
  return floorTick(s, t) ?? t;
}

/** The last fire instant of `s` at or before `t`, or null within the lookback. */
function floorTick(s: Schedule, t: number): number | null {
  for (let back = 60_000; back <= MAX_LOOKBACK_MS * 2; back *= 2) {
    const first = s.next(new Date(t - back - 1));
    if (first === null) return null;
    if (first.getTime() > t) continue;
    // Walk forward to the last tick ≤ t; the doubling keeps this to about twice the ticks in `back`.
    let cur = first.getTime();
    for (;;) {
      const nx = s.next(new Date(cur));
      if (nx === null || nx.getTime() > t) return cur;
      cur = nx.getTime();
    }
  }
  return null;
}
