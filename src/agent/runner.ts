/**
 * Runs the executions assigned to this agent: one attempt at a time per
 * execution, retries on the same agent with backoff, and the bookkeeping a
 * finished group triggers (job status, dependents, ephemeral delete). Every
 * step is written to the store before the next begins, so a crash leaves a
 * record that recovery can close, never a silent gap.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from '../util/log.js';
import type { Execution, Job, JobStatus } from '../job/types.js';
import { ExecutionClosedError, type FollowUp, type Store } from '../store/types.js';
import type { ExecutorRegistry } from '../executors/registry.js';
import type { ExecutionSink } from '../cluster/dispatcher.js';
import { executionId } from '../util/ids.js';
import { iso } from '../job/time.js';
import { retry } from '../util/retry.js';
import type { EventBus } from '../events/bus.js';
import type { ProcessorRegistry } from '../processors/registry.js';
import { runProcessors } from '../processors/chain.js';
import { lateStart } from '../job/slo.js';
import { groupStatus } from '../job/group-status.js';
import { updateBackfill } from '../job/backfill.js';
import { parseMemory } from '../job/resources.js';
import { parseMemoryLimit } from '../executors/shell-memory.js';

export interface RunnerOptions {
  store: Store;
  executors: ExecutorRegistry;
  nodeName: string;
  log: Logger;
  /** Bytes of output kept per execution. */
  outputLimit: number;
  /** Executions kept per job when the job doesn't say. */
  historyLimit: number;
  /** First retry delay; doubles per attempt, capped at a minute. */
  retryBackoffMs: number;
  /**
   * Runs what a successful group owes (dependents, ephemeral delete) and marks the follow-up
   * done; called once per group, right after the result that decided it. Must not throw.
   */
  followUp: (followUp: FollowUp) => Promise<void>;
  /** Most executions run at once; 0 = no limit. */
  maxParallel?: number;
  /** Called for every finished attempt (metrics, notifications). */
  onFinished?: (execution: Execution, job: Job | null) => void;
  /** Publishes execution.started and group.finished (src/events). */
  events?: EventBus;
  /** The job's processors run after each attempt, before its result is stored. */
  processors?: { registry: ProcessorRegistry; timeoutMs: number };
}

interface Active {
  execution: Execution;
  controller: AbortController;
  /**
   * Output so far, at most 2 × outputLimit characters (trimmed in batches): /v1/busy shows its
   * tail, a viewer that connects mid-run gets the last outputLimit characters.
   */
  text: string;
  decoder: StringDecoder;
  followers: Set<(text: string) => void>;
}

const RECENT_OUTPUT = 4096;
const START_RECORD_SLACK_MS = 1000;
const NEVER_STARTED = 'agent is shutting down; this execution was waiting for its tick and never started';

