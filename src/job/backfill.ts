/**
 * Backfill's pure parts: the ticks a backfill runs (the job's own schedule, in its time zone, so
 * DST is the schedule's), the limits, the fence a backfill's dispatches go through, and the record.
 */
import { parseSchedule } from '../scheduler/schedule.js';
import { isFanIn } from './parents.js';
import type { Backfill, Job } from './types.js';
import { ValidationError } from '../errors/catalogue.js';

/** Most ticks one backfill runs (a year of hourly ticks fits). */
export const MAX_BACKFILL_TICKS = 10_000;
export const MAX_BACKFILL_PARALLELISM = 100;
/** Backfill records kept on a job (finished ones go first). */
export const BACKFILLS_KEPT = 10;

/** Every tick of the job's schedule in [from, to] (ms), oldest first; throws past `max`. */
export function backfillTicks(job: Pick<Job, 'name' | 'schedule' | 'timezone' | 'parent_job' | 'depends_on'>, from: number, to: number, max = MAX_BACKFILL_TICKS): number[] {
  if (job.schedule === '' || job.parent_job !== '' || isFanIn(job)) {
    throw new ValidationError('name', `job "${job.name}" has no schedule of its own to backfill (its parents start it)`);
  }
  const schedule = parseSchedule(job.schedule, { timezone: job.timezone, jobName: job.name });
  if (schedule.kind === 'manual') throw new ValidationError('name', `job "${job.name}" runs @manually: it has no ticks to backfill`);
  const out: number[] = [];
  for (let t = schedule.next(new Date(from - 1)); t !== null && t.getTime() <= to; t = schedule.next(t)) {
    if (out.length === max) {
      throw new ValidationError('to', `[from, to] holds more than ${max} ticks of "${job.schedule}"; split the backfill`);
    }
    out.push(t.getTime());
  }
  return out;
}

/** The ticks of a stored backfill: its own copy of the schedule, not the job's current one. */
export function ticksOfBackfill(job: string, b: Pick<Backfill, 'schedule' | 'timezone' | 'from' | 'to'>): number[] {
  return backfillTicks({ name: job, schedule: b.schedule, timezone: b.timezone, parent_job: '' }, Date.parse(b.from), Date.parse(b.to));
}

/**
 * The tick fence of one backfill. Its ticks are dispatched oldest first, so the fence's "only later
 * than the last" rule is exactly "each tick once"; the name can't be a job's (':' is not allowed in
 * names), and it is the backfill's own, apart from the job's schedule.
 */
export function backfillFence(job: string, id: string): string {
  return `${job}:backfill:${id}`;
}

/** The number that orders a job's backfills (the part of the id before '-'). */
export function backfillNumber(id: string): number {
  return Number.parseInt(id, 10) || 1;
}

export function newBackfill(job: Job, o: { from: number; to: number; parallelism: number; ticks: number; by: string; now: number }): Backfill {
  const n = Math.max(0, ...(job.backfills ?? []).map((b) => backfillNumber(b.id))) + 1;
  return {
    id: `${n}-${o.now.toString(36)}`,
    from: new Date(o.from).toISOString(),
    to: new Date(o.to).toISOString(),
    schedule: job.schedule,
    timezone: job.timezone,
    parallelism: o.parallelism,
    ticks: o.ticks,
    state: o.ticks === 0 ? 'done' : 'running',
    succeeded: 0,
    failed: 0,
    skipped: 0,
    created_at: new Date(o.now).toISOString(),
    created_by: o.by,
    finished_at: o.ticks === 0 ? new Date(o.now).toISOString() : null,
  };
}

/** The job's backfills with `b` added, keeping BACKFILLS_KEPT: the oldest finished ones go first. */
export function withBackfill(list: Backfill[] | undefined, b: Backfill): Backfill[] {
  const all = [...(list ?? []), b];
  while (all.length > BACKFILLS_KEPT) {
    const i = all.findIndex((x) => x.state !== 'running');
    if (i < 0) break;
    all.splice(i, 1);
  }
  return all;
}

/** The job with backfill `id` changed by `fn` (undefined when there is no such backfill). */
export function updateBackfill(job: Job, id: string, fn: (b: Backfill) => Backfill): Job | undefined {
  const list = job.backfills ?? [];
  const i = list.findIndex((b) => b.id === id);
  if (i < 0) return undefined;
  const next = [...list];
  next[i] = fn(list[i] as Backfill);
  return { ...job, backfills: next };
}
