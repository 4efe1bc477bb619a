/**
 * Runs the executions assigned to this agent: one attempt at a time per
 * execution, retries on the same agent with backoff, and the bookkeeping a
 * finished group triggers (job status, dependents, ephemeral delete). Every
 * step is written to the store before the next begins, so a crash leaves a
 * record that recovery can close, never a silent gap.
 */
import type { Logger } from '../util/log.js';
import type { Execution, Job, JobStatus } from '../job/types.js';
import type { Store } from '../store/types.js';
import type { ExecutorRegistry } from '../executors/registry.js';
import type { ExecutionSink } from '../cluster/dispatcher.js';
import { executionId } from '../util/ids.js';
import { iso } from '../job/time.js';
import { retry } from '../util/retry.js';
import type { EventBus } from '../events/bus.js';

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
  /** Called once per execution group that finished fully successful. */
  onGroupSuccess: (job: Job, group: number) => Promise<void>;
  /** Most executions run at once; 0 = no limit. */
  maxParallel?: number;
  /** Called for every finished attempt (metrics, notifications). */
  onFinished?: (execution: Execution, job: Job | null) => void;
  /** Publishes execution.started and group.finished (src/events). */
  events?: EventBus;
}

interface Active {
  execution: Execution;
  controller: AbortController;
  tail: string;
}

const RECENT_OUTPUT = 4096;
const START_RECORD_SLACK_MS = 1000;

