/**
 * Job definitions: upsert with dkron's merge rules, parent/child bookkeeping,
 * delete, toggle, and the list/filter/sort/page logic the API and UI share.
 */
import { normalizeJobInput, ValidationError, type ExecutorCatalog, type JobSpec } from '../job/schema.js';
import type { Job } from '../job/types.js';
import { findCycle, parentField, parentsOf } from '../job/parents.js';
import type { Store } from '../store/types.js';
import { ConflictError, KairosError, NotFoundError } from './errors.js';
import { iso } from '../job/time.js';
import { SYSTEM_ACTOR, jobAudit, tagsInScope, type Actor } from './audit.js';

export interface JobLimits {
  /** Most jobs the cluster stores (0: no limit). */
  maxJobs: number;
  /** Called when a limit refuses a request, so hits can be counted. */
  onLimitHit?: (limit: string) => void;
}

export interface JobQuery {
  q?: string;
  status?: string;
  disabled?: string;
  metadata?: Record<string, string>;
  /** Only jobs carrying every one of these tags (k=v, exact). */
  tags?: Record<string, string>;
  /** Only jobs of this owner (exact). */
  owner?: string;
  /** Only jobs run by this executor (exact). */
  executor?: string;
  /** Only jobs whose tags match (a scoped token's view). */
  scope?: Record<string, string>;
  sort?: string;
  order?: 'asc' | 'desc';
  start?: number;
  end?: number;
}

/** Jobs per store read while filtering a list. */
const LIST_PAGE = 2000;

const SORT_KEYS = new Set([
  'name',
  'displayname',
  'schedule',
  'success_count',
  'error_count',
  'last_success',
  'last_error',
  'next',
  'status',
  'executor',
  'owner',
]);

export class JobService {
  constructor(
    private readonly store: Store,
    private readonly executors: ExecutorCatalog,
    /** The scheduler's view of `next` when this agent runs it; otherwise computed from the store. */
    private readonly nextOf: (job: Job) => Promise<string | null>,
    private readonly limits: JobLimits = { maxJobs: 0 },
  ) {}

  /** The limits in force (the bulk endpoint, src/core/bulk.ts, checks --max-jobs itself). */
  get jobLimits(): JobLimits {
    return this.limits;
  }

  /**
   * Validates and stores a job (create or full replace). The job, the parents it moves
   * between and its audit entry are written in one atomic step, so no crash can leave a
   * child its parent doesn't list (it would never run) or a change without its record.
   */
  async upsert(body: unknown, actor: Actor = SYSTEM_ACTOR, detail?: Record<string, unknown>): Promise<Job> {
    const spec = normalizeJobInput(body, this.executors);
    const place = await this.executors.placement?.();
    const problem = place?.(spec);
    if (problem) throw new ValidationError(problem.field, problem.message);
    if (!tagsInScope(spec.tags, actor.scope)) {
      throw new KairosError('KAIROS_OUT_OF_SCOPE', `token "${actor.name}" may only save jobs tagged ${scopeText(actor.scope)}`, 'tags');
    }
    const parents = parentsOf(spec);
    if (parents.length > 0) await this.checkParents(spec, parents, actor);
    await this.checkJobLimit(spec.name);
    const now = iso(Date.now());
    for (let attempt = 1; ; attempt++) {
      const previous = parentsOf((await this.store.getJob(spec.name)) ?? { parent_job: '' });
      const names = [...new Set([spec.name, ...previous, ...parents])];
      let moved = false;
      const jobs = await this.store.updateJobs(names, (cur) => {
        const current = cur.get(spec.name) ?? null;
        // Checked inside the atomic step: a scoped token must not overwrite a job it cannot see.
        if (current && !tagsInScope(current.tags, actor.scope)) {
          throw new KairosError('KAIROS_OUT_OF_SCOPE', `a job named "${spec.name}" exists outside the scope of token "${actor.name}"`, 'name');
        }
        moved = !sameList(parentsOf(current ?? { parent_job: '' }), previous);
        const changes = new Map<string, Job | null>();
        // Re-parented by someone else since the read: the names above are stale, so read again.
        if (moved) return changes;
        changes.set(spec.name, mergeJob(current, spec, now));
        for (const p of previous) {
          const old = parents.includes(p) ? null : cur.get(p);
          if (!old?.dependent_jobs?.includes(spec.name)) continue;
          const deps = old.dependent_jobs.filter((d) => d !== spec.name);
          changes.set(old.name, { ...old, dependent_jobs: deps.length ? deps : null });
        }
        for (const p of parents) {
          const parent = cur.get(p);
          if (!parent) throw parentMissing(spec, p);
          const deps = parent.dependent_jobs ?? [];
          if (!deps.includes(spec.name)) changes.set(parent.name, { ...parent, dependent_jobs: [...deps, spec.name].sort() });
        }
        return changes;
      }, jobAudit(actor, undefined, detail));
      if (moved) {
        if (attempt < 10) continue;
        throw new ConflictError(`job ${spec.name} keeps changing its parents concurrently; try again`);
      }
      const stored = jobs.get(spec.name);
      if (!stored) throw new Error(`job ${spec.name} vanished while saving`);
      return this.present(stored);
    }
  }

