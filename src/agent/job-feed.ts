/**
 * Keeps the leader's scheduler in step with the store: loads every job when
 * this agent starts leading, then follows the store's job changes (each job
 * loaded with its last committed tick, so catch-up starts from the right
 * place), and answers what a job's next run is while loads are under way.
 */
import type { Logger } from '../util/log.js';
import type { Store } from '../store/types.js';
import type { Job, JobTiming } from '../job/types.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { computeNext, isTimeScheduled, toScheduledJob } from '../scheduler/job-entry.js';
import { retry } from '../util/retry.js';

/** The fields whose change moves a job's schedule; other writes (counters) leave it alone. */
function scheduleSignature(job: JobTiming): string {
  return [job.schedule, job.timezone, job.disabled, job.parent_job, (job.depends_on ?? []).join(','), job.updated_at, job.starts_at, job.catch_up, job.starting_deadline, job.concurrency].join('|');
}

const LOAD_PAGE = 2000;

export class JobFeed {
  /** Bumped when leadership starts or ends: a load from an earlier term gives up. */
  private generation = 0;
  private unwatch: (() => void) | null = null;
  private readonly signatures = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly scheduler: Scheduler,
    private readonly log: Logger,
    /** Told of every job loaded or changed while this agent leads (the backfill driver). */
    private readonly onJob?: (job: JobTiming) => void,
  ) {}

  /**
   * Load every job into the scheduler and follow changes. A generation number
   * makes a load that straddles a leadership loss give up instead of starting
   * a scheduler this agent no longer owns.
   */
  async start(): Promise<void> {
    const generation = ++this.generation;
    const current = (): boolean => generation === this.generation;
    await retry(
      async () => {
        this.unwatch?.();
        this.unwatch = this.store.watchJobs((event) => {
          if (event.type === 'delete') {
            this.queuedLoads.delete(event.name);
            this.scheduler.remove(event.name);
            this.signatures.delete(event.name);
          } else {
            this.onJob?.(event.job);
            this.enqueueLoad(event.job);
          }
        });
        const ticks = await this.store.listLastTicks();
        for await (const jobs of this.jobPages()) {
          if (!current()) return;
          // Synchronous per job: 100k awaits here were a fifth of a 100k-job start-up.
          for (const job of jobs) {
            this.loadWithTick(job, ticks.get(job.name) ?? null);
            this.onJob?.(job);
          }
        }
        if (!current()) return;
        this.scheduler.start();
        this.log.info({ jobs: this.scheduler.size }, 'scheduler: started');
      },
      {
        initialMs: 250,
        maxMs: 5000,
        giveUp: () => !current(),
        onRetry: (err, delay) => this.log.warn({ err: (err as Error).message, retry_ms: delay }, 'scheduler: cannot load jobs; retrying'),
      },
    ).catch(() => undefined); // only when leadership moved on meanwhile
  }

  /** Every job's timing, a page at a time where the store can (see Store.listJobTimingsAfter). */
  private async *jobPages(): AsyncIterable<JobTiming[]> {
    if (!this.store.listJobTimingsAfter) {
      yield await this.store.listJobs();
      return;
    }
    for (let after = ''; ; ) {
      const page = await this.store.listJobTimingsAfter(after, LOAD_PAGE);
      if (page.length > 0) yield page;
      const last = page[page.length - 1];
      if (last === undefined || page.length < LOAD_PAGE) return;
      after = last.name;
    }
  }

  stop(): void {
    this.generation++;
    this.queuedLoads.clear();
    this.unwatch?.();
    this.unwatch = null;
    this.scheduler.stop();
    this.scheduler.clear();
    this.signatures.clear();
  }

  /**
   * Loads under way, by job: a token per load, so the end of an older load doesn't clear a newer
   * one. With queuedLoads, what "loading" means for nextOf.
   */
  private readonly loading = new Map<string, object>();
  /** Watched changes not loaded yet, newest version per job (see enqueueLoad). */
  private readonly queuedLoads = new Map<string, Job>();

  /**
   * A watched change is loaded on a later turn of the event loop, 500 at a time: a bulk save of
   * 100k jobs emits 100k changes at once, and loading them all before yielding would hold the
   * save's own HTTP answer (and every other request) for seconds. The job counts as loading
   * meanwhile, so `next` is read from the store until its entry is in the scheduler.
   */
  private enqueueLoad(job: Job): void {
    this.queuedLoads.set(job.name, job);
    if (this.queuedLoads.size === 1) setImmediate(() => this.drainLoads());
  }

  private drainLoads(): void {
    let n = 0;
    for (const [name, job] of this.queuedLoads) {
      this.queuedLoads.delete(name);
      void this.schedule(job);
      if (++n === 500) break;
    }
    if (this.queuedLoads.size > 0) setImmediate(() => this.drainLoads());
  }

  private isLoading(name: string): boolean {
    return this.loading.has(name) || this.queuedLoads.has(name);
  }

  private async schedule(job: JobTiming): Promise<void> {
    const token = {};
    this.loading.set(job.name, token);
    try {
      await this.load(job);
    } finally {
      if (this.loading.get(job.name) === token) this.loading.delete(job.name);
    }
  }

  /** load() for a job whose last tick is already known: nothing to wait for. */
  private loadWithTick(job: JobTiming, lastTick: string | null): void {
    const sig = scheduleSignature(job);
    if (this.signatures.get(job.name) === sig) return;
    this.signatures.set(job.name, sig);
    this.place(job, lastTick);
  }

  /** Puts the job's entry in the scheduler (or takes it out); a definition it can't take is logged. */
  private place(job: JobTiming, lastTick: string | null): void {
    try {
      const entry = isTimeScheduled(job) ? toScheduledJob(job, lastTick) : null;
      if (entry) this.scheduler.set(entry);
      else this.scheduler.remove(job.name);
    } catch (err) {
      this.log.error({ job: job.name, err: (err as Error).message }, 'scheduler: cannot schedule job');
    }
  }

  private async load(job: JobTiming): Promise<void> {
    const sig = scheduleSignature(job);
    if (this.signatures.get(job.name) === sig) return;
    // Claimed before the read so watch echoes (counter writes) don't start a second read; a failed
    // read is retried below, so the claim never leaves the job out until someone edits it.
    this.signatures.set(job.name, sig);
    if (!isTimeScheduled(job)) {
      this.scheduler.remove(job.name);
      return;
    }
    const generation = this.generation;
    const superseded = (): boolean => generation !== this.generation || this.signatures.get(job.name) !== sig;
    let lastTick: string | null;
    try {
      lastTick = await retry(() => this.store.getLastTick(job.name), {
        initialMs: 200,
        maxMs: 5000,
        giveUp: () => superseded(),
        onRetry: (err, delay) =>
          this.log.warn({ job: job.name, err: (err as Error).message, retry_ms: delay }, 'scheduler: cannot read the last tick; retrying'),
      });
    } catch {
      return; // given up: a newer version of the job, or another term, took over
    }
    if (superseded()) return;
    this.place(job, lastTick);
  }


  async nextOf(job: Job): Promise<string | null> {
    if (!isTimeScheduled(job)) return null;
    // The scheduler's view when it holds this version of the job. While a load is under way (a job
    // saved a moment ago), its entry is missing or stale: compute from the store as the load will.
    if (this.scheduler.isRunning && this.scheduler.has(job.name) && !this.isLoading(job.name)) {
      const next = this.scheduler.nextRun(job.name);
      if (!next || (job.expires_at && next.getTime() > Date.parse(job.expires_at))) return null;
      return next.toISOString();
    }
    // A write that already succeeded must not fail on this read: while the store is away, next is unknown.
    const lastTick = await this.store.getLastTick(job.name).catch(() => undefined);
    if (lastTick === undefined) return null;
    return computeNext(job, lastTick)?.toISOString() ?? null;
  }
}
