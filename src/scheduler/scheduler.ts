/**
 * The leader's clock: one heap of due times and one timer for the earliest.
 * It decides *which* ticks fire (including ticks missed while no scheduler
 * ran, per the job's catch-up policy); dispatching them is the caller's job.
 */
import { MinHeap } from './heap.js';
import type { Schedule } from './schedule.js';
import { ticksFrom } from './ticks.js';
import type { CatchUpPolicy } from '../job/types.js';

export interface ScheduledJob {
  name: string;
  schedule: Schedule;
  /** Ticks at or before this instant (ms) are done or predate the definition. */
  anchor: number;
  catchUp: CatchUpPolicy;
  /** A missed tick older than this is never caught up; null = no limit. */
  startingDeadlineMs: number | null;
  /**
   * The job's last instant (its expires_at, inclusive); absent or null = none. Later instants are
   * not ticks: they never fire and are never reported missed (a gap after the end is no skip).
   */
  endsAt?: number | null;
  /**
   * Fire this job's ticks `leadMs` (SchedulerOptions) early. False for jobs whose dispatch
   * decides on what runs at that moment (concurrency "forbid"), which must fire on the tick.
   */
  ahead?: boolean;
}

export interface TickEvent {
  name: string;
  scheduledAt: Date;
  /** `workflow`: not from the scheduler; a fan-in job's window (src/cluster/fan-in.ts), fenced like a tick. */
  trigger: 'schedule' | 'catchup' | 'workflow';
}

export interface MissedEvent {
  name: string;
  count: number;
  reason: string;
  /** Which policy dropped them: the catch-up policy, the starting deadline, or the catch-up cap. */
  policy: 'skip' | 'starting_deadline' | 'latest' | 'limit';
  /** The dropped ticks the scheduler knows one by one (the latest ones), oldest first. */
  ticks: number[];
  /** Older dropped ticks, counted but not listed (a long gap): the first and last of them. */
  earlier: { from: number; until: number; count: number } | null;
}

export interface SchedulerOptions {
  onTick: (tick: TickEvent) => Promise<void> | void;
  /** Ticks that were missed and, by policy, will not run. */
  onMissed?: (missed: MissedEvent) => void;
  onError?: (err: unknown, tick: TickEvent) => void;
  now?: () => number;
  /** A tick fired within this lateness is on time, not "missed". */
  lateGraceMs?: number;
  /** Most missed ticks run for one job under the `all` policy. */
  maxCatchUp?: number;
  /**
   * How long before its tick a job (with `ahead`) fires: its dispatch crosses the store
   * meanwhile, and the agent that runs it waits for the tick itself. 0 = on the tick.
   */
  leadMs?: number;
  /**
   * Jobs with `ahead` whose firing falls within this long after now fire with the ones due now,
   * up to this much earlier than their lead: a leader whose jobs' phases are spread over the
   * second then commits their ticks in a few batches instead of one transaction each. 0 = none.
   */
  batchMs?: number;
}

interface Entry {
  job: ScheduledJob;
  version: number;
  /** The next tick. */
  due: number | null;
  /** When it fires: the tick, or the lead before it. The heap is ordered by this. */
  fireAt: number | null;
}

// setTimeout clamps at 2^31-1 ms; re-arming at least every minute also
// absorbs wall-clock jumps (NTP steps, VM resume).
const MAX_TIMER_MS = 60_000;