export class Runner implements ExecutionSink {
  private readonly active = new Map<string, Active>();
  private readonly tasks = new Set<Promise<void>>();
  private stopping = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly o: RunnerOptions) {}

  get runningCount(): number {
    return this.active.size;
  }

  /**
   * Follow a running execution's output (the stream endpoint): the output so far, then every
   * chunk as it arrives. Null when it doesn't run here (finished, or on another agent).
   */
  follow(id: string, onText: (text: string) => void): { backlog: string; stop: () => void } | null {
    const a = this.active.get(id);
    if (!a) return null;
    a.followers.add(onText);
    return { backlog: a.text.slice(-this.o.outputLimit), stop: () => a.followers.delete(onText) };
  }

  /** Running executions with their latest output, for /v1/busy. */
  busy(): Execution[] {
    return [...this.active.values()].map((a) => ({ ...a.execution, output: a.text.slice(-RECENT_OUTPUT) }));
  }

  /**
   * Runs an execution handed over by the dispatcher or the backend's queue, which hand each one
   * over once (Store.consumeAssignments). `job`: the job as the backend read it with the
   * hand-over (etcd's claim); read here otherwise.
   */
  deliver(execution: Execution, job?: Job | null): void {
    if (this.stopping) {
      void this.failUnstarted(execution, 'agent is shutting down; execution not started');
      return;
    }
    const task = this.run(execution, job).catch((err: unknown) => {
      this.o.log.error({ err, execution: execution.id }, 'runner: execution failed unexpectedly');
    });
    this.tasks.add(task);
    void task.finally(() => {
      this.tasks.delete(task);
      if (this.tasks.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    });
  }

  /** Resolves when nothing runs (event-based; used by shutdown and tests). */
  idle(): Promise<void> {
    if (this.tasks.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stop taking work and wait for running executions up to `graceMs`; then
   * kill what remains and wait for those to be recorded as failed.
   */
  async shutdown(graceMs: number): Promise<{ waited: number; killed: number }> {
    this.stopping = true;
    for (const wake of [...this.sleepers]) wake();
    // New work stops first: executions waiting for a slot are refused now, so they neither start
    // once the active ones end nor hold the agent past its deadline.
    for (const refuse of this.slotQueue.splice(0)) refuse(false);
    const waited = this.active.size;
    if (this.tasks.size === 0) return { waited, killed: 0 };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.idle().then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
    ]);
    if (timer) clearTimeout(timer);
    let killed = 0;
    if (timedOut) {
      for (const a of this.active.values()) {
        killed++;
        a.controller.abort(`agent shutdown deadline (${graceMs} ms) reached`);
      }
      await this.idle();
    }
    return { waited, killed };
  }

  /** Close executions this agent left running when it died (crash, kill -9). */
  async recoverOrphans(): Promise<number> {
    const orphans = (await this.o.store.listRunning()).filter((e) => e.node_name === this.o.nodeName);
    for (const e of orphans) {
      this.o.log.warn({ job: e.job_name, execution: e.id }, 'runner: closing execution left running by a previous run of this agent');
      await this.finish(e, {
        success: false,
        exitCode: null,
        output: `${e.output ? `${e.output}\n` : ''}agent lost: the agent stopped while this execution was running`,
      });
    }
    return orphans.length;
  }

  /**
   * Store writes that must land (a finished run is never dropped): retried
   * with backoff through a backend outage. Only a stopping agent gives up,
   * after a bounded time, leaving the record to the leader's lost-agent check.
   */
  private async persist<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    let warned = false;
    const result = await retry(fn, {
      initialMs: 100,
      maxMs: 5000,
      // A refused late result is an answer, not an outage.
      giveUp: (err) => err instanceof ExecutionClosedError || (this.stopping && Date.now() - started > 10_000),
      onRetry: (err) => {
        if (!warned) this.o.log.warn({ what, err: (err as Error).message }, 'runner: store write failed; retrying with backoff');
        warned = true;
      },
    });
    if (warned) this.o.log.info({ what }, 'runner: store reachable again; write completed');
    return result;
  }

  /** Record an execution whose agent died as failed (called by the leader). */
  async closeLost(execution: Execution, reason: string): Promise<void> {
    await this.finish(execution, {
      success: false,
      exitCode: null,
      output: `${execution.output ? `${execution.output}\n` : ''}${reason}`,
    });
  }

  private async failUnstarted(execution: Execution, reason: string): Promise<void> {
    await this.finish(execution, { success: false, exitCode: null, output: reason });
  }

  private async run(first: Execution, handed?: Job | null): Promise<void> {
    let execution = first;
    // The job handed over with the first attempt; a retry reads it again.
    let known = handed;
    for (;;) {
      if (this.stopping && execution.attempt > 1) {
        await this.failUnstarted(execution, 'agent shut down before this retry could start');
        return;
      }
      const job = known !== undefined ? known : await this.persist('read job', () => this.o.store.getJob(execution.job_name));
      known = undefined;
      // Dispatched ahead of its tick (the leader's --dispatch-lead): start on the tick, never before.
      const tick = Date.parse(execution.scheduled_at);
      const early = execution.attempt === 1 ? tick - Date.now() : 0;
      // An executor that holds starts prepares the run now and starts it on the tick itself
      // (src/executors/spawner/held-start.ts); with --max-parallel the run waits for its tick
      // first, so a slot is not taken ahead of it.
      const heldTo = early > 0 && job !== null && this.o.executors.get(job.executor)?.holdsStart === true && !(this.o.maxParallel ?? 0) ? tick : undefined;
      if (early > 0 && heldTo === undefined) {
        await this.sleep(early);
        if (this.stopping) {
          await this.failUnstarted(execution, NEVER_STARTED);
          return;
        }
      }
      if (!(await this.slot())) {
        await this.failUnstarted(execution, 'agent is shutting down; this execution was queued and never started');
        return;
      }
      let result;
      try {
        result = await this.attempt(execution, job, heldTo);
        if (job) result.output = await this.process(job, execution, result);
      } finally {
        this.releaseSlot();
      }
      const retry =
        !result.success && job !== null && execution.attempt < job.retries + 1 && !this.stopping
          ? this.nextAttempt(execution)
          : null;
      const recorded = await this.finish(execution, result, retry);
      if (!retry || !recorded) return;
      const delay = Math.min(this.o.retryBackoffMs * 2 ** (execution.attempt - 1), 60_000);
      this.o.log.info({ job: execution.job_name, attempt: retry.attempt, delay_ms: delay }, 'runner: retrying failed execution');
      await this.sleep(delay);
      execution = retry;
    }
  }

  /** The job's processors over one finished attempt: the output to store (src/processors/chain.ts). */
  private async process(job: Job, execution: Execution, result: { success: boolean; exitCode: number | null; output: string }): Promise<string> {
    const p = this.o.processors;
    if (!p || Object.keys(job.processors ?? {}).length === 0) return result.output;
    const finished: Execution = { ...execution, finished_at: iso(Date.now()), success: result.success, exit_code: result.exitCode, output: result.output };
    return runProcessors(job.processors, finished, { registry: p.registry, nodeName: this.o.nodeName, log: this.o.log, timeoutMs: p.timeoutMs });
  }

  private readonly sleepers = new Set<() => void>();
  private slotsUsed = 0;
  private readonly slotQueue: ((granted: boolean) => void)[] = [];

  /** `--max-parallel`: runs beyond the limit wait here, in arrival order. False: refused (shutting down). */
  private slot(): Promise<boolean> {
    if (this.stopping) return Promise.resolve(false);
    const limit = this.o.maxParallel ?? 0;
    if (limit <= 0 || this.slotsUsed < limit) {
      this.slotsUsed++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) =>
      this.slotQueue.push((granted) => {
        if (granted) this.slotsUsed++;
        resolve(granted);
      }),
    );
  }

  private releaseSlot(): void {
    this.slotsUsed--;
    this.slotQueue.shift()?.(true);
  }

  get queued(): number {
    return this.slotQueue.length;
  }

  /** A retry backoff that shutdown cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private nextAttempt(prev: Execution): Execution {
    const now = Date.now();
    return {
      ...prev,
      id: executionId(now, this.o.nodeName),
      started_at: iso(now),
      finished_at: null,
      success: false,
      output: '',
      exit_code: null,
      attempt: prev.attempt + 1,
      trigger: 'retry',
    };
  }

  /** `startAt`: the executor starts the run at that instant (it `holdsStart`), not at once. */
  private async attempt(
    execution: Execution,
    job: Job | null,
    startAt?: number,
  ): Promise<{ success: boolean; exitCode: number | null; output: string }> {
    if (!job) return { success: false, exitCode: null, output: 'job was deleted before it could run' };
    const executor = this.o.executors.get(job.executor);
    if (!executor) {
      return { success: false, exitCode: null, output: `executor "${job.executor}" is not present on agent ${this.o.nodeName}` };
    }
    const controller = new AbortController();
    const dispatchedAt = execution.started_at;
    const active: Active = { execution, controller, text: '', decoder: new StringDecoder('utf8'), followers: new Set() };
    let recorded: Promise<unknown> = Promise.resolve();
    let begun = false;
    // Shutdown while the run waits for its tick: it never starts.
    const wake = (): void => controller.abort(NEVER_STARTED);
    // The run is running from here: listed, announced, and its start recorded when it differs
    // from the dispatch-time record (queued, or a retry's backoff); otherwise that write would
    // cost a disk flush between this start and the next one.
    const begin = (started: number): void => {
      begun = true;
      this.sleepers.delete(wake);
      execution.started_at = iso(started);
      this.active.set(execution.id, active);
      const latenessMs = started - Date.parse(execution.scheduled_at);
      this.o.events?.publish('execution.started', { execution: { ...execution }, latenessMs });
      const late = lateStart(job, execution, latenessMs);
      if (late) this.o.events?.publish('execution.late', late);
      const recordedAt = Date.parse(dispatchedAt);
      if (Number.isNaN(recordedAt) || started - recordedAt > START_RECORD_SLACK_MS) {
        recorded = this.persist('record start', () => this.o.store.putExecution({ ...execution }));
      }
    };
    if (startAt === undefined) begin(Date.now());
    else this.sleepers.add(wake);
    try {
      // Spawn first, then record the start: the execution record already exists
      // (written at dispatch), so this write only refreshes started_at and needn't delay the run.
      const running = executor.execute({
        jobName: job.name,
        executionId: execution.id,
        nodeName: this.o.nodeName,
        attempt: execution.attempt,
        scheduledAt: new Date(execution.scheduled_at),
        config: withMemoryLimit(job),
        outputLimit: this.o.outputLimit,
        signal: controller.signal,
        onOutput: (chunk) => {
          // One decoder per run: a multi-byte character split across chunks stays whole.
          const text = active.decoder.write(chunk);
          if (text === '') return;
          active.text += text;
          // Trimmed in batches, not per chunk: slicing a 256 KB string on every line would be quadratic.
          if (active.text.length > 2 * this.o.outputLimit) active.text = active.text.slice(-this.o.outputLimit);
          for (const f of active.followers) f(text);
        },
        ...(startAt !== undefined ? { startAt, onStart: begin } : {}),
      });
      const outcome = await running;
      // The result write must come after the start write; a start write that gave up is superseded by it.
      await recorded.catch(() => undefined);
      if (!begun && controller.signal.reason === NEVER_STARTED) return { success: false, exitCode: null, output: NEVER_STARTED };
      return { success: outcome.success, exitCode: outcome.exitCode, output: outcome.output };
    } catch (err) {
      return { success: false, exitCode: null, output: `executor error: ${(err as Error).message}` };
    } finally {
      this.sleepers.delete(wake);
      this.active.delete(execution.id);
    }
  }

  /**
   * Record one finished attempt (and its retry, in the same write); if it ends its group,
   * apply the group's outcome. False when the execution had already been closed.
   */
  private async finish(
    execution: Execution,
    result: { success: boolean; exitCode: number | null; output: string },
    retry: Execution | null = null,
  ): Promise<boolean> {
    const done: Execution = {
      ...execution,
      finished_at: iso(Date.now()),
      success: result.success,
      exit_code: result.exitCode,
      output: result.output,
    };
    let job: Job | null;
    // The group's outcome is decided inside the result's write (the store may call this more than
    // once; the last call is the one that committed), so no crash or outage can separate them.
    let decided: { job: Job; followUp?: string[]; previous: JobStatus; last: Execution } | undefined;
    const group = retry
      ? undefined
      : (j: Job, members: Execution[]): { job: Job; followUp?: string[] } | undefined => {
          const d = decideGroup(j, done.group, members);
          const last = members.reduce((a, b) => ((b.finished_at ?? '') > (a.finished_at ?? '') ? b : a), done);
          decided = d ? { ...d, previous: j.status, last } : undefined;
          return d;
        };
    try {
      job = await this.persist('record result', () => {
        decided = undefined;
        return this.o.store.completeExecution(done, (j) => (j ? countResult(j, done) : undefined), {
          ...(retry ? { next: retry } : {}),
          ...(group ? { group } : {}),
        });
      });
    } catch (err) {
      if (!(err instanceof ExecutionClosedError)) throw err;
      // Closed meanwhile (the leader's "agent lost", or this agent's own recovery): that record stands.
      this.o.log.warn(
        { job: done.job_name, execution: done.id, attempt: done.attempt, success: done.success },
        'runner: late result refused; the execution was already closed',
      );
      return false;
    }
    this.o.onFinished?.(done, job);
    this.o.log.info(
      { job: done.job_name, execution: done.id, attempt: done.attempt, success: done.success, exit_code: done.exit_code },
      'runner: execution finished',
    );
    if (!job) {
      // The job was deleted mid-run: don't leave its history behind.
      await this.persist('delete history of a deleted job', () => this.o.store.deleteExecutions(done.job_name));
      return true;
    }
    const limit = job.history_limit || this.o.historyLimit;
    await this.persist('prune history', () => this.o.store.pruneExecutions(done.job_name, limit));
    const outcome = decided as { followUp?: string[]; previous: JobStatus; last: Execution } | undefined;
    if (outcome) {
      // Only the write that decided the group gets here: one notice per group, cluster-wide.
      this.o.events?.publish('group.finished', { job, group: done.group, status: job.status, previous: outcome.previous, last: outcome.last });
    }
    const owed = outcome?.followUp;
    if (owed !== undefined) {
      await this.o.followUp({ job: done.job_name, group: done.group, node: done.node_name, children: owed });
    }
    return true;
  }
}

