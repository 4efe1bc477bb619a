/**
 * Turns a tick or a run request into executions on chosen agents. A tick is
 * committed to the store together with its execution records (the store's
 * fence), so a tick is dispatched once even if two schedulers race. Skips
 * (forbid overlap, no matching agent) are recorded on the job, not dropped.
 */
import type { Logger } from '../util/log.js';
import type { Execution, Job, Trigger } from '../job/types.js';
import type { AuditEntry, SkipCode, SkipRecord, Store } from '../store/types.js';
import type { Cluster, Member } from './types.js';
import { describeTags, missing, requirementsOf, selectTargets, tagMatches } from './targets.js';
import { adHocGroup, auditId, executionId, tickGroup } from '../util/ids.js';
import { iso } from '../job/time.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import type { MissedEvent, TickEvent } from '../scheduler/scheduler.js';
import type { EventBus } from '../events/bus.js';

/** Where executions for this agent go (the runner), and for others (issue: remote dispatch). */
export interface ExecutionSink {
  deliver(execution: Execution): void;
}

export interface DispatchResult {
  executions: Execution[];
  skipped?: string;
  skipCode?: SkipCode;
}

export interface RunNowOptions {
  /** Run even when `concurrency: forbid` and a run is in progress. */
  force?: boolean;
  /** False for a job the caller may not see: it answers as missing. */
  visible?: (job: Job) => boolean;
  /** The audit entry of the run, from the executions it is about to start. */
  audit?: (executions: Execution[]) => AuditEntry;
}

