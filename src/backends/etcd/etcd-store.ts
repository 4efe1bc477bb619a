/**
 * The cluster backend: every agent talks to etcd directly.
 *
 * EtcdStore implements Store by handing each call to the part that owns its
 * concern; all parts share one call layer. To read it one concern at a time:
 *   keys.ts             the keyspace layout (what lives under which key) and key helpers
 *   calls.ts            the etcd3 client and every RPC: deadlines, retries, the failure
 *                       model, op and compare builders
 *   jobs.ts             job definitions: reads (a burst's reads in one round trip), CAS updates, bulk writes
 *   ticks.ts            last ticks; commitTick under the leadership fence (a burst's commits in one txn)
 *   executions.ts       execution records: store, complete (with the group outcome), list, prune
 *   execution-index.ts  the running/, groups/ and assign/ entries written beside each execution
 *   queue.ts            each agent's assignment queue, and follow-ups of finished groups
 *   records.ts          settings, skipped ticks, API tokens, the audit log, the activity view
 *   watches.ts          the job watch, and the reconnect handling every watch shares
 *   options.ts          EtcdStoreOptions
 * What both key-value backends do alike (sorting and paging in memory, the CAS retry pause,
 * StoreReport: where trouble with no caller to return to goes) is in store/kv-shared.ts.
 */
import type { Etcd3, Namespace } from 'etcd3';
import type { Execution, Job } from '../../job/types.js';
import type {
  Activity,
  ActivityQuery,
  AuditBuilder,
  AuditEntry,
  AuditQuery,
  CompleteOptions,
  DispatchOptions,
  ExecutionQuery,
  FollowUp,
  JobBatch,
  JobEvent,
  JobUpdater,
  JobsUpdater,
  Page,
  SkipRecord,
  Store,
  StoredToken,
} from '../../store/types.js';
import { StoreReport } from '../../store/kv-shared.js';
import { EtcdCalls } from './calls.js';
import { ExecutionIndex } from './execution-index.js';
import { Executions } from './executions.js';
import { Jobs } from './jobs.js';
import { Ticks, type TickFence } from './ticks.js';
import type { EtcdStoreOptions } from './options.js';
import { Queue } from './queue.js';
import { Records } from './records.js';
import { Watches } from './watches.js';

export { EtcdUnavailableError } from './calls.js';
export type { TickFence } from './ticks.js';
export type { EtcdStoreOptions } from './options.js';

export class EtcdStore implements Store {
  readonly kind = 'etcd';
  readonly routesExecutions = true;
  /** The root client (no namespace), shared with the cluster module. */
  readonly client: Etcd3;
  /** The client namespaced to `<keyspace>/`: leases, election and watches use it. */
  readonly ns: Namespace;

  private readonly calls: EtcdCalls;
  private readonly jobs: Jobs;
  private readonly ticks: Ticks;
  private readonly executions: Executions;
  private readonly queue: Queue;
  private readonly records: Records;
  private readonly watches: Watches;

  /** Connects lazily: resolves even when etcd is down (use ping() to check). */
  static async connect(options: EtcdStoreOptions): Promise<EtcdStore> {
    return new EtcdStore(options);
  }

  constructor(options: EtcdStoreOptions) {
    this.calls = new EtcdCalls(options);
    this.client = this.calls.client;
    this.ns = this.calls.ns;
    const report = new StoreReport('etcd store', options);
    const index = new ExecutionIndex(this.calls);
    this.jobs = new Jobs(this.calls, index);
    // Records a tick commit writes count toward pruneExecutions' estimate (executions.ts).
    this.ticks = new Ticks(this.calls, index, (job, n) => this.executions.wrote(job, n));
    this.executions = new Executions(this.calls, index);
    this.watches = new Watches(this.calls, report);
    this.queue = new Queue(this.calls, this.watches, report);
    this.records = new Records(this.calls);
  }

  /** A cheap linearizable read; rejects with "etcd unavailable" when the cluster can't answer. */
  ping(): Promise<void> {
    return this.calls.ping();
  }

  /** Fence for commitTick, set by the cluster module on leadership changes (see Ticks.setFence). */
  setFence(fence: TickFence): void {
    this.ticks.setFence(fence);
  }

  async close(): Promise<void> {
    if (this.calls.closed) return;
    this.calls.markClosed();
    // Watchers must be detached before the client closes, or etcd3 keeps re-dialling a closed pool.
    await this.watches.closeAll();
    this.client.close();
  }

  // ---- jobs (jobs.ts) ----

