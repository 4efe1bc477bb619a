/**
 * How a stored job becomes a scheduler entry, and what its `next` is. Both
 * use one anchor: the later of the last dispatched tick and the last change
 * of the definition, so an `@every` phase survives restarts and failovers,
 * while ticks from before an edit or a disabled spell are never "caught up".
 */
import { parseSchedule, type Schedule } from './schedule.js';
import type { ScheduledJob } from './scheduler.js';
import type { JobTiming } from '../job/types.js';
import { parseGoDuration } from '../util/duration.js';
import { instantMs } from '../job/time.js';

export function isTimeScheduled(job: JobTiming): boolean {
  // A fan-in job's schedule only draws its windows (src/scheduler/window.ts): its parents start it.
  return !job.disabled && job.parent_job === '' && job.schedule !== '' && (job.depends_on?.length ?? 0) === 0;
}

export function scheduleAnchor(job: JobTiming, lastTick: string | null, schedule?: Schedule): number {
  let anchor = instantMs(job.updated_at);
  if (Number.isNaN(anchor)) anchor = Date.now();
  if (lastTick) anchor = Math.max(anchor, instantMs(lastTick));
  const startsAt = job.starts_at ? instantMs(job.starts_at) : NaN;
  if (startsAt > anchor) {
    // A tick exactly at starts_at is due. `@every` takes its phase from
    // starts_at (first run at starts_at, which is what dkron reports as
    // `next`); anchoring at starts_at - 1 ms would put every run 1 ms short
    // of a whole interval after it.
    const step = schedule?.kind === 'every' ? (schedule.next(new Date(0))?.getTime() ?? 1) : 1;
    anchor = startsAt - step;
  }
  return anchor;
}

export function toScheduledJob(job: JobTiming, lastTick: string | null): ScheduledJob | null {
  if (!isTimeScheduled(job)) return null;
  const schedule = parseSchedule(job.schedule, { timezone: job.timezone, jobName: job.name });
  if (schedule.kind === 'manual') return null;
  return {
    name: job.name,
    schedule,
    anchor: scheduleAnchor(job, lastTick, schedule),
    catchUp: job.catch_up,
    startingDeadlineMs: job.starting_deadline ? parseGoDuration(job.starting_deadline) : null,
    // Past expires_at the dispatcher runs nothing: the scheduler neither fires nor counts those instants as missed.
    endsAt: job.expires_at ? parseEnd(job.expires_at) : null,
    // forbid asks "is a run still going?" at dispatch: asked ahead of the tick, a run about to end would skip it.
    ahead: job.concurrency !== 'forbid',
  };
}

/** expires_at as ms; one that doesn't parse ends nothing (the dispatcher's check doesn't stop it either). */
function parseEnd(expiresAt: string): number | null {
  const ms = instantMs(expiresAt);
  return Number.isNaN(ms) ? null : ms;
}

/** The next instant the job will fire by itself, or null. */
export function computeNext(job: JobTiming, lastTick: string | null): Date | null {
  let entry: ScheduledJob | null;
  try {
    entry = toScheduledJob(job, lastTick);
  } catch {
    return null;
  }
  if (!entry) return null;
  const next = entry.schedule.next(new Date(entry.anchor));
  if (!next) return null;
  if (entry.endsAt != null && next.getTime() > entry.endsAt) return null;
  return next;
}