export class Dispatcher {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: Store,
    private readonly cluster: Cluster,
    private readonly sink: ExecutionSink,
    private readonly log: Logger,
    private readonly events?: EventBus,
  ) {}

  /** Serialises dispatch per job so a forbid check and its commit can't interleave with another run. */
  private withJobLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(name, tail);
    void tail.then(() => {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    });
    return next;
  }

  async dispatchTick(tick: TickEvent): Promise<DispatchResult> {
    return this.withJobLock(tick.name, async () => {
      const job = await this.store.getJob(tick.name);
      const at = tick.scheduledAt.getTime();
      if (!job || job.disabled || job.parent_job !== '') return { executions: [] };
      if (job.starts_at && at < Date.parse(job.starts_at)) return { executions: [] };
      if (job.expires_at && at > Date.parse(job.expires_at)) return { executions: [] };
      let plan = await this.plan(job, tickGroup(at), tick.scheduledAt, tick.trigger, false);
      const exclusive = job.concurrency === 'forbid' && plan.executions.length > 0;
      let committed = await this.store.commitTick(job.name, iso(at), plan.executions, { exclusive });
      if (!committed && exclusive) {
        // Refused either because the tick was taken or because a run started meanwhile (forbid):
        // re-plan; a busy job now yields a skip, committed with no executions so the tick counts.
        plan = await this.plan(job, tickGroup(at), tick.scheduledAt, tick.trigger, false);
        if (plan.skipped) committed = await this.store.commitTick(job.name, iso(at), []);
      }
      if (!committed) {
        this.log.debug({ job: job.name, tick: iso(at) }, 'dispatch: tick already dispatched elsewhere');
        return { executions: [] };
      }
      if (plan.skipped) {
        await this.recordSkip(job.name, plan.skipCode ?? 'not_runnable', plan.skipped, at, tick.trigger);
        this.events?.publish('tick.skipped', { job: job.name, scheduledAt: iso(at), kind: plan.skipCode ?? 'not_runnable', reason: plan.skipped, count: 1 });
        return plan;
      }
      this.deliverAll(job, plan.executions);
      this.events?.publish('tick.dispatched', { job: job.name, scheduledAt: iso(at), trigger: tick.trigger, nodes: plan.executions.map((e) => e.node_name) });
      return plan;
    });
  }

  /**
   * Run now (API) or as a dependent of a successful parent. Throws when it can't run.
   * `visible` hides jobs from a caller (a scoped token: 404); `audit` records who asked,
   * written with the executions in one atomic step.
   */
  async runNow(name: string, trigger: Extract<Trigger, 'manual' | 'parent'>, options: RunNowOptions = {}): Promise<DispatchResult> {
    const force = options.force ?? false;
    return this.withJobLock(name, async () => {
      const job = await this.store.getJob(name);
      if (!job || (options.visible && !options.visible(job))) throw new NotFoundError(`job "${name}" not found`);
      const now = Date.now();
      // A chained run is the child's own run (dkron's Job.Run): its disabled flag and
      // time window apply. Only an explicit run-now overrides them.
      const refused = trigger === 'parent' ? windowRefusal(job, now) : null;
      const plan: DispatchResult = refused
        ? { executions: [], skipped: refused, skipCode: 'not_runnable' }
        : await this.plan(job, adHocGroup(now), new Date(now), trigger, force);
      if (plan.skipped) {
        await this.recordSkip(job.name, plan.skipCode ?? 'not_runnable', plan.skipped, now, trigger);
        throw new ConflictError(plan.skipped);
      }
      const exclusive = job.concurrency === 'forbid' && !force;
      const audit = options.audit?.(plan.executions);
      if (!(await this.store.dispatchExecutions(plan.executions, { exclusive, ...(audit ? { audit } : {}) }))) {
        const reason = 'concurrency is "forbid" and another run of this job started meanwhile';
        await this.recordSkip(job.name, 'forbid', reason, now, trigger);
        throw new ConflictError(reason);
      }
      this.deliverAll(job, plan.executions);
      return plan;
    });
  }

  private async plan(job: Job, group: number, scheduledAt: Date, trigger: Trigger, force: boolean): Promise<DispatchResult> {
    if (job.concurrency === 'forbid' && !force) {
      const running = await this.store.listRunning(job.name);
      const first = running[0];
      if (first) {
        return {
          executions: [],
          skipped: `concurrency is "forbid" and execution ${first.id} is still running on ${first.node_name}`,
          skipCode: 'forbid',
        };
      }
    }
    const members = await this.cluster.members();
    const needs = requirementsOf(job);
    const targets = selectTargets(job.tags, members, Math.random, needs);
    if (targets.length === 0) {
      const tags = describeTags(job.tags);
      const matching = tagMatches(job.tags, members);
      if (matching.length === 0) {
        return { executions: [], skipped: `no agent matches the job's tags (${tags || 'none'})`, skipCode: 'no_agent' };
      }
      // Agents changed since the job was saved: say what is missing rather than fail on a node without it.
      const lacks = missing(matching[0] as Member, needs) ?? `executor "${needs.executor}"`;
      return {
        executions: [],
        skipped: `no agent matching the job's tags (${tags || 'none'}) has ${lacks} (matching: ${matching.map((m) => m.Name).join(', ')})`,
        skipCode: 'no_executor',
      };
    }
    const now = Date.now();
    // A tick dispatched ahead (the scheduler's lead) starts on the tick: that is its expected start.
    const startsAt = Math.max(now, scheduledAt.getTime());
    const executions = targets.map(
      (m): Execution => ({
        id: executionId(now, m.Name),
        job_name: job.name,
        started_at: iso(startsAt),
        finished_at: null,
        success: false,
        output: '',
        node_name: m.Name,
        group,
        attempt: 1,
        exit_code: null,
        scheduled_at: iso(scheduledAt),
        trigger,
      }),
    );
    return { executions };
  }

  private deliverAll(job: Job, executions: Execution[]): void {
    // A routing store (etcd) already queued them for their agents inside the commit.
    if (this.store.routesExecutions) return;
    for (const e of executions) {
      this.log.debug({ job: job.name, execution: e.id, node: e.node_name, trigger: e.trigger }, 'dispatch: execution sent');
      this.sink.deliver(e);
    }
  }

  private async recordSkip(name: string, code: SkipCode, reason: string, at: number, trigger: Trigger): Promise<void> {
    this.log.warn({ job: name, reason }, 'dispatch: run skipped');
    await this.store.recordSkips(name, [this.skipRecord(name, code, reason, at, trigger)]);
  }

  /**
   * Ticks the scheduler dropped by policy after a gap (no leader, agent down):
   * one record per tick it knows, one for the older ones it only counted.
   */
  async recordMissed(m: MissedEvent): Promise<void> {
    const code: SkipCode = m.policy === 'skip' ? 'catch_up_skip' : m.policy === 'starting_deadline' ? 'starting_deadline' : 'no_leader';
    const why = `missed while no leader was scheduling; ${m.reason}`;
    const records: SkipRecord[] = [];
    if (m.earlier) {
      records.push({ ...this.skipRecord(m.name, code, why, m.earlier.from, 'schedule'), until: iso(m.earlier.until), count: m.earlier.count });
    }
    for (const t of m.ticks) records.push(this.skipRecord(m.name, code, why, t, 'schedule'));
    if (records.length > 0) await this.store.recordSkips(m.name, records);
  }

  /**
   * A tick's record is keyed by the tick itself, so recording it twice (a new leader
   * recomputing the same gap, a retried write) stores and counts it once. A refused
   * run-now is not a tick: its key is unique.
   */
  private skipRecord(job: string, code: SkipCode, reason: string, at: number, trigger: Trigger): SkipRecord {
    const now = Date.now();
    const tick = trigger === 'schedule' || trigger === 'catchup';
    const id = tick ? `${String(at).padStart(15, '0')}-tick` : auditId(now);
    return { id, job, scheduled_at: iso(at), until: null, count: 1, code, reason, trigger, recorded_at: iso(now), node: this.cluster.nodeName };
  }
}

/** Why a job may not run on its own at `at` (disabled, outside starts_at/expires_at), or null. */
function windowRefusal(job: Job, at: number): string | null {
  if (job.disabled) return 'job is disabled';
  if (job.starts_at && at < Date.parse(job.starts_at)) return `job starts at ${job.starts_at}`;
  if (job.expires_at && at > Date.parse(job.expires_at)) return `job expired at ${job.expires_at}`;
  return null;
}
