/**
 * Bulk writes of job definitions (`POST /v1/jobs/bulk`, used by `kairos apply`
 * and `kairos import`): every job is validated before anything is written, and
 * the whole change (creates, updates, prunes, the parents' `dependent_jobs`
 * and one audit entry per job) goes to the store as one batch (one SQLite
 * transaction; etcd: see Store.writeJobs).
 */
import { z } from 'zod';
import { normalizeJobInput, type ExecutorCatalog, type JobSpec } from '../job/schema.js';
import type { Job } from '../job/types.js';
import { findCycle, parentField, parentsOf } from '../job/parents.js';
import type { AuditEntry, JobBatch, JobsWriter, Store } from '../store/types.js';
import { jobsWriterOf } from '../store/jobs-writer.js';
import { ConflictError, KairosError, ValidationError } from './errors.js';
import { iso } from '../job/time.js';
import { auditOfDefinitions, definitionOf, SERVER_OWNED, tagsInScope, type Actor } from './audit.js';
import { mergeJob, type JobLimits } from './jobs.js';
import { StoredJobs } from './stored-jobs.js';

export interface BulkProblem {
  index: number;
  name: string;
  field: string;
  message: string;
}

export interface BulkChange {
  name: string;
  action: 'create' | 'update' | 'delete';
  /**
   * Job definitions (definitionOf): null before a create, after a delete. With `detail: "diff"`
   * only updates carry them (a create's definition is what the client sent, a delete's is gone).
   */
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

export interface BulkResult {
  dry_run: boolean;
  created: string[];
  updated: string[];
  unchanged: string[];
  deleted: string[];
  changes: BulkChange[];
}

/** 400 naming every invalid job; nothing was written. */
export class BulkValidationError extends ValidationError {
  constructor(readonly errors: BulkProblem[]) {
    const first = errors[0];
    const where = (e: BulkProblem): string => `jobs[${e.index}]${e.field ? `.${e.field}` : ''}`;
    super(
      first ? where(first) : 'jobs',
      `${errors.length} invalid job${errors.length === 1 ? '' : 's'}, nothing written: ${errors.map((e) => `${where(e)}${e.name ? ` (${e.name})` : ''}: ${e.message}`).join('; ')}`,
    );
    this.name = 'BulkValidationError';
  }
}

interface Label {
  key: string;
  value: string;
  label: string;
}

interface BulkRequest {
  jobs: unknown[];
  /** Written into every job's metadata (`kairos apply`'s ownership label). */
  label: Label | null;
  prune: Label | null;
  dryRun: boolean;
  detail: 'full' | 'diff';
}

const PRUNE_LABEL = 'prune.label must be "key=value" (a metadata label, e.g. "managed-by=kairos-apply")';
const LABEL = 'label must be "key=value" (a metadata label, e.g. "managed-by=kairos-apply")';

/** The request (each job is validated on its own, by normalizeJobInput, so every error is named). */
export const bulkRequestSchema = z.object({
  jobs: z.array(z.unknown(), { error: 'jobs must be an array of jobs' }).describe('job definitions, as POST /v1/jobs takes them'),
  label: z
    .string({ error: LABEL })
    .regex(/^[^=]+=/, LABEL)
    .nullable()
    .optional()
    .describe('a metadata label "key=value" written into every job of the request, over its own value for that key (`kairos apply` stamps its ownership label this way)'),
  prune: z
    .object({ label: z.string({ error: PRUNE_LABEL }).regex(/^[^=]+=/, PRUNE_LABEL) }, { error: PRUNE_LABEL })
    .nullable()
    .optional()
    .describe('delete stored jobs carrying this metadata label that the request does not list'),
  dry_run: z.boolean({ error: 'dry_run must be true or false' }).optional().describe('validate and report, write nothing'),
  detail: z
    .enum(['full', 'diff'], { error: 'detail must be "full" or "diff"' })
    .optional()
    .describe('full (default): every change carries the definitions before and after; diff: only updates do (a 100k-job create answers in names, not 80 MB of definitions)'),
});

function parseRequest(body: unknown): BulkRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ValidationError('', 'expected a JSON object {"jobs": [...], "label": null, "prune": null, "dry_run": false}');
  const parsed = bulkRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = (issue?.path ?? []).map(String).join('.');
    throw new ValidationError(field === 'prune' ? 'prune.label' : field, issue?.message ?? 'invalid request');
  }
  const b = parsed.data;
  const labelOf = (label: string): Label => {
    const eq = label.indexOf('=');
    return { key: label.slice(0, eq), value: label.slice(eq + 1), label };
  };
  return { jobs: b.jobs, label: b.label ? labelOf(b.label) : null, prune: b.prune ? labelOf(b.prune.label) : null, dryRun: b.dry_run === true, detail: b.detail ?? 'full' };
}

