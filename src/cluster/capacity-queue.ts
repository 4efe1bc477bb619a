/**
 * Ticks the leader holds until an agent has room for them (capacity-aware placement). In memory:
 * a tick waits here uncommitted, so if the leader goes, the next leader's catch-up (the job's
 * `catch_up` policy) decides about it as about any tick no leader ran. First in, first out per
 * job; a small job may pass a big one of another job. Retried at once when a run on this agent
 * finishes (the only finishes it hears of), and every second while anything waits (runs on other
 * agents end, agents join).
 */
import type { Logger } from '../util/log.js';
import type { QueuedRun } from './types.js';
import type { TickEvent } from '../scheduler/scheduler.js';
import { iso } from '../job/time.js';

export interface QueuedTick {
  tick: TickEvent;
  since: number;
  reason: string;
}

/** What a retry came to: placed (or recorded as skipped), still waiting, or no longer a tick to run. */
export type RetryOutcome = 'done' | 'waiting';

const MAX_QUEUED = 10_000;
const RETRY_EVERY_MS = 1000;

export class CapacityQueue {
  private items: QueuedTick[] = [];
  private timer: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly retry: (q: QueuedTick) => Promise<RetryOutcome>,
    private readonly log: Logger,
  ) {}

  /** False when the queue is full (the caller records the tick as skipped). */
  add(q: QueuedTick): boolean {
    if (this.items.length >= MAX_QUEUED) return false;
    this.items.push(q);
    this.log.info({ job: q.tick.name, tick: iso(q.tick.scheduledAt), reason: q.reason }, 'dispatch: queued until an agent has room');
    this.arm();
    return true;
  }

  has(job: string): boolean {
    return this.items.some((q) => q.tick.name === job);
  }

  /** Still queued, with what it waits for (updated on each retry). */
  update(q: QueuedTick, reason: string): void {
    q.reason = reason;
  }

  list(limit = 20): QueuedRun[] {
    return this.items.slice(0, limit).map((q) => ({ job: q.tick.name, scheduled_at: iso(q.tick.scheduledAt), since: iso(q.since), reason: q.reason }));
  }

  get size(): number {
    return this.items.length;
  }

  /** Leadership lost: the next leader's catch-up owns these ticks. */
  clear(): void {
    this.items = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Something may have room now: retry in order. */
  kick(): void {
    if (this.items.length === 0) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async drain(): Promise<void> {
    const blocked = new Set<string>();
    for (const q of [...this.items]) {
      if (blocked.has(q.tick.name) || !this.items.includes(q)) continue;
      let outcome: RetryOutcome;
      try {
        outcome = await this.retry(q);
      } catch (err) {
        this.log.warn({ job: q.tick.name, err: (err as Error).message }, 'dispatch: queued tick not placed yet (store error); retrying');
        outcome = 'waiting';
      }
      if (outcome === 'done') this.items = this.items.filter((x) => x !== q);
      else blocked.add(q.tick.name); // its later ticks wait behind it
    }
    this.arm();
  }

  private arm(): void {
    if (this.timer || this.items.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, RETRY_EVERY_MS);
    this.timer.unref();
  }
}
