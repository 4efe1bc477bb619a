/**
 * The start SLO (`max_start_delay`): which starts count and when one breaches. One rule for the
 * agent that publishes `execution.late` and for the web UI that marks late runs, so both agree.
 * Pure (no Node APIs): the UI bundles it.
 */
import { parseGoDuration } from '../util/duration.js';
import type { Execution, Job } from './types.js';

/** The job's limit in ms; null when it has none (or a stored value validation would refuse now). */
export function startDelayLimitMs(job: Pick<Job, 'max_start_delay'>): number | null {
  const text = job.max_start_delay ?? '';
  if (text === '') return null;
  try {
    const ms = parseGoDuration(text);
    return ms > 0 ? ms : null;
  } catch {
    return null;
  }
}

/**
 * Only the first attempt of a tick measures the scheduler: a retry waits out its backoff on
 * purpose, and a manual or chained run has no tick to be late for. The lateness metrics count
 * the same starts.
 */
export function startCounts(e: Pick<Execution, 'attempt' | 'trigger'>): boolean {
  return e.attempt === 1 && (e.trigger === 'schedule' || e.trigger === 'catchup');
}

/** Lateness (start − scheduled time, ms) of a start that breaches `limitMs`; null when it doesn't. */
export function breachMs(e: Pick<Execution, 'attempt' | 'trigger'>, latenessMs: number, limitMs: number | null): number | null {
  if (limitMs === null || !startCounts(e) || !Number.isFinite(latenessMs)) return null;
  return latenessMs > limitMs ? latenessMs : null;
}

/** An execution record's breach, from its stored times (the UI's view; the agent uses its own clock reading). */
export function recordedBreachMs(e: Pick<Execution, 'attempt' | 'trigger' | 'started_at' | 'scheduled_at'>, limitMs: number | null): number | null {
  return breachMs(e, Date.parse(e.started_at) - Date.parse(e.scheduled_at), limitMs);
}

export interface LateStart {
  execution: Execution;
  job: Job;
  latenessMs: number;
  limitMs: number;
}

/** The `execution.late` event for a start, or null when the job has no SLO or the start is within it. */
export function lateStart(job: Job | null, execution: Execution, latenessMs: number): LateStart | null {
  if (!job) return null;
  const limitMs = startDelayLimitMs(job);
  const late = breachMs(execution, latenessMs, limitMs);
  return late === null || limitMs === null ? null : { execution: { ...execution }, job, latenessMs: late, limitMs };
}
