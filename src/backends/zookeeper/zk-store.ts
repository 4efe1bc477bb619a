/**
 * The Store over ZooKeeper (layout in layout.ts). Each concern lives in its own
 * module; this class holds the session, the fence and the live watches.
 *
 * Failure model: every call has a budget of callTimeoutMs: it waits that long
 * at most for a connection, and retries reads (and writes that can be re-sent
 * harmlessly) on CONNECTION_LOSS within it. A conditional write whose reply was
 * lost is not re-sent blind: the caller re-reads and recognises its own write.
 * With ZooKeeper unreachable every method rejects with "zookeeper unavailable:
 * ..." (HTTP 503 at the API) in about callTimeoutMs.
 */
import type { Execution, Job } from '../../job/types.js';
import type { Activity, ActivityQuery, AuditBuilder, AuditEntry, AuditQuery, CompleteOptions, DispatchOptions, ExecutionQuery, FollowUp, JobBatch, JobEvent, JobUpdater, JobsUpdater, Page, SkipRecord, Store, StoredToken } from '../../store/types.js';
import { messageOf, StoreReport, type StoreReportOptions } from '../../store/kv-shared.js';
import type { Ctx, ZkFence } from './common.js';
import { Layout } from './layout.js';
import { ZkSession, type Budget } from './session.js';
import { Subscriptions, trimChanges, watchJobs } from './watches.js';
import * as jobs from './jobs.js';
import * as executions from './executions.js';
import * as queue from './queue.js';
import * as records from './records.js';

export interface ZkStoreOptions extends StoreReportOptions {
  /** host:port of each server. */
  servers: string[];
  /** The root znode is `/<keyspace>`. */
  keyspace: string;
  /** ZooKeeper session timeout (the agent's --lease-ttl). Default 5000 ms. */
  sessionTimeoutMs?: number;
  /** Budget of one call. Default 3000 ms. */
  callTimeoutMs?: number;
}

export class ZkStore implements Store {
  readonly kind = 'zookeeper';
  readonly routesExecutions = true;
  readonly session: ZkSession;
  readonly layout: Layout;
  private readonly ctx: Ctx;
  private readonly subs: Subscriptions;
  private readonly report: StoreReport;
  private fence: ZkFence = null;
  private closed = false;
  private basesReady = -1;
  private appends = 0;
  private trimming = false;
  /** Every 50 job writes through this store, the change log is trimmed (see watches.ts). */
  private readonly onAppended = (n: number): void => {
    this.appends += n;
    if (this.appends < 50 || this.trimming || this.closed) return;
    this.appends = 0;
    this.trimming = true;
    trimChanges(this.ctx)
      .catch((err: unknown) => this.report.warn({ err: messageOf(err) }, 'zookeeper store: trimming the job change log failed'))
      .finally(() => (this.trimming = false));
  };

  /** Connects lazily: resolves even when ZooKeeper is down (use ping() to check). */
  static async connect(options: ZkStoreOptions): Promise<ZkStore> {
    return new ZkStore(options);
  }

  constructor(options: ZkStoreOptions) {
    this.layout = new Layout(options.keyspace);
    this.report = new StoreReport('zookeeper store', options);
    this.session = new ZkSession({
      servers: options.servers,
      sessionTimeoutMs: Math.max(1000, options.sessionTimeoutMs ?? 5000),
      callTimeoutMs: Math.max(100, options.callTimeoutMs ?? 3000),
      probePath: '/',
      log: this.report,
    });
    this.subs = new Subscriptions(this.session);
    this.session.on('appended', this.onAppended);
    this.ctx = {
      s: this.session,
      l: this.layout,
      report: this.report,
      budget: () => {
        this.assertOpen();
        return this.session.budget();
      },
      ready: (b) => this.ready(b),
      fence: () => this.fence,
      isClosed: () => this.closed,
    };
  }

  /** Creates the base nodes once (they are never removed by Kairos). */
  private async ready(b: Budget): Promise<void> {
    if (this.basesReady === this.session.generation) return;
    const generation = this.session.generation;
    for (const base of this.layout.bases) await this.session.ensure(b, base);
    this.basesReady = generation;
  }

  /** A cheap read of the root znode; rejects with "zookeeper unavailable" when no server answers. */
  async ping(): Promise<void> {
    await this.session.exists(this.ctx.budget(), 'ping', this.layout.root);
  }

  /**
   * Fence for commitTick, set by the cluster on leadership changes: { path } makes every tick
   * commit also check that the leader's election node still exists; 'none' makes commitTick
   * resolve false without writing (not the leader); null (default) disables fencing (tests).
   */
  setFence(fence: ZkFence): void {
    this.fence = fence;
  }

  getJob(name: string): Promise<Job | null> {
    return jobs.getJob(this.ctx, name);
  }