  getJob(name: string): Promise<Job | null> {
    return this.jobs.getJob(name);
  }

  listJobs(page?: { offset: number; limit: number }): Promise<Job[]> {
    return this.jobs.listJobs(page);
  }

  countJobs(): Promise<number> {
    return this.jobs.countJobs();
  }

  updateJob(name: string, fn: JobUpdater, audit?: AuditBuilder): Promise<Job | null> {
    return this.jobs.updateJob(name, fn, audit);
  }

  updateJobs(names: string[], fn: JobsUpdater, audit?: AuditBuilder): Promise<Map<string, Job | null>> {
    return this.jobs.updateJobs(names, fn, audit);
  }

  writeJobs(batch: JobBatch): Promise<void> {
    return this.jobs.writeJobs(batch);
  }

  deleteJob(name: string, audit?: AuditBuilder): Promise<Job | null> {
    return this.jobs.deleteJob(name, audit);
  }

  // ---- ticks (ticks.ts) ----

  getLastTick(jobName: string): Promise<string | null> {
    return this.ticks.getLastTick(jobName);
  }

  listLastTicks(): Promise<Map<string, string>> {
    return this.ticks.listLastTicks();
  }

  commitTick(jobName: string, tick: string, executions: Execution[], options?: DispatchOptions): Promise<boolean> {
    return this.ticks.commitTick(jobName, tick, executions, options);
  }

  // ---- executions (executions.ts) ----

  putExecution(execution: Execution): Promise<void> {
    return this.executions.putExecution(execution);
  }

  dispatchExecutions(executions: Execution[], options?: DispatchOptions): Promise<boolean> {
    return this.executions.dispatchExecutions(executions, options);
  }

  completeExecution(execution: Execution, fn: JobUpdater, options?: CompleteOptions): Promise<Job | null> {
    return this.executions.completeExecution(execution, fn, options);
  }

  getExecution(jobName: string, id: string): Promise<Execution | null> {
    return this.executions.getExecution(jobName, id);
  }

  listExecutions(jobName: string, query?: ExecutionQuery): Promise<Page<Execution>> {
    return this.executions.listExecutions(jobName, query);
  }

  listGroup(jobName: string, group: number): Promise<Execution[]> {
    return this.executions.listGroup(jobName, group);
  }

  listRunning(jobName?: string): Promise<Execution[]> {
    return this.executions.listRunning(jobName);
  }

  deleteExecutions(jobName: string): Promise<number> {
    return this.executions.deleteExecutions(jobName);
  }

  pruneExecutions(jobName: string, keep: number): Promise<number> {
    return this.executions.pruneExecutions(jobName, keep);
  }

  // ---- assignments and follow-ups (queue.ts) ----

  consumeAssignments(node: string, handler: (execution: Execution, job?: Job | null) => void): () => void {
    return this.queue.consumeAssignments(node, handler);
  }

  listFollowUps(node?: string): Promise<FollowUp[]> {
    return this.queue.listFollowUps(node);
  }

  deleteFollowUp(job: string, group: number): Promise<void> {
    return this.queue.deleteFollowUp(job, group);
  }

  // ---- settings, skips, tokens, audit, activity (records.ts) ----

  getSetting(key: string): Promise<string | null> {
    return this.records.getSetting(key);
  }

  setSetting(key: string, value: string | null, audit?: AuditEntry): Promise<void> {
    return this.records.setSetting(key, value, audit);
  }

  recordSkips(jobName: string, skips: SkipRecord[]): Promise<Job | null> {
    return this.records.recordSkips(jobName, skips);
  }

  listSkips(jobName: string, page?: { start?: number; end?: number }): Promise<Page<SkipRecord>> {
    return this.records.listSkips(jobName, page);
  }

  activity(query: ActivityQuery): Promise<Activity> {
    return this.records.activity(query);
  }

  listTokens(): Promise<StoredToken[]> {
    return this.records.listTokens();
  }

  createToken(token: StoredToken, audit: AuditEntry): Promise<boolean> {
    return this.records.createToken(token, audit);
  }

  deleteToken(name: string, audit: AuditEntry): Promise<StoredToken | null> {
    return this.records.deleteToken(name, audit);
  }

  appendAudit(entry: AuditEntry): Promise<void> {
    return this.records.appendAudit(entry);
  }

  listAudit(query?: AuditQuery): Promise<Page<AuditEntry>> {
    return this.records.listAudit(query);
  }

  // ---- watches (watches.ts) ----

  watchJobs(listener: (event: JobEvent) => void): () => void {
    return this.watches.watchJobs(listener);
  }
}
