/** What every backend does to a job when it records skips: one pure function, so they can't drift. */
import type { Job } from '../job/types.js';
import type { SkipRecord } from './types.js';

export function countSkips(job: Job, skips: readonly SkipRecord[]): Job {
  const latest = skips.reduce<SkipRecord | null>((a, s) => (a === null || s.id > a.id ? s : a), null);
  if (latest === null) return job;
  return {
    ...job,
    skip_count: job.skip_count + skips.reduce((n, s) => n + s.count, 0),
    last_skip: latest.until ?? latest.scheduled_at,
    last_skip_reason: latest.reason,
  };
}

/**
 * One record per id, the first of each: a batch naming a tick twice counts it once, as the embedded
 * store's table keyed by id does (and a key-value transaction may not put one key twice).
 */
export function uniqueSkips(skips: readonly SkipRecord[]): SkipRecord[] {
  const byId = new Map<string, SkipRecord>();
  for (const s of skips) if (!byId.has(s.id)) byId.set(s.id, s);
  return [...byId.values()];
}
