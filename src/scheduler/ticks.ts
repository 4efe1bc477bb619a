/**
 * The ticks of a schedule from a known tick up to now, without walking
 * millions of steps when an agent was down for a week: `@every` is done
 * arithmetically (its phase comes from the first tick), cron by searching
 * for a window ending at `upTo` that holds the latest ticks.
 */
import type { Schedule } from './schedule.js';

export interface TickSpan {
  /** The latest ticks in [first, upTo], oldest first, at most `cap` of them. */
  ticks: number[];
  /** How many ticks the span holds in all (a lower bound when `exact` is false). */
  total: number;
  exact: boolean;
}

const STEP_LIMIT = 4096;

interface Walk {
  /** The latest `cap` ticks seen, oldest first. */
  ticks: number[];
  count: number;
  /** Ticks seen after `after` (for the lower bound on the total). */
  countAfter: number;
  /** False when STEP_LIMIT ran out before `upTo`. */
  complete: boolean;
}

/** Ticks in [start, upTo], keeping the latest `cap`; at most STEP_LIMIT steps. */
function walk(schedule: Schedule, start: number, upTo: number, cap: number, after: number): Walk {
  const ticks: number[] = [];
  let count = 0;
  let countAfter = 0;
  let t = start - 1;
  for (let i = 0; i < STEP_LIMIT; i++) {
    const n = schedule.next(new Date(t))?.getTime();
    if (n === undefined || n > upTo) return { ticks: ticks.slice(-cap), count, countAfter, complete: true };
    count++;
    if (n > after) countAfter++;
    ticks.push(n);
    if (ticks.length > 2 * cap) ticks.splice(0, ticks.length - cap);
    t = n;
  }
  return { ticks: ticks.slice(-cap), count, countAfter, complete: false };
}

export function ticksFrom(schedule: Schedule, first: number, upTo: number, cap: number): TickSpan {
  if (upTo < first || cap <= 0) return { ticks: [], total: 0, exact: true };
  if (schedule.kind === 'every') {
    const second = schedule.next(new Date(first));
    const interval = second ? second.getTime() - first : Infinity;
    const total = Math.floor((upTo - first) / interval) + 1;
    const take = Math.min(cap, total);
    const ticks: number[] = [];
    for (let k = total - take; k < total; k++) ticks.push(first + k * interval);
    return { ticks, total, exact: true };
  }
  const walked: number[] = [first];
  let t = first;
  for (let i = 0; i < STEP_LIMIT; i++) {
    const n = schedule.next(new Date(t));
    if (!n || n.getTime() > upTo) {
      return { ticks: walked.slice(-cap), total: walked.length, exact: true };
    }
    walked.push(n.getTime());
    t = n.getTime();
  }
  const lastWalked = t;
  // Too many to walk from the start. Cron ticks don't depend on where a walk
  // starts, so search for a window [upTo - width, upTo] holding at least `cap`
  // ticks but few enough to walk: `narrow` holds too few, `wide` too many.
  // The count grows one tick at a time with the width, so the search ends.
  let narrow = 0;
  let wide = upTo - first;
  const meanGap = (lastWalked - first) / (walked.length - 1);
  let width = Math.min(Math.max(1000, Math.ceil(meanGap * cap * 2)), Math.floor(wide / 2));
  for (;;) {
    const w = walk(schedule, upTo - width, upTo, cap, lastWalked);
    if (!w.complete) wide = width;
    else if (w.count < cap) narrow = width;
    else return { ticks: w.ticks, total: walked.length + w.countAfter, exact: false };
    // Widen fast while only `narrow` moved, then bisect.
    const next = w.complete ? Math.min(width * 2, Math.floor((width + wide) / 2)) : Math.floor((narrow + wide) / 2);
    if (next <= narrow || next >= wide) {
      // Unreachable for a real schedule (ticks are distinct instants); never loop on a broken one.
      return { ticks: walked.slice(-cap), total: walked.length, exact: false };
    }
    width = next;
  }
}
