/**
 * The embedded store's activity across all jobs (the dashboard): counted in SQL per bucket,
 * so only the numbers leave SQLite, never the executions' outputs.
 */
import type Database from 'better-sqlite3';
import type { Execution } from '../../job/types.js';
import type { Activity, ActivityQuery } from '../../store/types.js';
import { ActivityCounter, skipIdFloor } from '../../store/activity.js';

/**
 * Schema version 5: the finished executions and the skips of every job by time. The executions
 * index carries the result, so counting a window never parses a body (with its output): 70k
 * executions of a week count in ~35 ms instead of ~1 s. The expressions must match the queries'.
 */
export const ACTIVITY_MIGRATION = `
  CREATE INDEX IF NOT EXISTS executions_by_time ON executions (started_at, json_extract(body, '$.success'))
    WHERE finished_at IS NOT NULL;
  CREATE INDEX IF NOT EXISTS skips_by_time ON skips (id);
`;

const ONLY_JOBS = { executions: 'AND job_name IN (SELECT value FROM json_each(@jobs))', skips: 'AND job IN (SELECT value FROM json_each(@jobs))' };

function statements(db: Database.Database, scoped: boolean) {
  const execJobs = scoped ? ONLY_JOBS.executions : '';
  return {
    // better-sqlite3 binds JS numbers as REAL, hence the CASTs. Running executions have no result yet.
    executions: db.prepare(
      `SELECT CAST((started_at - @since) / @bucket AS INTEGER) AS b, count(*) AS n, total(json_extract(body, '$.success')) AS ok
       FROM executions WHERE started_at >= @since AND started_at < @until AND finished_at IS NOT NULL ${execJobs}
       GROUP BY b`,
    ),
    failures: db
      .prepare(
        `SELECT json_set(body, '$.output', '') FROM executions
         WHERE started_at >= @since AND started_at < @until AND finished_at IS NOT NULL
           AND json_extract(body, '$.success') = 0 ${execJobs}
         ORDER BY started_at DESC, id DESC LIMIT @limit`,
      )
      .pluck(),
    // A skip id starts with its tick in zero-padded ms (see util/ids.ts), so the id range is the time range.
    skips: db.prepare(
      `SELECT CAST((CAST(substr(id, 1, 15) AS INTEGER) - @since) / @bucket AS INTEGER) AS b, total(json_extract(body, '$.count')) AS n
       FROM skips WHERE id >= @lo AND id < @hi ${scoped ? ONLY_JOBS.skips : ''}
       GROUP BY b`,
    ),
  };
}

export function sqliteActivity(db: Database.Database, query: ActivityQuery): Activity {
  const c = new ActivityCounter(query);
  const st = statements(db, query.jobs !== undefined);
  const params = {
    since: c.sinceMs,
    until: c.untilMs + 1,
    bucket: c.bucketMs,
    ...(query.jobs !== undefined ? { jobs: JSON.stringify(query.jobs) } : {}),
  };
  // One read transaction: the buckets and the failures describe the same moment.
  return db.transaction((): Activity => {
    for (const row of st.executions.all(params) as Array<{ b: number; n: number; ok: number }>) {
      const bucket = c.buckets[row.b];
      if (!bucket) continue;
      bucket.success += row.ok;
      bucket.failed += row.n - row.ok;
    }
    for (const row of st.skips.all({ ...params, lo: skipIdFloor(c.sinceMs), hi: skipIdFloor(c.untilMs + 1) }) as Array<{ b: number; n: number }>) {
      const bucket = c.buckets[row.b];
      if (bucket) bucket.skipped += row.n;
    }
    const failures = st.failures.all({ ...params, limit: Math.max(0, Math.trunc(query.failures)) }) as string[];
    return { buckets: c.buckets, recentFailures: failures.map((b) => JSON.parse(b) as Execution) };
  }).deferred();
}
