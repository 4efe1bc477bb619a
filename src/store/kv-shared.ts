/**
 * What the key-value backends (etcd, ZooKeeper) do alike above their own
 * calls: they read a job's executions as a list and sort and page it as the
 * embedded store's SQL does, group a batch's audit entries with the job they
 * record, write and read the group index entries, retry a compare-and-swap
 * the same way, and report what they can't return to a caller the same way.
 * One copy here, so the two stay equal to each other and to SQLite (whose
 * store takes its time and slice helpers from here too).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Execution } from '../job/types.js';
import type { AuditEntry, ExecutionQuery, JobBatch, Page } from './types.js';

/**
 * What an assignment queue handed over lately, so it hands nothing over twice: a key claimed again
 * (a replayed watch event, a relist) whose claim's reply was lost reads as vanished either way, and
 * its execution is still running. Oldest forgotten first past MAX_HANDED: repeats come seconds
 * apart, 20k hand-overs are minutes even at a worker's top rate (~130 runs/s), and ~2 MB at most.
 */
const MAX_HANDED = 20_000;

export class HandedOver {
  private readonly keys = new Set<string>();

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** False when `key` was handed over already. */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > MAX_HANDED) this.keys.delete(this.keys.values().next().value as string);
    return true;
  }
}

/** Bounded optimistic retries of one read-modify-write under contention. */
export const MAX_CAS_ATTEMPTS = 50;

/** Lost a CAS race: after a few, spread the contenders out a little. */
export async function conflictPause(attempt: number): Promise<void> {
  if (attempt < 3) return;
  await sleep(Math.random() * Math.min(50, 2 ** attempt));
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function parseTick(tick: string): number {
  const ms = Date.parse(tick);
  if (Number.isNaN(ms)) throw new Error(`invalid tick "${tick}": not an RFC 3339 time`);
  return ms;
}

export function isRunning(e: Execution): boolean {
  return e.finished_at === null || e.finished_at === undefined;
}

/** Where an unfinished execution sorts by finished_at: after every finished one, as SQLite's NULLs in DESC. */
const RUNNING_SORT_KEY = 9e15;

/** SQLite's BINARY collation (the embedded store's order) compares UTF-8 bytes; so do etcd keys. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Sorts by a string key in compareBytes' order (`order` -1: reversed), turning each key into bytes once. */
export function sortBytewise<T>(items: T[], key: (item: T) => string, order: 1 | -1 = 1): T[] {
  return items
    .map((item) => ({ item, k: Buffer.from(key(item)) }))
    .sort((a, c) => order * Buffer.compare(a.k, c.k))
    .map((d) => d.item);
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

/** listGroup's order: by attempt, then start, then id (bytewise). */
export function sortGroupMembers(members: Execution[]): Execution[] {
  return members
    .map((e) => ({ e, s: toMillis(e.started_at) ?? 0 }))
    .sort((a, c) => a.e.attempt - c.e.attempt || a.s - c.s || compareBytes(a.e.id, c.e.id))
    .map((d) => d.e);
}

/** listRunning's order: by start, then job, then id (bytewise). */
export function sortRunning(running: Execution[]): Execution[] {
  return running
    .map((e) => ({ e, s: toMillis(e.started_at) ?? 0 }))
    .sort((a, c) => a.s - c.s || compareBytes(a.e.job_name, c.e.job_name) || compareBytes(a.e.id, c.e.id))
    .map((d) => d.e);
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

/** The group index entry of a finished execution, `{s: started ms}`: what prune and activity need, never the output. */
export function groupEntryValue(e: Execution): string {
  return JSON.stringify({ s: toMillis(e.started_at) ?? 0 });
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

/** Where a key-value store reports trouble it cannot return to a caller (watch loss, failed claims). */
export interface StoreLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface StoreReportOptions {
  /** Receives errors thrown by watchJobs listeners and assignment handlers. Default: process.emitWarning. */
  onListenerError?: (error: unknown) => void;
  log?: StoreLog;
}

/**
 * Where a store reports trouble it cannot return to a caller: a watch lost or
 * restarted, an assignment it could not take, a background task that failed,
 * a listener that threw. None of these may throw in turn.
 */
export class StoreReport implements StoreLog {
  private readonly onListenerError: (error: unknown) => void;
  private readonly log: StoreLog;

  /** `label` starts its messages: "etcd store", "zookeeper store". */
  constructor(
    private readonly label: string,
    options: StoreReportOptions,
  ) {
    this.onListenerError =
      options.onListenerError ?? ((error) => process.emitWarning(`${label} listener threw: ${messageOf(error)}`, 'KairosStoreWarning'));
    this.log = options.log ?? {
      warn: (obj, msg) => process.emitWarning(`${msg} ${JSON.stringify(obj)}`, 'KairosStoreWarning'),
      info: () => undefined,
    };
  }

  /** Logging never throws into a background loop (that would be an unhandled rejection). */
  warn(obj: object, msg: string): void {
    try {
      this.log.warn(obj, msg);
    } catch {
      // A broken logger must not stop watches or claims.
    }
  }

  info(obj: object, msg: string): void {
    try {
      this.log.info(obj, msg);
    } catch {
      // As warn().
    }
  }

  /** Runs a background task whose failures have nowhere to go but the log. */
  background(task: Promise<unknown>, what: string): void {
    task.catch((err: unknown) => this.warn({ err: messageOf(err) }, `${this.label}: ${what} failed`));
  }

  /** Hands an error thrown by a watch listener or assignment handler to onListenerError. */
  listenerError(err: unknown): void {
    try {
      this.onListenerError(err);
    } catch {
      // The error hook itself failing must not break event delivery.
    }
  }
}
