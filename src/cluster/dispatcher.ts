/**
 * Turns a tick or a run request into executions on chosen agents. A tick is
 * committed to the store together with its execution records (the store's
 * fence), so a tick is dispatched once even if two schedulers race. Skips
 * (forbid overlap, no matching agent) are recorded on the job, not dropped.
 *
 * A tick whose dispatch failed is retried by the caller, but meanwhile the job's
 * next tick may commit, and the fence then refuses the retry for good. The
 * dispatcher remembers the ticks whose attempt failed (FailedTick) and, once such
 * a tick can no longer be committed and did not run, records it as a skip
 * (`dispatch_failed`, or the skip that attempt was committing) instead of
 * dropping it: when it commits a later tick of the job itself, or when the retry
 * is refused. Ticks with no failed attempt pay no extra read.
 */
import type { Logger } from '../util/log.js';
import type { Execution, Job, Trigger } from '../job/types.js';
import type { AuditEntry, DispatchOptions, SkipCode, SkipRecord, Store } from '../store/types.js';
import type { Cluster, Member } from './types.js';
import { describeTags, missing, requirementsOf, selectTargets, tagMatches } from './targets.js';
import { adHocGroup, auditId, backfillGroup, executionId, tickGroup } from '../util/ids.js';
import { backfillFence } from '../job/backfill.js';
import { iso } from '../job/time.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import type { MissedEvent, TickEvent } from '../scheduler/scheduler.js';
import type { EventBus } from '../events/bus.js';
import { isFanIn } from '../job/parents.js';
import { CapacityQueue, type QueuedTick, type RetryOutcome } from './capacity-queue.js';
import { needsOf } from '../job/resources.js';
import { withRoom } from './room.js';
import { parseGoDuration } from '../util/duration.js';
import { FailedTicks, MAX_FAILED_TICKS, type Attempt, type FailedTick } from './failed-ticks.js';

/** Where executions for this agent go (the runner), and for others (issue: remote dispatch). */
export interface ExecutionSink {
  deliver(execution: Execution): void;
}