  listJobs(page?: { offset: number; limit: number }): Promise<Job[]> {
    return jobs.listJobs(this.ctx, page);
  }

  countJobs(): Promise<number> {
    return jobs.countJobs(this.ctx);
  }

  updateJob(name: string, fn: JobUpdater, audit?: AuditBuilder): Promise<Job | null> {
    return jobs.updateJob(this.ctx, name, fn, audit);
  }

  updateJobs(names: string[], fn: JobsUpdater, audit?: AuditBuilder): Promise<Map<string, Job | null>> {
    return jobs.updateJobs(this.ctx, names, fn, audit);
  }

  deleteJob(name: string, audit?: AuditBuilder): Promise<Job | null> {
    return jobs.deleteJob(this.ctx, name, audit);
  }

  writeJobs(batch: JobBatch): Promise<void> {
    return jobs.writeJobs(this.ctx, batch);
  }

  putExecution(execution: Execution): Promise<void> {
    return executions.putExecution(this.ctx, execution);
  }

  completeExecution(execution: Execution, fn: JobUpdater, options?: CompleteOptions): Promise<Job | null> {
    return executions.completeExecution(this.ctx, execution, fn, options);
  }

  getExecution(jobName: string, id: string): Promise<Execution | null> {
    return executions.getExecution(this.ctx, jobName, id);
  }

  listExecutions(jobName: string, query?: ExecutionQuery): Promise<Page<Execution>> {
    return executions.listExecutions(this.ctx, jobName, query);
  }

  listGroup(jobName: string, group: number): Promise<Execution[]> {
    return executions.listGroup(this.ctx, jobName, group);
  }

  listRunning(jobName?: string): Promise<Execution[]> {
    return executions.listRunning(this.ctx, jobName);
  }

  deleteExecutions(jobName: string): Promise<number> {
    return executions.deleteExecutions(this.ctx, jobName);
  }

  pruneExecutions(jobName: string, keep: number): Promise<number> {
    return executions.pruneExecutions(this.ctx, jobName, keep);
  }

  dispatchExecutions(list: Execution[], options?: DispatchOptions): Promise<boolean> {
    return executions.dispatchExecutions(this.ctx, list, options);
  }

  getLastTick(jobName: string): Promise<string | null> {
    return queue.getLastTick(this.ctx, jobName);
  }

  listLastTicks(): Promise<Map<string, string>> {
    return queue.listLastTicks(this.ctx);
  }

  commitTick(jobName: string, tick: string, list: Execution[], options?: DispatchOptions): Promise<boolean> {
    return queue.commitTick(this.ctx, jobName, tick, list, options);
  }

  consumeAssignments(node: string, handler: (execution: Execution) => void): () => void {
    if (this.closed) return () => undefined;
    return queue.consumeAssignments(this.ctx, this.subs, node, handler);
  }

  listFollowUps(node?: string): Promise<FollowUp[]> {
    return queue.listFollowUps(this.ctx, node);
  }

  deleteFollowUp(job: string, group: number): Promise<void> {
    return queue.deleteFollowUp(this.ctx, job, group);
  }

  getSetting(key: string): Promise<string | null> {
    return records.getSetting(this.ctx, key);
  }

  setSetting(key: string, value: string | null, audit?: AuditEntry): Promise<void> {
    return records.setSetting(this.ctx, key, value, audit);
  }

  recordSkips(jobName: string, skips: SkipRecord[]): Promise<Job | null> {
    return records.recordSkips(this.ctx, jobName, skips);
  }

  listSkips(jobName: string, page?: { start?: number; end?: number }): Promise<Page<SkipRecord>> {
    return records.listSkips(this.ctx, jobName, page);
  }

  activity(query: ActivityQuery): Promise<Activity> {
    return records.activity(this.ctx, query);
  }

  listTokens(): Promise<StoredToken[]> {
    return records.listTokens(this.ctx);
  }

  createToken(token: StoredToken, audit: AuditEntry): Promise<boolean> {
    return records.createToken(this.ctx, token, audit);
  }

  deleteToken(name: string, audit: AuditEntry): Promise<StoredToken | null> {
    return records.deleteToken(this.ctx, name, audit);
  }

  appendAudit(entry: AuditEntry): Promise<void> {
    return records.appendAudit(this.ctx, entry);
  }

  listAudit(query?: AuditQuery): Promise<Page<AuditEntry>> {
    return records.listAudit(this.ctx, query);
  }

  watchJobs(listener: (event: JobEvent) => void): () => void {
    if (this.closed) return () => undefined;
    return watchJobs(this.ctx, this.subs, listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subs.closeAll();
    this.session.off('appended', this.onAppended);
    this.session.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`zookeeper store ${this.layout.root} on ${this.session.servers} is closed`);
  }
}