/**
 * The group's outcome once every member has finished, and what a success owes;
 * undefined while members run or when the outcome was already applied.
 */
function decideGroup(job: Job, group: number, members: Execution[]): { job: Job; followUp?: string[] } | undefined {
  if (members.length === 0 || members.some((e) => e.finished_at === null) || job.last_group === group) return undefined;
  const status = groupStatus(members);
  const decided: Job = { ...job, status, last_group: group };
  const backfill = members[0]?.backfill;
  if (backfill !== undefined) {
    // Counted in the write that decides the group: exact through crashes and retries. A backfilled
    // tick owes no dependents (their windows have passed; backfill them on their own).
    const outcome = status === 'success' ? 'succeeded' : 'failed';
    return { job: updateBackfill(decided, backfill, (b) => ({ ...b, [outcome]: b[outcome] + 1 })) ?? decided };
  }
  const children = job.dependent_jobs ?? [];
  // Only a success that owes something leaves a follow-up (one more write, and its removal).
  if (status !== 'success' || (children.length === 0 && !job.ephemeral)) return { job: decided };
  return { job: decided, followUp: children };
}

function countResult(job: Job, e: Execution): Job {
  const at = e.finished_at as string;
  if (e.success) {
    return { ...job, success_count: job.success_count + 1, last_success: later(job.last_success, at) };
  }
  return { ...job, error_count: job.error_count + 1, last_error: later(job.last_error, at) };
}

function later(a: string | null, b: string): string {
  return a && a > b ? a : b;
}

/**
 * The executor config of a run: a shell job that declares `resources.memory` gets it enforced as
 * `mem_limit` over its process tree (the smaller one when both are set), so it can't take more than
 * placement counted for it.
 */
function withMemoryLimit(job: Job): Record<string, string> {
  const config = job.executor_config ?? {};
  const declared = job.executor === 'shell' && job.resources?.memory ? parseMemory(job.resources.memory) : null;
  if (declared === null) return config;
  const own = parseMemoryLimit(config.mem_limit);
  if (typeof own === 'number' && own <= declared) return config;
  return { ...config, mem_limit: String(declared) };
}
