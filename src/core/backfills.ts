/**
 * Backfills as the API sees them: validate a request, list the ticks (dry run), store the record
 * on the job (the leader's driver, src/cluster/backfill-driver.ts, runs it), show progress, cancel.
 */
import { z } from 'zod';
import type { Backfill, Job } from '../job/types.js';
import type { Store } from '../store/types.js';
import { backfillFence, backfillTicks, MAX_BACKFILL_PARALLELISM, newBackfill, ticksOfBackfill, updateBackfill, withBackfill } from '../job/backfill.js';
import { parseJobTime, iso } from '../job/time.js';
import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import { jobAudit, type Actor } from './audit.js';

export const backfillRequestSchema = z.object({
  from: z.string({ error: 'from is required: an RFC 3339 time' }),
  to: z.string({ error: 'to is required: an RFC 3339 time' }),
  parallelism: z
    .number({ error: 'parallelism must be a number' })
    .int('parallelism must be a whole number')
    .min(1, 'parallelism must be at least 1')
    .max(MAX_BACKFILL_PARALLELISM, `parallelism must be at most ${MAX_BACKFILL_PARALLELISM}`)
    .optional(),
  dry_run: z.boolean({ error: 'dry_run must be true or false' }).optional(),
});

/** A backfill with where it stands: ticks dispatched so far, and runs in flight. */
export type BackfillView = Backfill & { job: string; dispatched: number; running: number };

export interface DryRun {
  dry_run: true;
  job: string;
  from: string;
  to: string;
  parallelism: number;
  ticks: string[];
}

export class BackfillService {
  constructor(private readonly store: Store) {}

  async create(job: Job, body: unknown, actor: Actor, now = Date.now()): Promise<BackfillView | DryRun> {
    const parsed = backfillRequestSchema.safeParse(body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ValidationError(String(issue?.path[0] ?? ''), issue?.message ?? 'invalid backfill request');
    }
    const req = parsed.data;
    const from = timeField('from', req.from);
    const to = timeField('to', req.to);
    if (to < from) throw new ValidationError('to', 'to must not be before from');
    if (to > now) throw new ValidationError('to', 'to must not be in the future: ticks to come run on schedule');
    const parallelism = req.parallelism ?? 1;
    const ticks = backfillTicks(job, from, to);
    if (req.dry_run) {
      return { dry_run: true, job: job.name, from: iso(from), to: iso(to), parallelism, ticks: ticks.map((t) => iso(t)) };
    }
    let made: Backfill | undefined;
    await this.store.updateJob(
      job.name,
      (j) => {
        if (!j) return undefined;
        made = newBackfill(j, { from, to, parallelism, ticks: ticks.length, by: actor.name, now });
        return { ...j, backfills: withBackfill(j.backfills, made) };
      },
      (before, after) => jobAudit(actor, 'job.backfill', { ...made })(before, after),
    );
    if (!made) throw new NotFoundError(`job "${job.name}" not found`);
    return this.view(job.name, made);
  }

  async list(job: Job): Promise<BackfillView[]> {
    return Promise.all([...(job.backfills ?? [])].reverse().map((b) => this.view(job.name, b)));
  }

  async get(job: Job, id: string): Promise<BackfillView> {
    return this.view(job.name, find(job, id));
  }

  /** Stops dispatching its ticks; runs under way finish. */
  async cancel(job: Job, id: string, actor: Actor): Promise<BackfillView> {
    if (find(job, id).state !== 'running') throw new ConflictError(`backfill ${id} of job "${job.name}" is not running`, 'id', 'KAIROS_BACKFILL_NOT_RUNNING');
    const stored = await this.store.updateJob(
      job.name,
      (j) => (j ? updateBackfill(j, id, (b) => (b.state === 'running' ? { ...b, state: 'cancelled', finished_at: iso(Date.now()) } : b)) : undefined),
      (before, a) => jobAudit(actor, 'job.backfill.cancel', { id })(before, a),
    );
    const after = stored?.backfills?.find((b) => b.id === id);
    if (!after) throw new NotFoundError(`backfill ${id} of job "${job.name}" not found`, 'id', 'KAIROS_BACKFILL_NOT_FOUND');
    return this.view(job.name, after);
  }

  private async view(name: string, b: Backfill): Promise<BackfillView> {
    const [last, running] = await Promise.all([this.store.getLastTick(backfillFence(name, b.id)), this.store.listRunning(name)]);
    // Ticks up to the fence's last are dispatched (only the range up to it is walked).
    const dispatched = last === null ? 0 : ticksOfBackfill(name, { ...b, to: Date.parse(last) < Date.parse(b.to) ? last : b.to }).length;
    const inFlight = new Set(running.filter((e) => e.backfill === b.id).map((e) => e.group)).size;
    return { ...b, job: name, dispatched, running: inFlight };
  }
}

function find(job: Job, id: string): Backfill {
  const b = job.backfills?.find((x) => x.id === id);
  if (!b) throw new NotFoundError(`backfill ${id} of job "${job.name}" not found`, 'id', 'KAIROS_BACKFILL_NOT_FOUND');
  return b;
}

function timeField(field: string, value: string): number {
  const t = parseJobTime(value);
  if (!t) throw new ValidationError(field, `${field} must be an RFC 3339 time or YYYY-MM-DDTHH:MM, got "${value}"`);
  return t.getTime();
}
