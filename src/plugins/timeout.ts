/**
 * The `timeout` key of a plugin job's `executor_config`: the deadline Kairos enforces around
 * any plugin executor, so a plugin that never returns cannot hold a run (and its concurrency
 * slot) forever. A Go duration ("30s", "1m30s"); a bare number means seconds, as in dkron's
 * http and grpc executors, which plugins are often modelled on.
 */
import { parseSecondsOrDuration } from '../util/duration.js';

type Problem = { field: string; message: string };

/** Milliseconds, null when no timeout is set, or the validation problem. */
export function pluginTimeout(config: Record<string, string>): number | null | Problem {
  const raw = config.timeout;
  if (raw === undefined || raw.trim() === '') return null;
  let ms: number;
  try {
    ms = parseSecondsOrDuration(raw);
  } catch (err) {
    return { field: 'executor_config.timeout', message: `invalid timeout: ${(err as Error).message}` };
  }
  if (!(ms > 0)) return { field: 'executor_config.timeout', message: `timeout must be positive, got "${raw}"` };
  return ms;
}

export function isProblem(value: number | null | Problem): value is Problem {
  return value !== null && typeof value === 'object';
}

// setTimeout fires at once for delays above this (with a warning), so long deadlines re-arm.
const MAX_TIMER_MS = 2_147_483_647;

/** Calls `fn` once `ms` have passed; returns the cancel function. */
export function setDeadline(ms: number, fn: () => void): () => void {
  const deadline = Date.now() + ms;
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const left = deadline - Date.now();
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fn, Math.max(1, Math.ceil(left)));
  };
  arm();
  return () => clearTimeout(timer);
}
