/**
 * The ticks whose dispatch attempt threw, kept until their fate is known (the dispatcher's
 * bookkeeping for "a later tick overtook a tick whose retry had not come yet"): what each failed
 * attempt may have left behind, and whether this agent has committed a later tick of the job since.
 * Pure state; the dispatcher decides what to read and record.
 */
import type { Execution, Trigger } from '../job/types.js';
import type { SkipCode } from '../store/types.js';

/** A skip an attempt committed, or was committing, for its tick (a commit with no executions). */
export interface PlannedSkip {
  code: SkipCode;
  reason: string;
}

/** What a failed attempt at a tick may have left behind. */
export interface FailedTick {
  trigger: Trigger;
  /** The first failure: why the tick is late, named in its skip record. */
  error: string;
  /** Ids of executions of a commit that threw: it may still have landed (a lost reply, a deadline). */
  planned: Set<string>;
  /** A skip this agent committed, or may have committed, for the tick (its commit or its record threw). */
  skip: PlannedSkip | null;
  /** This agent committed a later tick of the job: the fence refuses this one from now on. */
  overtaken: boolean;
}

/** What one attempt has under way, so a throw can say what may have landed. */
export interface Attempt {
  /** The executions of the commit in flight (none between commits). */
  planned: readonly Execution[];
  skip: PlannedSkip | null;
}

/**
 * Failed ticks remembered at most. Entries normally go within a retry or the job's next tick;
 * the bound only matters when the store stays away for long with many jobs. Past it the oldest
 * is forgotten (the caller logs it): that tick falls back to being left to the retry alone.
 */
export const MAX_FAILED_TICKS = 10_000;

export class FailedTicks {
  /** job → tick (ms) → its failed attempt. */
  private readonly byJob = new Map<string, Map<number, FailedTick>>();
  private count = 0;

  constructor(private readonly onEvict: (job: string, tick: number) => void) {}

  get(job: string, at: number): FailedTick | undefined {
    return this.byJob.get(job)?.get(at);
  }

  /** Any failed tick of the job remembered (the common answer, on every committed tick: no). */
  has(job: string): boolean {
    return this.byJob.has(job);
  }

  /** The job's failed ticks, oldest first (a copy: settling them may forget some). */
  of(job: string): [number, FailedTick][] {
    return [...(this.byJob.get(job) ?? [])];
  }

  remember(job: string, at: number, trigger: Trigger, err: unknown, attempt: Attempt): void {
    let ticks = this.byJob.get(job);
    let f = ticks?.get(at);
    if (!f) {
      if (this.count >= MAX_FAILED_TICKS) this.evictOldest();
      f = { trigger, error: err instanceof Error ? err.message : String(err), planned: new Set(), skip: null, overtaken: false };
      if (!ticks) this.byJob.set(job, (ticks = new Map()));
      ticks.set(at, f);
      this.count++;
    }
    for (const e of attempt.planned) f.planned.add(e.id);
    if (attempt.skip) f.skip = attempt.skip;
  }

  forget(job: string, at: number): void {
    const ticks = this.byJob.get(job);
    if (!ticks?.delete(at)) return;
    this.count--;
    if (ticks.size === 0) this.byJob.delete(job);
  }

  /** This agent committed tick `at` of the job: every earlier failed tick of it is overtaken. */
  markOvertaken(job: string, at: number): void {
    for (const [t, f] of this.byJob.get(job) ?? []) if (t < at) f.overtaken = true;
  }

  /** Whether a later failed tick of the job has a commit that may have landed. */
  laterInDoubt(job: string, at: number): boolean {
    for (const [t, f] of this.byJob.get(job) ?? []) if (t > at && (f.planned.size > 0 || f.skip !== null)) return true;
    return false;
  }

  /** On losing leadership: keep only the ticks whose fate this agent may still owe a record of. */
  dropUnowned(): void {
    for (const [job, ticks] of [...this.byJob]) {
      for (const [t, f] of [...ticks]) {
        if (!f.overtaken && f.skip === null && !this.laterInDoubt(job, t)) this.forget(job, t);
      }
    }
  }

  /** Ticks of the job in [from, until], recorded elsewhere (missed-tick records share their ids). */
  forgetRange(job: string, from: number, until: number): void {
    for (const [t] of this.of(job)) if (t >= from && t <= until) this.forget(job, t);
  }

  private evictOldest(): void {
    const [job, ticks] = this.byJob.entries().next().value ?? [];
    const first = ticks?.keys().next().value;
    if (job === undefined || first === undefined) return;
    this.forget(job, first);
    this.onEvict(job, first);
  }
}
