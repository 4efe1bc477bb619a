/**
 * What the key-value backends (etcd, ZooKeeper) do alike above their own
 * calls: they read a job's executions as a list and sort and page it as the
 * embedded store's SQL does, group a batch's audit entries with the job they
 * record, and read the group index entries. One copy here, so the two stay
 * equal to each other and to SQLite.
 */
import type { Execution } from '../job/types.js';
import type { AuditEntry, ExecutionQuery, JobBatch, Page } from './types.js';

/** Where an unfinished execution sorts by finished_at: after every finished one, as SQLite's NULLs in DESC. */
const RUNNING_SORT_KEY = 9e15;

/** SQLite's BINARY collation (the embedded store's order) compares UTF-8 bytes; so do etcd keys. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Clamp a slice bound; non-numbers fall back to the default. */
export function bound(value: number | undefined, fallback: number, total: number): number {
  if (value === undefined || !Number.isFinite(value)) return fallback;
  return Math.min(Math.max(Math.trunc(value), 0), total);
}

export function toMillis(value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const ms = Date.parse(value);
  // An unparseable time must still be a finished/started record; 0 sorts it as the oldest.
  return Number.isNaN(ms) ? 0 : ms;
}

/** Refuses what the embedded store's SQL can't sort by either, with the same message. */
export function checkExecutionQuery(query: ExecutionQuery): { sort: NonNullable<ExecutionQuery['sort']>; order: NonNullable<ExecutionQuery['order']> } {
  const sort = query.sort ?? 'started_at';
  const order = query.order ?? 'desc';
  if (!['started_at', 'finished_at', 'attempt'].includes(sort) || !['asc', 'desc'].includes(order)) {
    throw new Error(`listExecutions: unsupported sort "${String(sort)}" / order "${String(order)}"`);
  }
  return { sort, order };
}

/** A job's executions, read whole, sorted and sliced as listExecutions answers (ties by id, bytewise). */
export function pageExecutions(all: Execution[], query: ExecutionQuery): Page<Execution> {
  const { sort, order } = checkExecutionQuery(query);
  const total = all.length;
  const start = bound(query.start, 0, total);
  const end = bound(query.end, total, total);
  if (start >= end) return { items: [], total };
  const sortKey = (e: Execution): number => {
    if (sort === 'attempt') return e.attempt;
    if (sort === 'finished_at') return toMillis(e.finished_at) ?? RUNNING_SORT_KEY;
    return toMillis(e.started_at) ?? 0;
  };
  const dir = order === 'asc' ? 1 : -1;
  const decorated = all.map((e) => ({ e, k: sortKey(e) }));
  decorated.sort((a, b) => dir * (a.k - b.k || compareBytes(a.e.id, b.e.id)));
  return { items: decorated.slice(start, end).map((d) => d.e), total };
}

/**
 * A batch's audit entries by the job each records, so a backend that splits a
 * batch into several transactions writes each job with its own entries.
 * `take(name)` hands a job's entries over once; `loose` are the rest.
 */
export function auditByJob(batch: JobBatch): { take: (name: string) => AuditEntry[]; loose: AuditEntry[] } {
  const byJob = new Map<string, AuditEntry[]>();
  const loose: AuditEntry[] = [];
  const named = new Set([...batch.put.map((j) => j.name), ...batch.delete]);
  for (const entry of batch.audit) {
    if (entry.job !== null && named.has(entry.job)) byJob.set(entry.job, [...(byJob.get(entry.job) ?? []), entry]);
    else loose.push(entry);
  }
  return {
    take: (name) => {
      const entries = byJob.get(name) ?? [];
      byJob.delete(name);
      return entries;
    },
    loose,
  };
}

/** The start time (epoch ms) in a group index entry `{s: ms}`; -1 when it can't be read. */
export function groupEntryStartedMs(value: string): number {
  try {
    const s = (JSON.parse(value) as { s?: unknown }).s;
    return typeof s === 'number' ? s : -1;
  } catch {
    return -1;
  }
}