export interface DispatchResult {
  executions: Execution[];
  skipped?: string;
  skipCode?: SkipCode;
  /** Held until an agent has room (capacity): why it waits. */
  queued?: string;
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
  /** Ticks whose attempt threw (see failed-ticks.ts). Touched only under the job's lock (or synchronously). */
  private readonly failed: FailedTicks;
  /** Ticks waiting for an agent with room (capacity-queue.ts). */
  readonly queue: CapacityQueue;
  /** Placement of runs that declare resources, one at a time: each sees the runs placed before it. */
  private placing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly cluster: Cluster,
    private readonly sink: ExecutionSink,
    private readonly log: Logger,
    private readonly events?: EventBus,
  ) {
    this.failed = new FailedTicks((job, tick) =>
      log.warn({ job, tick: iso(tick), remembered: MAX_FAILED_TICKS }, 'dispatch: too many failed ticks remembered; the oldest is left to its retry alone'),
    );
    // A tick this agent neither overtook nor may have committed belongs to the next leader's
    // catch-up once it stops leading; settling it later could only repeat that leader's record.
    this.queue = new CapacityQueue((q) => this.retryQueued(q), log);
    cluster.onLeadershipChange((leader) => {
      if (!leader) {
        this.failed.dropUnowned();
        this.queue.clear();
      }
    });
    events?.on('execution.finished', () => this.queue.kick());
  }

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

  async dispatchTick(tick: TickEvent, queued?: QueuedTick): Promise<DispatchResult> {
    return this.withJobLock(tick.name, async () => {
      const at = tick.scheduledAt.getTime();
      const attempt: Attempt = { planned: [], skip: null };
      try {
        return await this.dispatchLocked(tick, at, attempt, queued);
      } catch (err) {
        this.failed.remember(tick.name, at, tick.trigger, err, attempt);
        throw err;
      }
    });
  }

  /** A queued tick's turn: placed, recorded as skipped, or still waiting (with the reason now). */
  private async retryQueued(q: QueuedTick): Promise<RetryOutcome> {
    const r = await this.dispatchTick(q.tick, q);
    if (r.queued === undefined) return 'done';
    this.queue.update(q, r.queued);
    return 'waiting';
  }

  private async dispatchLocked(tick: TickEvent, at: number, attempt: Attempt, queued?: QueuedTick): Promise<DispatchResult> {
    const job = await this.store.getJob(tick.name);
    const needs = job ? needsOf(job.resources) : null;
    if (job && needs) {
      // Behind this job's queued ticks (they run first), or placed with every other resource job's runs in view.
      if (!queued && this.queue.has(job.name)) return this.enqueue(tick, 'waiting behind an earlier queued tick of this job');
      return this.withPlacementLock(() => this.dispatchJob(job, tick, at, attempt, queued));
    }
    return this.dispatchJob(job, tick, at, attempt, queued);
  }

  private withPlacementLock<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.placing.then(fn, fn);
    this.placing = next.catch(() => undefined);
    return next;
  }

  private enqueue(tick: TickEvent, reason: string): DispatchResult {
    if (this.queue.add({ tick, since: Date.now(), reason })) return { executions: [], queued: reason };
    throw new ConflictError('the capacity queue is full (10000 ticks wait for room)');
  }

  private async dispatchJob(job: Job | null, tick: TickEvent, at: number, attempt: Attempt, queued?: QueuedTick): Promise<DispatchResult> {
    const workflow = tick.trigger === 'workflow';
    const refusal = job ? windowRefusal(job, workflow ? Date.now() : at) : null;
    if (!job || (workflow ? !isFanIn(job) : job.parent_job !== '' || isFanIn(job) || refusal !== null)) {
      // Not a tick of the job (any more): nothing to run, nothing to record.
      this.failed.forget(tick.name, at);
      return { executions: [] };
    }
    // A window's run refused (disabled, outside starts_at/expires_at) is recorded like any skip.
    let plan: DispatchResult = refusal
      ? { executions: [], skipped: refusal, skipCode: 'not_runnable' }
      : await this.plan(job, tickGroup(at), tick.scheduledAt, tick.trigger, false);
    if (plan.queued !== undefined) {
      const deadline = job.starting_deadline ? parseGoDuration(job.starting_deadline) : null;
      if (deadline !== null && Date.now() - at > deadline) {
        // Waited past its starting_deadline: committed as a skip, like a tick found too late.
        plan = { executions: [], skipped: `no agent had room within the starting_deadline ${job.starting_deadline} (${plan.queued})`, skipCode: 'starting_deadline' };
      } else {
        return queued ? plan : this.enqueue(tick, plan.queued);
      }
    }
    const exclusive = job.concurrency === 'forbid' && plan.executions.length > 0;
    // A fan-in window is committed by whichever agent stored its last parent's success, leader or not.
    const fence = workflow ? { unfenced: true } : {};
    let committed = await this.commit(job.name, at, plan, attempt, { exclusive, ...fence });
    if (!committed && exclusive) {
      // Refused either because the tick was taken or because a run started meanwhile (forbid):
      // re-plan; a busy job now yields a skip, committed with no executions so the tick counts.
      plan = await this.plan(job, tickGroup(at), tick.scheduledAt, tick.trigger, false);
      if (plan.skipped) committed = await this.commit(job.name, at, plan, attempt, fence);
    }
    if (!committed) {
      await this.refused(job.name, at);
      if (workflow) await this.windowRefused(job.name, at);
      return { executions: [] };
    }
    this.failed.forget(job.name, at);
    if (plan.skipped) {
      await this.recordSkip(job.name, plan.skipCode ?? 'not_runnable', plan.skipped, at, tick.trigger);
      attempt.skip = null;
      this.events?.publish('tick.skipped', { job: job.name, scheduledAt: iso(at), kind: plan.skipCode ?? 'not_runnable', reason: plan.skipped, count: 1 });
    } else {
      this.deliverAll(job, plan.executions);
      this.events?.publish('tick.dispatched', { job: job.name, scheduledAt: iso(at), trigger: tick.trigger, nodes: plan.executions.map((e) => e.node_name) });
    }
    await this.settleOvertaken(job.name);
    return plan;
  }

  /** commitTick, noting in `attempt` what a throw may leave landed. */
  private async commit(name: string, at: number, plan: DispatchResult, attempt: Attempt, options?: DispatchOptions): Promise<boolean> {
    attempt.planned = plan.executions;
    attempt.skip = plan.skipped ? { code: plan.skipCode ?? 'not_runnable', reason: plan.skipped } : null;
    const committed = await this.store.commitTick(name, iso(at), plan.executions, options);
    attempt.planned = [];
    // A committed skip stays noted until its record is written (recordSkip may still throw).
    if (!committed) attempt.skip = null;
    else this.failed.markOvertaken(name, at);
    return committed;
  }

  /**
   * The fence refused tick `at`. Without a failed attempt this is the normal case (another
   * leader, or a later tick, took it): no read. After one, decide whether the tick was lost.
   */
  private async refused(name: string, at: number): Promise<void> {
    const f = this.failed.get(name, at);
    if (!f) {
      this.log.debug({ job: name, tick: iso(at) }, 'dispatch: tick already dispatched elsewhere');
      return;
    }
    if (f.overtaken) {
      await this.settleLost(name, at, f);
      return;
    }
    if (f.planned.size > 0) {
      const group = await this.store.listGroup(name, tickGroup(at));
      if (group.length > 0) {
        // It ran. When the executions are the ones our failed commit carried, that commit landed
        // after all: a later tick of this agent's for the failed ticks before it.
        this.failed.forget(name, at);
        if (group.some((e) => f.planned.has(e.id))) {
          this.failed.markOvertaken(name, at);
          await this.settleOvertaken(name);
        }
        return;
      }
    }
    if (f.skip) {
      // Our skip commit may have landed (the tick is then committed, at or before the last tick):
      // its record is owed. Recording it again is harmless: the record is keyed by the tick.
      const last = await this.store.getLastTick(name);
      if (last !== null && Date.parse(last) >= at) await this.settleLost(name, at, f);
      else this.failed.forget(name, at);
      return;
    }
    // Neither overtaken by this agent nor possibly committed by it: another leader committed this
    // tick or a later one (and handled this one: its catch-up started before it), or this agent no
    // longer leads and the next leader's catch-up owns it. Unless a later commit of ours is still
    // in doubt: that one may turn out to have overtaken this tick.
    if (!this.failed.laterInDoubt(name, at)) this.failed.forget(name, at);
  }

  /**
   * The fence refused a fan-in window: it ran already (nothing to do), or a later window ran
   * first (its parents finished sooner) and this one never will: recorded, keyed by the window.
   */
  private async windowRefused(name: string, at: number): Promise<void> {
    if (this.failed.get(name, at)) return; // its failed attempt settles it (refused above)
    if ((await this.store.listGroup(name, tickGroup(at))).length > 0) return;
    const last = await this.store.getLastTick(name);
    if (last === null || Date.parse(last) <= at) return;
    const reason = `every parent succeeded in the window of ${iso(at)}, but the window of ${last} already ran (windows run in order)`;
    await this.recordSkip(name, 'not_runnable', reason, at, 'workflow');
    this.events?.publish('tick.skipped', { job: name, scheduledAt: iso(at), kind: 'not_runnable', reason, count: 1 });
  }

  /**
   * Tick `at` can no longer be committed (a later tick is). If it did not run, it is recorded as
   * a skip, once, with the reason it could not run, and published like every skip.
   */
  private async settleLost(name: string, at: number, f: FailedTick): Promise<void> {
    if ((await this.store.listGroup(name, tickGroup(at))).length > 0) {
      this.failed.forget(name, at); // our failed commit landed after all, or another leader ran it
      return;
    }
    const skip = f.skip ?? {
      code: 'dispatch_failed' as const,
      reason: `dispatch failed (${f.error}) and a later tick was committed before its retry`,
    };
    await this.recordSkip(name, skip.code, skip.reason, at, f.trigger);
    this.failed.forget(name, at);
    this.events?.publish('tick.skipped', { job: name, scheduledAt: iso(at), kind: skip.code, reason: skip.reason, count: 1 });
  }

  /**
   * Settles the overtaken ticks of a job. Never throws: it runs after a tick was committed and
   * delivered, whose dispatch must not fail for it; what it cannot settle now stays remembered
   * (the tick's retry or the job's next commit settles it).
   */
  private async settleOvertaken(name: string): Promise<void> {
    if (!this.failed.has(name)) return;
    for (const [t, f] of this.failed.of(name)) {
      if (!f.overtaken) continue;
      try {
        await this.settleLost(name, t, f);
      } catch (err) {
        this.log.warn({ job: name, tick: iso(t), err: (err as Error).message }, 'dispatch: cannot record a tick lost after a failed dispatch yet; retrying later');
        return;
      }
    }
  }

  /**
   * One tick of a backfill, through the backfill's own fence (src/job/backfill.ts): committed only
   * if it is later than the backfill's last dispatched tick, so each tick runs once however often a
   * leader (or the next one) tries. The job's `forbid` does not apply: the backfill's parallelism
   * bounds its runs. Answers whether the tick was taken (run, or recorded as skipped).
   */
  async dispatchBackfill(job: Job, backfill: string, n: number, tick: number): Promise<{ taken: boolean; plan: DispatchResult }> {
    const go = async (): Promise<{ taken: boolean; plan: DispatchResult }> => {
      const at = new Date(tick);
      const plan = await this.plan(job, backfillGroup(tick, n), at, 'backfill', true);
      // No agent has room now: not taken; the driver tries again.
      if (plan.queued !== undefined) return { taken: false, plan };
      for (const e of plan.executions) e.backfill = backfill;
      const taken = await this.store.commitTick(backfillFence(job.name, backfill), iso(at), plan.executions);
      if (!taken) return { taken, plan: { executions: [] } };
      if (plan.skipped) await this.recordSkip(job.name, plan.skipCode ?? 'not_runnable', `backfill ${backfill}: ${plan.skipped}`, tick, 'backfill');
      else this.deliverAll(job, plan.executions);
      return { taken, plan };
    };
    return this.withJobLock(job.name, () => (needsOf(job.resources) ? this.withPlacementLock(go) : go()));
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
      const go = (): Promise<DispatchResult> => this.runNowLocked(job, trigger, force, options);
      return needsOf(job.resources) ? this.withPlacementLock(go) : go();
    });
  }

  private async runNowLocked(job: Job, trigger: Extract<Trigger, 'manual' | 'parent'>, force: boolean, options: RunNowOptions): Promise<DispatchResult> {
    const now = Date.now();
    // A chained run is the child's own run (dkron's Job.Run): its disabled flag and
    // time window apply. Only an explicit run-now overrides them.
    const refused = trigger === 'parent' ? windowRefusal(job, now) : null;
    let plan: DispatchResult = refused
      ? { executions: [], skipped: refused, skipCode: 'not_runnable' }
      : await this.plan(job, adHocGroup(now), new Date(now), trigger, force);
    // A run asked for now is not held for capacity: it is refused, saying what is missing.
    if (plan.queued !== undefined) plan = { executions: [], skipped: plan.queued, skipCode: 'no_capacity' };
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
    let members = await this.cluster.members();
    const needs = requirementsOf(job);
    const room = await withRoom(this.store, job, members);
    if ('queued' in room || 'skipped' in room) return { executions: [], ...room };
    members = room.members;
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
    // These ticks are recorded here (same record ids): a failed attempt at one must not record it again.
    for (const t of m.ticks) this.failed.forget(m.name, t);
    if (m.earlier) this.failed.forgetRange(m.name, m.earlier.from, m.earlier.until);
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
    const tick = trigger === 'schedule' || trigger === 'catchup' || trigger === 'workflow';
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