  /** Refuses a new job past --max-jobs. Concurrent creates may overshoot by a few: a guard rail, not a quota ledger. */
  private async checkJobLimit(name: string): Promise<void> {
    const max = this.limits.maxJobs;
    if (max <= 0 || (await this.store.getJob(name))) return;
    if ((await this.store.countJobs()) >= max) {
      this.limits.onLimitHit?.('max-jobs');
      throw new KairosError('KAIROS_LIMIT_MAX_JOBS', `the cluster already stores ${max} jobs (--max-jobs ${max}); delete jobs or raise the limit`, 'name');
    }
  }

  /** Every parent exists and is visible, and the links close no loop (dkron only catches self-parenting). */
  private async checkParents(spec: JobSpec, parents: string[], actor: Actor): Promise<void> {
    for (const p of parents) {
      const parent = await this.store.getJob(p);
      if (!parent || !tagsInScope(parent.tags, actor.scope)) {
        throw parentMissing(spec, p);
      }
    }
    const cycle = await findCycle(spec.name, parents, async (name) => {
      const j = await this.store.getJob(name);
      return j ? parentsOf(j) : undefined;
    });
    const field = parentField(spec);
    if (cycle) throw new ValidationError(field, `${field} would create a cycle: ${cycle.join(' -> ')}`);
  }

  private async unlinkChild(parent: string, child: string): Promise<void> {
    await this.store.updateJob(parent, (p) => {
      if (!p || !p.dependent_jobs?.includes(child)) return undefined;
      const deps = p.dependent_jobs.filter((d) => d !== child);
      return { ...p, dependent_jobs: deps.length ? deps : null };
    });
  }

  /** A job outside the actor's scope reads as missing: a scoped token can't tell it exists. */
  async get(name: string, actor: Actor = SYSTEM_ACTOR): Promise<Job> {
    return this.present(await this.getRaw(name, actor));
  }

  async getRaw(name: string, actor: Actor = SYSTEM_ACTOR): Promise<Job> {
    const job = await this.store.getJob(name);
    if (!job || !tagsInScope(job.tags, actor.scope)) throw new NotFoundError(`job "${name}" not found`);
    return job;
  }

  async delete(name: string, actor: Actor = SYSTEM_ACTOR): Promise<Job> {
    const job = await this.getRaw(name, actor);
    if (job.dependent_jobs && job.dependent_jobs.length > 0) {
      throw new ConflictError(
        `job "${name}" has dependent jobs (${job.dependent_jobs.join(', ')}); delete them or change their parent_job or depends_on first`,
        'dependent_jobs',
        'KAIROS_JOB_HAS_DEPENDENTS',
      );
    }
    const deleted = await this.store.deleteJob(name, jobAudit(actor, 'job.delete'));
    if (!deleted) throw new NotFoundError(`job "${name}" not found`);
    for (const p of parentsOf(deleted)) await this.unlinkChild(p, name);
    return { ...deleted, id: deleted.name, next: null };
  }

  async toggle(name: string, actor: Actor = SYSTEM_ACTOR): Promise<Job> {
    const now = iso(Date.now());
    // Out of scope reads as missing, checked inside the atomic step (no separate read).
    const job = await this.store.updateJob(
      name,
      (j) => (j && tagsInScope(j.tags, actor.scope) ? { ...j, disabled: !j.disabled, updated_at: now } : undefined),
      (before, after) => jobAudit(actor, 'job.toggle', { disabled: after?.disabled ?? null })(before, after),
    );
    // An out-of-scope job comes back unchanged: it still reads as missing.
    if (!job || !tagsInScope(job.tags, actor.scope)) throw new NotFoundError(`job "${name}" not found`);
    return this.present(job);
  }

