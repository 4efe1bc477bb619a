/**
 * The ticks of a schedule from a known tick up to now, without walking
 * millions of steps when an agent was down for a week: `@every` is done
 * arithmetically (its phase comes from the first tick), cron by widening a
 * window back from `upTo` until enough ticks are found.
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
  // Too many to walk: look back from upTo in a widening window (cron ticks don't depend on where we start).
  let width = Math.max(1000, upTo - (walked[walked.length - cap] ?? first));
  for (;;) {
    const start = Math.max(first, upTo - width);
    const found: number[] = [];
    let u = start - 1;
    for (let i = 0; i < STEP_LIMIT; i++) {
      const n = schedule.next(new Date(u));
      if (!n || n.getTime() > upTo) break;
      found.push(n.getTime());
      u = n.getTime();
    }
    if (found.length >= cap || start === first) {
      return { ticks: found.slice(-cap), total: Math.max(found.length, STEP_LIMIT), exact: false };
    }
    width *= 2;
  }
}
