/**
 * The one storage interface. The embedded SQLite store fills it for a single
 * node; etcd (and later ZooKeeper) fill it for clusters. Everything above the
 * store (core, scheduler, API) speaks only this interface.
 *
 * Contract every backend keeps:
 * - a resolved write is durable (survives kill -9 of the agent);
 * - `updateJob` and `completeExecution` are atomic read-modify-writes; CAS
 *   backends may call the callback more than once, so callbacks must be pure;
 * - `commitTick` is the exactly-once fence of the scheduler.
 */
import type { Execution, Job, JobTiming, Trigger } from '../job/types.js';

export type SortOrder = 'asc' | 'desc';

export interface ExecutionQuery {
  sort?: 'started_at' | 'finished_at' | 'attempt';
  order?: SortOrder;
  /** Slice [start, end) of the sorted list; end defaults to the total. */
  start?: number;
  end?: number;
}

export interface Page<T> {
  items: T[];
  total: number;
}

export interface DispatchOptions {
  /**
   * `concurrency: forbid`: write only if the job has no running execution, checked
   * in the same atomic step, so two agents dispatching at once can't both start a run.
   */
  exclusive?: boolean;
  /** dispatchExecutions only: an audit entry (who asked for the run) written in the same atomic step. */
  audit?: AuditEntry;
  /**
   * commitTick only: commit without the leadership fence. For ticks any agent may commit (a
   * fan-in window, decided by whichever agent stored its last parent's success): the tick's own
   * compare-and-set still lets each tick through once.
   */
  unfenced?: boolean;
}

export interface CompleteOptions {
  /**
   * The next attempt of a failed execution, stored in the same atomic step as the
   * result: the group never looks finished (nor the job idle, for forbid) between attempts.
   */
  next?: Execution;
  /**
   * Decides the group's outcome in the same atomic step: called (possibly more than once,
   * so it must be pure) with the job as `fn` left it and every execution of the group as
   * stored after this write. A returned job replaces it; a returned `followUp` (the children
   * to run, possibly none) is stored as a durable FollowUp, so a crash or outage right after
   * the write delays what the group's success triggers, never drops it.
   */
  group?: (job: Job, members: Execution[]) => { job: Job; followUp?: string[] } | undefined;
}

/** Dependents still to run for a group that finished successfully (see CompleteOptions.group). */
export interface FollowUp {
  job: string;
  group: number;
  /** The agent that finished the group; it runs them, or the leader when that agent is lost. */
  node: string;
  children: string[];
}

/**
 * completeExecution for an execution that is already finished with another result
 * (typically closed as "agent lost" by the leader): nothing is written, the job is
 * not counted again. Re-sending the very same result is not an error.
 */
export class ExecutionClosedError extends Error {
  constructor(
    readonly jobName: string,
    readonly id: string,
  ) {
    super(`execution ${jobName}/${id} is already closed; late result refused`);
    this.name = 'ExecutionClosedError';
  }
}

export type JobEvent = { type: 'put'; job: Job } | { type: 'delete'; name: string };

/** Returning undefined from an updater leaves the record untouched. */
export type JobUpdater = (current: Job | null) => Job | null | undefined;

/** Why a tick (or a requested run) did not run. */
export type SkipCode = 'no_leader' | 'catch_up_skip' | 'starting_deadline' | 'forbid' | 'no_agent' | 'no_executor' | 'not_runnable' | 'dispatch_failed' | 'no_capacity';

/**
 * A tick that did not run, kept so an operator can answer "did last night's
 * 02:00 run, and if not why". A long gap is one record for many ticks
 * (`count` > 1, from `scheduled_at` to `until`).
 */
export interface SkipRecord {
  /** Sorts in time order (see util/ids.ts auditId). */
  id: string;
  job: string;
  /** The tick that did not run (for a refused run-now: when it was asked for). */
  scheduled_at: string;
  /** The last tick of a multi-tick record; null for one tick. */
  until: string | null;
  count: number;
  code: SkipCode;
  reason: string;
  trigger: Trigger;
  recorded_at: string;
  /** The agent that recorded it (the leader, or the agent that refused a run-now). */
  node: string;
}

/** Skip records kept per job (oldest pruned first). */
export const SKIPS_KEPT = 1000;

export type Role = 'read' | 'operate' | 'admin';

/** An API token as stored: only a hash of the secret, never the secret itself. */
export interface StoredToken {
  name: string;
  role: Role;
  /** Tags a scoped token is limited to (empty: every job). */
  scope: Record<string, string>;
  /** SHA-256 of the whole token string, hex. */
  hash: string;
  created_at: string;
  created_by: string;
}

/** One change in the audit log. `id` sorts in time order across agents. */
export interface AuditEntry {
  id: string;
  at: string;
  /** Token name, `cert:<CN>` for a client certificate, `anonymous`, or `cli` for a local command. */
  actor: string;
  action: string;
  job: string | null;
  /** The job's definition before and after the change (server-owned counters left out). */
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  detail: Record<string, unknown> | null;
}