export class Runner implements ExecutionSink {
  private readonly active = new Map<string, Active>();
  private readonly tasks = new Set<Promise<void>>();
  private stopping = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly o: RunnerOptions) {}

  get runningCount(): number {
    return this.active.size;
  }

  /** Running executions with their latest output, for /v1/busy. */
  busy(): Execution[] {
    return [...this.active.values()].map((a) => ({ ...a.execution, output: a.tail }));
  }

  deliver(execution: Execution): void {
    if (this.stopping) {
      void this.failUnstarted(execution, 'agent is shutting down; execution not started');
      return;
    }
    const task = this.run(execution).catch((err: unknown) => {
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
      giveUp: () => this.stopping && Date.now() - started > 10_000,
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

  private async run(first: Execution): Promise<void> {
    let execution = first;
    for (;;) {
      if (this.stopping && execution.attempt > 1) {
        await this.failUnstarted(execution, 'agent shut down before this retry could start');
        return;
      }
      const job = await this.persist('read job', () => this.o.store.getJob(execution.job_name));
      await this.slot();
      let result;
      try {
        result = await this.attempt(execution, job);
      } finally {
        this.releaseSlot();
      }
      const retry =
        !result.success && job !== null && execution.attempt < job.retries + 1 && !this.stopping
          ? this.nextAttempt(execution)
          : null;
      await this.finish(execution, result, retry);
      if (!retry) return;
      const delay = Math.min(this.o.retryBackoffMs * 2 ** (execution.attempt - 1), 60_000);
      this.o.log.info({ job: execution.job_name, attempt: retry.attempt, delay_ms: delay }, 'runner: retrying failed execution');
      await this.sleep(delay);
      execution = retry;
    }
  }

  private readonly sleepers = new Set<() => void>();
  private slotsUsed = 0;
  private readonly slotQueue: (() => void)[] = [];

  /** `--max-parallel`: runs beyond the limit wait here, in arrival order. */
  private slot(): Promise<void> {
    const limit = this.o.maxParallel ?? 0;
    if (limit <= 0 || this.slotsUsed < limit) {
      this.slotsUsed++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.slotQueue.push(() => {
      this.slotsUsed++;
      resolve();
    }));
  }

  private releaseSlot(): void {
    this.slotsUsed--;
    this.slotQueue.shift()?.();
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

  private async attempt(
    execution: Execution,
    job: Job | null,
  ): Promise<{ success: boolean; exitCode: number | null; output: string }> {
    if (!job) return { success: false, exitCode: null, output: 'job was deleted before it could run' };
    const executor = this.o.executors.get(job.executor);
    if (!executor) {
      return { success: false, exitCode: null, output: `executor "${job.executor}" is not present on agent ${this.o.nodeName}` };
    }
    const controller = new AbortController();
    const started = Date.now();
    const dispatchedAt = execution.started_at;
    execution.started_at = iso(started);
    const active: Active = { execution, controller, tail: '' };
    this.active.set(execution.id, active);
    try {
      // Spawn first, then record the start: the execution record already exists
      // (written at dispatch), so this write only refreshes started_at and needn't delay the run.
      const running = executor.execute({
        jobName: job.name,
        executionId: execution.id,
        nodeName: this.o.nodeName,
        attempt: execution.attempt,
        scheduledAt: new Date(execution.scheduled_at),
        config: job.executor_config ?? {},
        outputLimit: this.o.outputLimit,
        signal: controller.signal,
        onOutput: (chunk) => {
          active.tail = (active.tail + chunk.toString('utf8')).slice(-RECENT_OUTPUT);
        },
      });
      this.o.events?.publish('execution.started', { execution: { ...execution }, latenessMs: started - Date.parse(execution.scheduled_at) });
      // Only worth a write when the start differs from the dispatch-time record (queued, or a retry's backoff):
      // otherwise it would cost a disk flush between this spawn and the next one.
      const recordedAt = Date.parse(dispatchedAt);
      const recorded =
        Number.isNaN(recordedAt) || started - recordedAt > START_RECORD_SLACK_MS
          ? this.persist('record start', () => this.o.store.putExecution({ ...execution }))
          : Promise.resolve();
      const outcome = await running;
      // The result write must come after the start write; a start write that gave up is superseded by it.
      await recorded.catch(() => undefined);
      return { success: outcome.success, exitCode: outcome.exitCode, output: outcome.output };
    } catch (err) {
      return { success: false, exitCode: null, output: `executor error: ${(err as Error).message}` };
    } finally {
      this.active.delete(execution.id);
    }
  }

  /** Record one finished attempt; if it ends its group, apply the group's outcome. */
  private async finish(
    execution: Execution,
    result: { success: boolean; exitCode: number | null; output: string },
    retry: Execution | null = null,
  ): Promise<void> {
    const done: Execution = {
      ...execution,
      finished_at: iso(Date.now()),
      success: result.success,
      exit_code: result.exitCode,
      output: result.output,
    };
    const job = await this.persist('record result', () =>
      this.o.store.completeExecution(done, (j) => (j ? countResult(j, done) : undefined)),
    );
    // The next attempt is recorded right away, so the group never looks complete between attempts.
    if (retry) await this.persist('record retry', () => this.o.store.putExecution(retry));
    this.o.onFinished?.(done, job);
    this.o.log.info(
      { job: done.job_name, execution: done.id, attempt: done.attempt, success: done.success, exit_code: done.exit_code },
      'runner: execution finished',
    );
    if (!job) {
      // The job was deleted mid-run: don't leave its history behind.
      await this.o.store.deleteExecutions(done.job_name);
      return;
    }
    await this.o.store.pruneExecutions(job.name, job.history_limit || this.o.historyLimit);
    if (!retry) await this.applyGroup(job, done.group);
  }

  private async applyGroup(job: Job, group: number): Promise<void> {
    const members = await this.o.store.listGroup(job.name, group);
    if (members.length === 0 || members.some((e) => e.finished_at === null)) return;
    const status = groupStatus(members);
    let applied = false;
    let previous: JobStatus = '';
    const updated = await this.o.store.updateJob(job.name, (j) => {
      applied = false;
      if (!j || j.last_group === group) return undefined;
      applied = true;
      previous = j.status;
      return { ...j, status, last_group: group };
    });
    if (!applied || !updated) return;
    // Only the agent whose compare-and-set applied the group gets here: one notice per group cluster-wide.
    const last = members.reduce((a, b) => ((b.finished_at ?? '') > (a.finished_at ?? '') ? b : a));
    this.o.events?.publish('group.finished', { job: updated, group, status, previous, last });
    if (status !== 'success') return;
    await this.o.onGroupSuccess(updated, group);
  }
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

/** Per agent the last attempt counts: a failure healed by a retry is a success. */
export function groupStatus(executions: Execution[]): JobStatus {
  const final = new Map<string, Execution>();
  for (const e of executions) {
    const cur = final.get(e.node_name);
    if (!cur || e.attempt > cur.attempt) final.set(e.node_name, e);
  }
  const results = [...final.values()].map((e) => e.success);
  if (results.every(Boolean)) return 'success';
  if (results.some(Boolean)) return 'partially_failed';
  return 'failed';
}
