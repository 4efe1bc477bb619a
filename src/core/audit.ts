/**
 * Who does what: the actor of a request and the audit entries its changes
 * leave. Entries hold job *definitions* (what a person wrote), not the
 * counters the agents keep updating, so a diff of before/after reads as the change.
 */
import type { Job } from '../job/types.js';
import type { AuditBuilder, AuditEntry } from '../store/types.js';
import { auditId } from '../util/ids.js';
import { iso } from '../job/time.js';

export interface Actor {
  /** Token name, `cert:<CN>`, `anonymous`, or `kairos` for the agent's own changes. */
  name: string;
  /** Tags the actor is limited to; empty for every job. */
  scope: Record<string, string>;
}

export const SYSTEM_ACTOR: Actor = { name: 'kairos', scope: {} };

/**
 * A job is inside a scope when each scoped tag is on the job with that value.
 * Job tag values may carry a count (`"team": "data:2"`); the count is ignored.
 */
export function tagsInScope(tags: Record<string, string> | null | undefined, scope: Record<string, string>): boolean {
  for (const [k, want] of Object.entries(scope)) {
    const have = tags?.[k];
    if (have === undefined) return false;
    if (have !== want && have.replace(/:\d+$/, '') !== want) return false;
  }
  return true;
}

/** Fields the agents own; left out of audit entries (and of job files, later). */
export const SERVER_OWNED: ReadonlySet<string> = new Set([
  'id',
  'success_count',
  'error_count',
  'last_success',
  'last_error',
  'dependent_jobs',
  'status',
  'next',
  'skip_count',
  'last_skip',
  'last_skip_reason',
  'last_group',
  'backfills',
  'created_at',
  'updated_at',
]);

export function definitionOf(job: Job | null): Record<string, unknown> | null {
  if (job === null) return null;
  // A plain loop: a bulk save of 100k jobs calls this several times per job.
  const out: Record<string, unknown> = {};
  const fields = job as unknown as Record<string, unknown>;
  for (const k of Object.keys(fields)) {
    if (!SERVER_OWNED.has(k)) out[k] = fields[k];
  }
  return out;
}

export function auditEntry(
  actor: Actor,
  action: string,
  job: string | null,
  parts: { before?: Job | null; after?: Job | null; detail?: Record<string, unknown> | null } = {},
): AuditEntry {
  return auditOfDefinitions(actor, action, job, definitionOf(parts.before ?? null), definitionOf(parts.after ?? null), parts.detail ?? null);
}

/** auditEntry for a caller that already has the definitions (a bulk save computes them for its diff). */
export function auditOfDefinitions(
  actor: Actor,
  action: string,
  job: string | null,
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
  detail: Record<string, unknown> | null,
): AuditEntry {
  const now = Date.now();
  return { id: auditId(now), at: iso(now), actor: actor.name, action, job, before, after, detail };
}

/** The audit builder of a job write: create, update or delete by what the store saw. */
export function jobAudit(actor: Actor, action?: string, detail?: Record<string, unknown>): AuditBuilder {
  return (before, after) => {
    const name = (after ?? before)?.name ?? null;
    const what = action ?? (before === null ? 'job.create' : after === null ? 'job.delete' : 'job.update');
    return auditEntry(actor, what, name, { before, after, detail: detail ?? null });
  };
}