export interface AuditQuery {
  job?: string;
  /** Slice [start, end) of the entries, newest first. */
  start?: number;
  end?: number;
}

/**
 * Builds the audit entry of a job write from the stored job before and after it,
 * inside the store's atomic step; null records nothing (e.g. nothing changed).
 */
export type AuditBuilder = (before: Job | null, after: Job | null) => AuditEntry | null;

/**
 * Atomic read-modify-write of several jobs: gets each named job (null when absent) and
 * returns new versions of the ones it changes (null deletes); names it leaves out stay untouched.
 */
export type JobsUpdater = (current: ReadonlyMap<string, Job | null>) => Map<string, Job | null>;

/** What `Store.writeJobs` writes; `audit[i]` may name any job of the batch. */
export interface JobBatch {
  /** Whole jobs to store as given; the store may hand these objects to watchers, so don't change them afterwards. */
  put: Job[];
  delete: string[];
  audit: AuditEntry[];
}

/**
 * A bulk write in parts: put() hands over jobs and audit entries as they are decided, commit()
 * adds the rest of the batch and makes all of it durable as one write (events after it), abort()
 * drops it all. Nothing put is visible to readers before commit. Between the first put and the
 * end of commit or abort the caller must not wait on anything else that writes to the store
 * (the embedded writer holds the store's write lock on another thread all that time).
 */
export interface JobsWriter {
  put(jobs: readonly Job[], audit: readonly AuditEntry[]): void;
  commit(rest: JobBatch): Promise<void>;
  abort(): Promise<void>;
}

/** What `Store.activity` counts: executions and skipped ticks over time, across all jobs. */
export interface ActivityQuery {
  /** Start of the first bucket (RFC 3339); buckets run from here to now. */
  since: string;
  bucketMs: number;
  /** How many of the newest failed executions of the window to return. */
  failures: number;
  /** Only these jobs (a scoped token's view); absent: every job. */
  jobs?: readonly string[];
}

/** One bucket, starting at `t`: finished executions by result (by started_at) and skipped ticks (by tick). */
export interface ActivityBucket {
  t: string;
  success: number;
  failed: number;
  skipped: number;
}

export interface Activity {
  buckets: ActivityBucket[];
  /** Failed executions of the window, newest first, without their output. */
  recentFailures: Execution[];
}

export interface Store {
  readonly kind: string;
  /**
   * True when the store itself carries executions to the agents that run them
   * (etcd: an assignment queue per agent). False for the embedded store, where
   * the dispatcher hands executions straight to the local runner.
   */
  readonly routesExecutions: boolean;

  getJob(name: string): Promise<Job | null>;
  /** Jobs sorted by name (byte order): all of them, or the slice [offset, offset + limit). */
  listJobs(page?: { offset: number; limit: number }): Promise<Job[]>;
  /**
   * Optional: the timing fields of the next `limit` jobs by name after `after` ('' = from the
   * start). The leader loads its scheduler page by page with it, reading only what decides when a
   * job fires, so a million definitions are never all parsed or in memory at once.
   */
  listJobTimingsAfter?(after: string, limit: number): Promise<JobTiming[]>;
  /**
   * Optional: the next `limit` jobs by name after `after` ('' = from the start), only those whose
   * stored JSON contains `text` when it is given (a prefilter: the caller still applies its own
   * filter). A filtered list walks the jobs page by page with it, holding only the matches, instead
   * of every job at once (3.6 GB at a million jobs).
   */
  listJobsAfter?(after: string, limit: number, text?: string): Promise<Job[]>;
  countJobs(): Promise<number>;
  /**
   * Atomic read-modify-write. Returns the job as stored afterwards (null when absent/deleted).
   * `audit` is written in the same atomic step as the job, only when the job changed.
   */
  updateJob(name: string, fn: JobUpdater, audit?: AuditBuilder): Promise<Job | null>;
  /**
   * updateJob over several jobs in one atomic step (a child and the parents it links to).
   * Returns every named job as stored afterwards. Callbacks must be pure, as for updateJob.
   * `audit` is built from the first named job before and after, and written in the same
   * atomic step when that job changed.
   */
  updateJobs(names: string[], fn: JobsUpdater, audit?: AuditBuilder): Promise<Map<string, Job | null>>;
  /** Deletes the job, its executions and its scheduler state (and writes `audit` with it). Returns the deleted job. */
  deleteJob(name: string, audit?: AuditBuilder): Promise<Job | null>;
  /**
   * A bulk write (`POST /v1/jobs/bulk`): puts whole job bodies, deletes jobs (with their
   * executions, ticks and skips, as deleteJob) and appends audit entries. Embedded: one
   * transaction. etcd: one transaction when it fits --max-txn-ops, otherwise several in
   * order, each job write with its own audit entry (see docs/decisions.md). Unconditional:
   * the caller decided from a read of the jobs it replaces.
   */
  writeJobs(batch: JobBatch): Promise<void>;
  /**
   * Optional: a bulk write fed in parts while the caller is still validating the rest, for a
   * batch of about `expected` jobs (see JobsWriter). Null, or absent, when the store has nothing
   * better than writeJobs at the end (jobsWriterOf buffers for it).
   */
  openJobsWriter?(expected: number): JobsWriter | null;

