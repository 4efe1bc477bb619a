/**
 * GET /v1/stats?window=24h|7d: what the dashboard shows at a glance. Job counts, executions running
 * now, results and skipped ticks per bucket of the window (Store.activity), the latest failures, the
 * next runs across all jobs, the leader and the member count.
 *
 * A scoped token sees only its jobs' numbers (the cluster's leader and size stay visible, as on
 * /v1/members). Answers are shared for a moment (CACHE_MS): one dashboard polls every few seconds,
 * and many open ones must not each read every job.
 */
import { isTimeScheduled } from '../../scheduler/job-entry.js';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import type { Job } from '../../job/types.js';
import type { Stats, UpcomingRun } from '../stats-shape.js';
import { ValidationError } from '../../job/schema.js';
import { tagsInScope } from '../../core/audit.js';

const HOUR = 3600_000;
const WINDOWS: Record<string, { ms: number; bucketMs: number }> = {
  '24h': { ms: 24 * HOUR, bucketMs: HOUR },
  '7d': { ms: 7 * 24 * HOUR, bucketMs: 6 * HOUR },
};
const FAILURES = 10;
const UPCOMING = 10;
const CACHE_MS = 2000;

export type { Stats, UpcomingRun } from '../stats-shape.js';

export async function statsRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const cache = new Map<string, { at: number; stats: Promise<Stats> }>();

  app.get<{ Querystring: { window?: string } }>('/v1/stats', async (request) => {
    const window = request.query.window || '24h';
    if (!(window in WINDOWS)) throw new ValidationError('window', `window must be one of ${Object.keys(WINDOWS).join(', ')}, got "${window}"`);
    const scope = request.principal.scope;
    const key = `${window} ${JSON.stringify(Object.entries(scope).sort())}`;
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && now - hit.at < CACHE_MS) return hit.stats;
    const stats = compute(ctx, window, scope, now);
    cache.set(key, { at: now, stats });
    // A failure is not remembered: the next poll asks again.
    stats.catch(() => cache.delete(key));
    for (const [k, v] of cache) if (now - v.at >= CACHE_MS) cache.delete(k);
    return stats;
  });
}

async function compute(ctx: ApiContext, window: string, scope: Record<string, string>, now: number): Promise<Stats> {
  const { ms, bucketMs } = WINDOWS[window] as { ms: number; bucketMs: number };
  // Buckets on whole hours (UTC), the last one ending after now: the chart doesn't shift every poll.
  const end = Math.ceil((now + 1) / bucketMs) * bucketMs;
  const scoped = Object.keys(scope).length > 0;
  const jobs = (await ctx.store.listJobs()).filter((j) => !scoped || tagsInScope(j.tags, scope));
  const visible = scoped ? jobs.map((j) => j.name) : undefined;
  const visibleSet = visible ? new Set(visible) : null;
  const [activity, running, upcoming, leader, members] = await Promise.all([
    ctx.store.activity({ since: new Date(end - ms).toISOString(), bucketMs, failures: FAILURES, ...(visible ? { jobs: visible } : {}) }),
    ctx.store.listRunning(),
    nextRuns(ctx, jobs),
    ctx.cluster.leader(),
    ctx.cluster.members(),
  ]);
  return {
    window,
    bucket_ms: bucketMs,
    jobs: {
      total: jobs.length,
      disabled: jobs.filter((j) => j.disabled).length,
      failing: jobs.filter((j) => j.status === 'failed' || j.status === 'partially_failed').length,
      success: jobs.filter((j) => j.status === 'success').length,
      untriggered: jobs.filter((j) => j.status === '').length,
    },
    running: running.filter((e) => visibleSet === null || visibleSet.has(e.job_name)).length,
    failed: activity.buckets.reduce((n, b) => n + b.failed, 0),
    skipped: activity.buckets.reduce((n, b) => n + b.skipped, 0),
    buckets: activity.buckets,
    recent_failures: activity.recentFailures,
    upcoming,
    leader: leader?.Name ?? null,
    members: members.length,
  };
}

/** The soonest runs of enabled, time-scheduled jobs (children of a parent have no time of their own). */
async function nextRuns(ctx: ApiContext, jobs: Job[]): Promise<UpcomingRun[]> {
  const candidates = jobs.filter((j) => isTimeScheduled(j));
  const presented = await Promise.all(candidates.map((j) => ctx.jobs.present(j)));
  return presented
    .filter((j): j is Job & { next: string } => typeof j.next === 'string' && j.next !== '')
    .map((j) => ({ j, t: Date.parse(j.next) }))
    .sort((a, b) => a.t - b.t || (a.j.name < b.j.name ? -1 : 1))
    .slice(0, UPCOMING)
    .map(({ j }) => ({ name: j.name, displayname: j.displayname, schedule: j.schedule, timezone: j.timezone, next: j.next }));
}
