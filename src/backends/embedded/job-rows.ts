/**
 * How a job is written to the embedded store's tables: the statements and the timing column.
 * Shared by the store's own connection and its bulk writer thread, so both write the same rows.
 */
import { TIMING_FIELDS, type Job } from '../../job/types.js';

export const JOB_SQL = {
  put: 'INSERT INTO jobs (name, body, timing) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET body = excluded.body, timing = excluded.timing',
  delete: 'DELETE FROM jobs WHERE name = ?',
  // What goes with a deleted job (Store.deleteJob), besides its skips (sqlite-skips.ts).
  deleteExecutions: 'DELETE FROM executions WHERE job_name = ?',
  deleteTick: 'DELETE FROM ticks WHERE job_name = ?',
} as const;

/**
 * The timing column of a job, written with its body. A writer that changes bodies in place without
 * it (by hand) leaves the schedule loaded on the next start stale; one that inserts rows without it
 * is read from the body. Triggers that kept it from the body cost 50% more per job write (11.1 →
 * 16.3 s for 100k in one transaction), so the store keeps it itself.
 */
export function timingOf(job: Job): string {
  const out: Record<string, unknown> = {};
  for (const f of TIMING_FIELDS) {
    // Optional fields a job may lack (depends_on) stay absent, as in the body.
    const v = job[f];
    if (v !== undefined) out[f] = v;
  }
  return JSON.stringify(out);
}