  /**
   * Insert or replace one execution (key: job_name + id). A running record never replaces a
   * finished one (rejects with ExecutionClosedError): a late start record can't reopen a closed run.
   */
  putExecution(execution: Execution): Promise<void>;
  /**
   * Store a finished execution and update its job (and store `options.next`) in one
   * atomic step. Rejects with ExecutionClosedError, writing nothing, when the stored
   * execution already finished with a different result.
   */
  completeExecution(execution: Execution, fn: JobUpdater, options?: CompleteOptions): Promise<Job | null>;
  getExecution(jobName: string, id: string): Promise<Execution | null>;
  listExecutions(jobName: string, query?: ExecutionQuery): Promise<Page<Execution>>;
  /** Every execution of one group (all nodes, all attempts). */
  listGroup(jobName: string, group: number): Promise<Execution[]>;
  /** Executions with finished_at null, of one job or of all jobs. */
  listRunning(jobName?: string): Promise<Execution[]>;
  deleteExecutions(jobName: string): Promise<number>;
  /** Keep the newest `keep` executions of a job (by started_at), delete older ones. */
  pruneExecutions(jobName: string, keep: number): Promise<number>;

  /** The scheduled instant (RFC 3339) of the last tick dispatched for the job. */
  getLastTick(jobName: string): Promise<string | null>;
  /** Every job's last dispatched tick, in one read (a new leader loads them all at once). */
  listLastTicks(): Promise<Map<string, string>>;
  /**
   * Record that `tick` was dispatched and store its executions, atomically.
   * Resolves false, writing nothing, when a tick at or after `tick` is already recorded.
   */
  commitTick(jobName: string, tick: string, executions: Execution[], options?: DispatchOptions): Promise<boolean>;

  /**
   * Store executions of a run-now or dependent run (not a tick), and route them when the store routes.
   * Resolves false, writing nothing, when `exclusive` and the job has a running execution.
   */
  dispatchExecutions(executions: Execution[], options?: DispatchOptions): Promise<boolean>;
  /**
   * Only for stores that route executions: hand each execution assigned to
   * `node` to `handler` exactly once (claimed atomically), existing ones first. `job`: the job
   * as read with the claim (null: deleted), when the store read it; otherwise the handler reads it.
   */
  consumeAssignments?(node: string, handler: (execution: Execution, job?: Job | null) => void): () => void;

  /** Follow-ups not yet done, of one agent or of all. */
  listFollowUps(node?: string): Promise<FollowUp[]>;
  /** Marks a follow-up done (deleting an absent one is not an error). */
  deleteFollowUp(job: string, group: number): Promise<void>;

  /** Small cluster-wide settings (e.g. the pause flag); `audit`, when given, is written in the same atomic step. */
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string | null, audit?: AuditEntry): Promise<void>;

  /**
   * Appends skip records of one job and counts them on the job (`skip_count`, `last_skip`,
   * `last_skip_reason`) in one atomic step; keeps the newest SKIPS_KEPT records. A record whose id
   * is already stored is neither written nor counted again. Resolves the job as stored afterwards,
   * or null (nothing written) when the job does not exist.
   */
  recordSkips(jobName: string, skips: SkipRecord[]): Promise<Job | null>;
  /** A job's skip records, newest first. */
  listSkips(jobName: string, page?: { start?: number; end?: number }): Promise<Page<SkipRecord>>;

  /** Executions and skips of every job (or `query.jobs`) per time bucket, and the latest failures: the dashboard. */
  activity(query: ActivityQuery): Promise<Activity>;

  /** API tokens of the cluster (hashed), sorted by name. */
  listTokens(): Promise<StoredToken[]>;
  /** Create-only, with its audit entry in the same atomic step: resolves false, writing nothing, when the name is taken. */
  createToken(token: StoredToken, audit: AuditEntry): Promise<boolean>;
  /** Deletes a token and writes its audit entry atomically. Resolves the deleted token, or null (nothing written). */
  deleteToken(name: string, audit: AuditEntry): Promise<StoredToken | null>;
  /** Records a change that is not a job or token write (run-now, pause...). Durable when resolved. */
  appendAudit(entry: AuditEntry): Promise<void>;
  /** The audit log, newest first, of one job or of everything. */
  listAudit(query?: AuditQuery): Promise<Page<AuditEntry>>;

  /** Follow job writes made through any agent. Returns an unsubscribe function. */
  watchJobs(listener: (event: JobEvent) => void): () => void;

  close(): Promise<void>;
}