export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly heap = new MinHeap();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private running = false;
  private versionSeq = 0;
  private readonly now: () => number;
  private readonly lateGraceMs: number;
  private readonly maxCatchUp: number;
  private readonly leadMs: number;
  private readonly batchMs: number;

  constructor(private readonly options: SchedulerOptions) {
    this.now = options.now ?? Date.now;
    this.lateGraceMs = options.lateGraceMs ?? 1000;
    this.maxCatchUp = options.maxCatchUp ?? 100;
    this.leadMs = Math.max(0, options.leadMs ?? 0);
    this.batchMs = Math.max(0, options.batchMs ?? 0);
  }

  private leadOf(job: ScheduledJob): number {
    return job.ahead === true ? this.leadMs : 0;
  }

  private fireTime(job: ScheduledJob, due: number | null): number | null {
    return due === null ? null : due - this.leadOf(job);
  }

  /** The job's next tick after `after`, or null (none, or past its end). */
  private nextDue(job: ScheduledJob, after: number): number | null {
    const due = job.schedule.next(new Date(after))?.getTime() ?? null;
    return due !== null && job.endsAt != null && due > job.endsAt ? null : due;
  }

  get size(): number {
    return this.entries.size;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Add or replace a job's schedule. */
  set(job: ScheduledJob): void {
    const version = ++this.versionSeq;
    const due = this.nextDue(job, job.anchor);
    const fireAt = this.fireTime(job, due);
    this.entries.set(job.name, { job, version, due, fireAt });
    if (fireAt !== null) {
      this.heap.push({ due: fireAt, name: job.name, version });
      if (this.running && fireAt < this.timerAt) this.arm();
    }
  }

  remove(name: string): void {
    this.entries.delete(name);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  nextRun(name: string): Date | null {
    const due = this.entries.get(name)?.due;
    return due === undefined || due === null ? null : new Date(due);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.arm();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  clear(): void {
    this.entries.clear();
    this.heap.clear();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    if (!this.running) return;
    const top = this.peekValid();
    if (!top) return;
    const delay = Math.min(Math.max(0, top - this.now()), MAX_TIMER_MS);
    this.timerAt = top;
    this.timer = setTimeout(() => this.fire(), delay);
  }

  private peekValid(): number | undefined {
    for (;;) {
      const top = this.heap.peek();
      if (!top) return undefined;
      const entry = this.entries.get(top.name);
      if (entry && entry.version === top.version && entry.fireAt === top.due) return top.due;
      this.heap.pop();
    }
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    if (!this.running) return;
    const now = this.now();
    for (;;) {
      const top = this.heap.peek();
      if (!top || top.due > now + this.batchMs) break;
      const entry = this.entries.get(top.name);
      if (!entry || entry.version !== top.version || entry.fireAt !== top.due) {
        this.heap.pop();
        continue;
      }
      // Only a job dispatched ahead may go early with the batch (see batchMs); the rest wait their turn.
      if (top.due > now && entry.job.ahead !== true) break;
      this.heap.pop();
      this.runDue(entry, now, Math.max(0, top.due - now));
    }
    this.arm();
  }

  /**
   * Emits the ticks of one job that are due at `now` (or within its lead, plus `early` when it
   * fires with a batch) and schedules its next one.
   */
  private runDue(entry: Entry, now: number, early: number): void {
    const { job } = entry;
    // Ticks up to the horizon fire; lateness is still measured from now (a tick ahead is on time).
    // None past the job's end: an expired job's gap is not a run of missed ticks. (entry.due is never
    // past the end, so the span still holds it.)
    const horizon = Math.min(now + this.leadOf(job) + early, job.endsAt ?? Infinity);
    const span = ticksFrom(job.schedule, entry.due as number, horizon, this.maxCatchUp + 1);
    const onTime = span.ticks.filter((t) => now - t <= this.lateGraceMs);
    const missed = span.ticks.filter((t) => now - t > this.lateGraceMs);
    const missedTotal = span.total - onTime.length;

    const fire: TickEvent[] = [];
    if (missedTotal > 0) {
      const deadline = job.startingDeadlineMs;
      const eligible = missed.filter((t) => deadline === null || now - t <= deadline);
      let chosen: number[] = [];
      if (job.catchUp === 'all') chosen = eligible.slice(-this.maxCatchUp);
      else if (job.catchUp === 'latest' && onTime.length === 0) chosen = eligible.slice(-1);
      for (const t of chosen) fire.push({ name: job.name, scheduledAt: new Date(t), trigger: 'catchup' });
      const dropped = missedTotal - chosen.length;
      if (dropped > 0) {
        const policy: MissedEvent['policy'] =
          job.catchUp === 'skip' ? 'skip' : eligible.length < missed.length ? 'starting_deadline' : job.catchUp === 'all' ? 'limit' : 'latest';
        const reason = {
          skip: 'catch_up is "skip"',
          starting_deadline: 'older than starting_deadline',
          limit: `more than ${this.maxCatchUp} missed`,
          latest: 'only the latest missed tick is caught up',
        }[policy];
        const chosenSet = new Set(chosen);
        const ticks = missed.filter((t) => !chosenSet.has(t));
        const unlisted = dropped - ticks.length;
        const firstListed = span.ticks[0] ?? now;
        // The unlisted ones lie between the first missed tick and the first listed one.
        const earlier = unlisted > 0 ? { from: entry.due as number, until: firstListed - 1, count: unlisted } : null;
        this.options.onMissed?.({ name: job.name, count: dropped, reason, policy, ticks, earlier });
      }
    }
    for (const t of onTime) fire.push({ name: job.name, scheduledAt: new Date(t), trigger: 'schedule' });

    const last = span.ticks[span.ticks.length - 1] ?? now;
    job.anchor = last;
    entry.version = ++this.versionSeq;
    entry.due = this.nextDue(job, last);
    entry.fireAt = this.fireTime(job, entry.due);
    if (entry.fireAt !== null) this.heap.push({ due: entry.fireAt, name: job.name, version: entry.version });

    for (const tick of fire) {
      try {
        const r = this.options.onTick(tick);
        if (r && typeof r.then === 'function') r.then(undefined, (err: unknown) => this.options.onError?.(err, tick));
      } catch (err) {
        this.options.onError?.(err, tick);
      }
    }
  }
}