  async list(query: JobQuery): Promise<{ items: Job[]; total: number }> {
    const scope = query.scope ?? {};
    const scoped = Object.keys(scope).length > 0;
    const wantTags = Object.entries(query.tags ?? {});
    const filtered = Boolean(
      query.q || query.status || query.disabled || query.owner || query.executor || scoped || wantTags.length || Object.keys(query.metadata ?? {}).length,
    );
    if (!filtered && (query.sort === undefined || query.sort === 'id' || query.sort === 'name')) {
      return this.pageByName(query);
    }
    // Decided once per list, not per job (a million of them).
    const { q, owner, executor } = query;
    const status = query.status === undefined || query.status === '' ? null : query.status === 'untriggered' ? '' : query.status;
    const disabled = query.disabled === undefined || query.disabled === '' ? null : query.disabled;
    const meta = Object.entries(query.metadata ?? {});
    const keep = (j: Job): boolean =>
      (!scoped || tagsInScope(j.tags, scope)) &&
      (!q || j.name.includes(q) || j.displayname.includes(q)) &&
      (status === null || j.status === status) &&
      (disabled === null || String(j.disabled) === disabled) &&
      wantTags.every(([k, v]) => j.tags?.[k] === v) &&
      (!owner || j.owner === owner) &&
      (!executor || j.executor === executor) &&
      meta.every(([k, v]) => j.metadata?.[k] === v);
    let jobs = await this.matching(keep, q || undefined);
    const total = jobs.length;
    const sortKey = query.sort === undefined || query.sort === 'id' ? 'name' : query.sort;
    if (!SORT_KEYS.has(sortKey)) {
      throw new ValidationError('_sort', `cannot sort by "${sortKey}" (use one of ${[...SORT_KEYS].join(', ')})`);
    }
    const start = Math.max(0, query.start ?? 0);
    const end = Math.min(total, query.end ?? total);
    // `next` is derived, so fill it before sorting by it; otherwise only for the page.
    if (sortKey === 'next') jobs = await Promise.all(jobs.map((j) => this.present(j)));
    const dir = query.order === 'desc' ? -1 : 1;
    if (sortKey !== 'name' || dir === -1) {
      jobs = [...jobs].sort((a, b) => dir * compare(a[sortKey as keyof Job], b[sortKey as keyof Job]) || a.name.localeCompare(b.name));
    }
    let page = start < end ? jobs.slice(start, end) : [];
    if (sortKey !== 'next') page = await Promise.all(page.map((j) => this.present(j)));
    return { items: page, total };
  }

  /**
   * Stored jobs that `keep` accepts, in name order. Walked a page at a time where the store can,
   * holding only the matches; `contains`, a text every match holds as written (a name or
   * displayname filter), also narrows the store's read before any JSON is parsed.
   */
  private async matching(keep: (j: Job) => boolean, contains: string | undefined): Promise<Job[]> {
    const store = this.store;
    if (!store.listJobsAfter) return (await store.listJobs()).filter(keep);
    // Stored as JSON, a value with a quote, backslash or control character is escaped: no prefilter then.
    const text = contains !== undefined && ![...contains].some((c) => c === '"' || c === '\\' || c.charCodeAt(0) < 0x20) ? contains : undefined;
    const out: Job[] = [];
    for (let after = ''; ; ) {
      const page = await store.listJobsAfter(after, LIST_PAGE, text);
      for (const j of page) if (keep(j)) out.push(j);
      const last = page.at(-1);
      if (!last || page.length < LIST_PAGE) return out;
      after = last.name;
    }
  }

  /** The UI's default view (all jobs by name, one page): paged in the store, not in memory. */
  private async pageByName(query: JobQuery): Promise<{ items: Job[]; total: number }> {
    const total = await this.store.countJobs();
    const start = Math.min(total, Math.max(0, query.start ?? 0));
    const end = Math.min(total, Math.max(start, query.end ?? total));
    if (end <= start) return { items: [], total };
    const desc = query.order === 'desc';
    const page = await this.store.listJobs({ offset: desc ? total - end : start, limit: end - start });
    if (desc) page.reverse();
    return { items: await Promise.all(page.map((j) => this.present(j))), total };
  }

  /** What clients see: `id` = name and a live `next`. */
  async present(job: Job): Promise<Job> {
    return { ...job, id: job.name, next: await this.nextOf(job) };
  }
}

/** dkron's words for a missing parent_job; for depends_on, which of the parents is missing. */
function parentMissing(spec: JobSpec, parent: string): NotFoundError {
  const field = parentField(spec);
  const text = field === 'parent_job' ? 'specified parent job not found' : `depends_on names "${parent}", which is not a job`;
  return new NotFoundError(text, field, 'KAIROS_PARENT_NOT_FOUND');
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function scopeText(scope: Record<string, string>): string {
  return Object.entries(scope)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : 1;
}

/** dkron's upsert: writable fields replaced, server-owned fields kept. */
export function mergeJob(current: Job | null, spec: JobSpec, now: string): Job {
  return {
    id: spec.name,
    ...spec,
    success_count: current?.success_count ?? 0,
    error_count: current?.error_count ?? 0,
    last_success: current?.last_success ?? null,
    last_error: current?.last_error ?? null,
    dependent_jobs: current?.dependent_jobs ?? null,
    status: current?.status ?? '',
    next: null,
    skip_count: current?.skip_count ?? 0,
    last_skip: current?.last_skip ?? null,
    last_skip_reason: current?.last_skip_reason ?? '',
    last_group: current?.last_group ?? 0,
    ...(current?.backfills ? { backfills: current.backfills } : {}),
    created_at: current?.created_at ?? now,
    updated_at: now,
  };
}