/**
 * Equal as JSON: key order ignored, an undefined field equal to a missing one. Walks both values
 * without serialising them; an apply that changes nothing compares 100k pairs (node's
 * isDeepStrictEqual was slower than two JSON.stringify calls here, and stricter than JSON).
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  return sameFields(a as Record<string, unknown>, b as Record<string, unknown>);
}

/** sameJson of two objects, fields named in `ignore` left out on both sides. */
function sameFields(x: Record<string, unknown>, y: Record<string, unknown>, ignore?: ReadonlySet<string>): boolean {
  let defined = 0;
  for (const k of Object.keys(x)) {
    if (x[k] === undefined || ignore?.has(k)) continue;
    defined++;
    if (!sameJson(x[k], y[k])) return false;
  }
  for (const k of Object.keys(y)) if (y[k] !== undefined && !ignore?.has(k)) defined--;
  return defined === 0;
}

/** definitionOf(job) equals spec as JSON, without building the definition. */
function sameDefinition(job: Job, spec: JobSpec): boolean {
  return sameFields(spec as unknown as Record<string, unknown>, job as unknown as Record<string, unknown>, SERVER_OWNED);
}

function sameList(a: string[] | null, b: string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Jobs validated, diffed and handed to the store's writer at a time. */
const PART = 2000;

const nameOf = (raw: unknown): string => (raw && typeof raw === 'object' && typeof (raw as { name?: unknown }).name === 'string' ? (raw as { name: string }).name : '');

export async function applyBulk(store: Store, executors: ExecutorCatalog, limits: JobLimits, body: unknown, actor: Actor): Promise<BulkResult> {
  const req = parseRequest(body);
  const problems: BulkProblem[] = [];
  const index = new Map<string, number>();
  const place = await executors.placement?.();
  const stored = await StoredJobs.read(store, req.jobs.map(nameOf).filter((n) => n !== ''), req.prune !== null);
  const now = iso(Date.now());
  const merged = new Map<string, { current: Job | null; job: Job }>();
  const result: BulkResult = { dry_run: req.dryRun, created: [], updated: [], unchanged: [], deleted: [], changes: [] };
  const puts = new Map<string, Job>();
  const full = req.detail === 'full';
  // Parts of the write go to the store while later jobs are still being validated (an embedded
  // store writes them on another thread); a problem found later aborts all of it. From the first
  // part to commit or abort nothing here may wait on anything that writes (see JobsWriter).
  let writer: JobsWriter | null = null;
  try {
    for (let from = 0; from < req.jobs.length; from += PART) {
      const partJobs: Job[] = [];
      const partAudit: AuditEntry[] = [];
      for (let i = from; i < Math.min(from + PART, req.jobs.length); i++) {
        const raw = req.jobs[i];
        let spec: JobSpec;
        try {
          spec = normalizeJobInput(raw, executors);
          if (req.label) spec.metadata = { ...spec.metadata, [req.label.key]: req.label.value };
          const problem = place?.(spec);
          if (problem) throw new ValidationError(problem.field, problem.message);
          if (index.has(spec.name)) throw new ValidationError('name', `job "${spec.name}" appears twice (also jobs[${index.get(spec.name)}])`);
          if (!tagsInScope(spec.tags, actor.scope)) throw new KairosError('KAIROS_OUT_OF_SCOPE', `token "${actor.name}" may only save jobs tagged ${Object.entries(actor.scope).map(([k, v]) => `${k}=${v}`).join(', ')}`, 'tags');
          index.set(spec.name, i);
        } catch (err) {
          if (!(err instanceof KairosError)) throw err;
          problems.push({ index: i, name: nameOf(raw), field: err.field, message: err.message });
          continue;
        }
        const name = spec.name;
        const current = stored.known(name);
        if (current && !tagsInScope(current.tags, actor.scope)) {
          problems.push({ index: i, name, field: 'name', message: `a job named "${name}" exists outside the scope of token "${actor.name}"` });
          continue;
        }
        const job = mergeJob(current, spec, now);
        merged.set(name, { current, job });
        if (current && sameDefinition(current, spec)) {
          result.unchanged.push(name);
          continue;
        }
        const before = definitionOf(current);
        // The spec is the merged job's definition (mergeJob adds only server-owned fields to it).
        const after = spec as unknown as Record<string, unknown>;
        puts.set(name, job);
        (current ? result.updated : result.created).push(name);
        result.changes.push(current || full ? { name, action: current ? 'update' : 'create', before, after } : { name, action: 'create' });
        partJobs.push(job);
        partAudit.push(auditOfDefinitions(actor, current ? 'job.update' : 'job.create', name, before, after, { via: 'apply' }));
      }
      if (problems.length === 0 && !req.dryRun && partJobs.length > 0) {
        writer ??= jobsWriterOf(store, req.jobs.length - from);
        writer.put(partJobs, partAudit);
      }
    }

    // Pruned: stored jobs carrying the label that the request does not list (and the actor may see).
    const pruned: Job[] = [];
    if (req.prune) {
      const { key, value } = req.prune;
      for (const job of stored.all()) {
        if (job.metadata?.[key] === value && !index.has(job.name) && tagsInScope(job.tags, actor.scope)) pruned.push(job);
      }
    }
    const prunedNames = new Set(pruned.map((j) => j.name));
    // A job as it will be after the write (null: absent); stored jobs are read when first needed.
    const after = async (name: string): Promise<Job | null> => merged.get(name)?.job ?? (prunedNames.has(name) ? null : await stored.get(name));

    // Parents: present after the write (in the request or kept), visible to the actor, and no loops.
    await stored.load([...merged.values()].flatMap((m) => parentsOf(m.job)));
    const parentsAfter = async (name: string): Promise<string[] | undefined> => {
      const j = await after(name);
      return j ? parentsOf(j) : undefined;
    };
    for (const [name, { job }] of merged) {
      const parents = parentsOf(job);
      if (parents.length === 0) continue;
      const i = index.get(name) ?? -1;
      const field = parentField(job);
      let missingParent = false;
      for (const p of parents) {
        const parent = await after(p);
        if (!parent || !tagsInScope(parent.tags, actor.scope)) {
          const why = prunedNames.has(p) ? ' (it would be pruned)' : '';
          problems.push({ index: i, name, field, message: `parent job "${p}" not found${why}` });
          missingParent = true;
        }
      }
      if (missingParent) continue;
      const cycle = await findCycle(name, parents, parentsAfter);
      if (cycle) problems.push({ index: i, name, field, message: `${field} would create a cycle: ${cycle.join(' -> ')}` });
    }
    if (problems.length > 0) throw new BulkValidationError(problems.sort((a, b) => a.index - b.index));

    // Children that move: each parent's dependent_jobs changes by these, the rest of it stays as stored.
    const leaving = new Map<string, Set<string>>();
    const arriving = new Map<string, Set<string>>();
    const move = (to: Map<string, Set<string>>, parent: string, child: string): void => {
      if (!parent) return;
      const set = to.get(parent) ?? new Set<string>();
      set.add(child);
      to.set(parent, set);
    };
    for (const [name, { current, job }] of merged) {
      const was = current ? parentsOf(current) : [];
      const will = parentsOf(job);
      for (const p of was) if (!will.includes(p)) move(leaving, p, name);
      for (const p of will) if (!was.includes(p)) move(arriving, p, name);
    }
    for (const job of pruned) for (const p of parentsOf(job)) move(leaving, p, job.name);
    const childrenAfter = (job: Job): string[] | null => {
      const out = new Set(job.dependent_jobs ?? []);
      for (const c of leaving.get(job.name) ?? []) out.delete(c);
      for (const c of arriving.get(job.name) ?? []) out.add(c);
      return out.size > 0 ? [...out].sort() : null;
    };
    // A pruned job may not leave children behind.
    for (const job of pruned) {
      const left = childrenAfter(job);
      if (left) {
        throw new ConflictError(`cannot prune job "${job.name}": it has dependent jobs that stay (${left.join(', ')}); change their parent_job or depends_on, or let them be pruned too`, 'prune', 'KAIROS_JOB_HAS_DEPENDENTS');
      }
    }

    const created = result.created.length;
    const count = created > 0 && limits.maxJobs > 0 ? await stored.count() : 0;
    if (limits.maxJobs > 0 && created > 0 && count - pruned.length + created > limits.maxJobs) {
      limits.onLimitHit?.('max-jobs');
      throw new KairosError(
        'KAIROS_LIMIT_MAX_JOBS',
        `this request would leave ${count - pruned.length + created} jobs, over --max-jobs ${limits.maxJobs}; delete jobs or raise the limit`,
        'jobs',
      );
    }

    // dependent_jobs, as upsert's linkChild/unlinkChild keep them (no audit entry: server-owned).
    const rest: JobBatch = { put: [], delete: pruned.map((j) => j.name), audit: [] };
    await stored.load([...leaving.keys(), ...arriving.keys()]);
    for (const name of new Set([...leaving.keys(), ...arriving.keys()])) {
      if (prunedNames.has(name)) continue;
      // An unchanged job in the request keeps its stored version (its merge would only move updated_at).
      const base = puts.get(name) ?? merged.get(name)?.current ?? merged.get(name)?.job ?? (await stored.get(name));
      if (!base) continue;
      const want = childrenAfter(base);
      if (!sameList(base.dependent_jobs ?? null, want)) rest.put.push({ ...base, dependent_jobs: want });
    }
    for (const job of pruned) {
      const before = definitionOf(job);
      result.deleted.push(job.name);
      result.changes.push(full ? { name: job.name, action: 'delete', before, after: null } : { name: job.name, action: 'delete' });
      rest.audit.push(auditOfDefinitions(actor, 'job.delete', job.name, before, null, { via: 'apply', prune: req.prune?.label ?? '' }));
    }
    if (!req.dryRun && (writer !== null || rest.put.length > 0 || rest.delete.length > 0)) {
      writer ??= jobsWriterOf(store, rest.put.length + rest.delete.length);
      const w = writer;
      writer = null;
      await w.commit(rest);
    }
    return result;
  } catch (err) {
    await writer?.abort();
    throw err;
  }
}
