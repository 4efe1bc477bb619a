/** Schedules in plain words and their next runs with DST transitions flagged (POST /v1/schedule/preview, GET /v1/jobs/NAME/next). */
import { isFanIn } from '../../job/parents.js';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { ValidationError } from '../../errors/catalogue.js';
import { isValidTimezone, ScheduleError } from '../../scheduler/schedule.js';
import { MAX_PREVIEW, previewSchedule, previewZone, type SchedulePreview } from '../../scheduler/preview.js';
import { describeSchedule } from '../../scheduler/describe.js';
import type { Job } from '../../job/types.js';

type Query = Record<string, string | string[] | undefined>;

/** count: 1…MAX_PREVIEW (larger values are capped), `fallback` when absent. */
function countOf(raw: unknown, fallback: number): number {
  if (raw === undefined || raw === null || raw === '') return fallback;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ValidationError('count', `count must be a positive integer, got ${JSON.stringify(raw)}`);
  return Math.min(n, MAX_PREVIEW);
}

function preview(schedule: string, options: Parameters<typeof previewSchedule>[1]): SchedulePreview {
  try {
    return previewSchedule(schedule, options);
  } catch (err) {
    if (err instanceof ScheduleError) throw new ValidationError('schedule', `can't parse job schedule: ${err.message}`);
    throw err;
  }
}

/** The runs a stored job will make by itself: from its live `next` (which keeps an @every phase), up to expires_at. */
export function jobNext(job: Job, count: number): SchedulePreview & { disabled?: boolean } {
  if (job.parent_job !== '') {
    return { schedule: job.schedule, timezone: job.timezone, description: `after ${job.parent_job}`, next: [] };
  }
  if (isFanIn(job)) {
    const windows = job.schedule ? `, once per window of ${describeSchedule(job.schedule)}` : ', once per tick they share';
    return { schedule: job.schedule, timezone: job.timezone, description: `after ${(job.depends_on ?? []).join(' and ')} all succeed${windows}`, next: [] };
  }
  const until = job.expires_at ? new Date(job.expires_at) : null;
  if (job.disabled) {
    // A disabled job has no `next`: show what it would run once enabled, marked as such.
    return { ...preview(job.schedule, { timezone: job.timezone, jobName: job.name, count, until }), disabled: true };
  }
  if (job.next === null) {
    return { schedule: job.schedule, timezone: previewZone(job.schedule, job.timezone), description: describeSchedule(job.schedule), next: [] };
  }
  return preview(job.schedule, { timezone: job.timezone, jobName: job.name, count, first: new Date(job.next), until });
}

export async function scheduleRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.post('/v1/schedule/preview', async (request) => {
    const body = request.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ValidationError('', 'expected a JSON object {schedule, timezone?, count?}');
    const b = body as Record<string, unknown>;
    if (typeof b.schedule !== 'string' || b.schedule.trim() === '') throw new ValidationError('schedule', 'schedule is required');
    const timezone = b.timezone === undefined || b.timezone === null ? '' : b.timezone;
    if (typeof timezone !== 'string' || !isValidTimezone(timezone)) throw new ValidationError('timezone', `unknown time zone ${JSON.stringify(timezone)}`);
    // `name` (optional) resolves dkron's `~` placeholder, which hashes the job name.
    const jobName = typeof b.name === 'string' && b.name !== '' ? b.name : undefined;
    return preview(b.schedule.trim(), { timezone, jobName, count: countOf(b.count, 5) });
  });

  app.get<{ Params: { name: string } }>('/v1/jobs/:name/next', async (request) => {
    const q = request.query as Query;
    const count = countOf(Array.isArray(q.count) ? q.count[q.count.length - 1] : q.count, 10);
    const job = await ctx.jobs.get(request.params.name, request.principal);
    return jobNext(job, count);
  });
}
