/**
 * The bounded delivery queue. Notifications are sent in the background, a few
 * at a time, each attempt with a deadline; failures are retried with doubling
 * backoff. Nothing here is awaited by the scheduling or execution path. When
 * the queue is full the oldest waiting notification is dropped (counted, and
 * recorded as failed). Every attempt's result goes to `onUpdate`, which the
 * notifier stores with the execution.
 */

import type { NotificationRecord } from '../job/types.js';

export type { NotificationRecord };
export type Channel = NotificationRecord['channel'];

export interface Delivery {
  record: NotificationRecord;
  /** One attempt; rejects on failure. Must honour `signal` (the attempt's deadline). */
  send(signal: AbortSignal): Promise<void>;
  /** Called with a copy of the record after every change. */
  onUpdate?(record: NotificationRecord): void;
}

export interface QueueOptions {
  size: number;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  /** Deliveries in flight at once. */
  concurrency?: number;
  /** sent / failed (for good) / retry (one attempt failed) / dropped (queue full). */
  onOutcome?(channel: Channel, outcome: 'sent' | 'failed' | 'retry' | 'dropped'): void;
}

interface Item {
  d: Delivery;
  /** Not before this time (ms); 0 = now. */
  due: number;
  inFlight: boolean;
}

export class DeliveryQueue {
  private items: Item[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly aborts = new Set<AbortController>();
  dropped = 0;

  constructor(private readonly o: QueueOptions) {}

  /** Notifications waiting or in flight. */
  get depth(): number {
    return this.items.length;
  }

  push(d: Delivery): void {
    if (this.closed) return;
    while (this.items.length >= this.o.size) {
      const oldest = this.items.findIndex((i) => !i.inFlight);
      // Everything queued is in flight: the newcomer is the one dropped, so the bound holds.
      const victim = oldest === -1 ? d : (this.items.splice(oldest, 1)[0] as Item).d;
      this.dropped++;
      this.update(victim, { status: 'failed', last_error: `dropped: notification queue full (${this.o.size})` });
      this.o.onOutcome?.(victim.record.channel, 'dropped');
      if (victim === d) return;
    }
    this.items.push({ d, due: 0, inFlight: false });
    this.update(d, {});
    this.pump();
  }

  close(): number {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const a of this.aborts) a.abort(new Error('agent stopping'));
    const left = this.items.length;
    this.items = [];
    return left;
  }

  private update(d: Delivery, patch: Partial<NotificationRecord>): void {
    Object.assign(d.record, patch, { at: new Date().toISOString() });
    try {
      d.onUpdate?.({ ...d.record });
    } catch {
      // recording is best effort
    }
  }

  private pump(): void {
    if (this.closed) return;
    const limit = this.o.concurrency ?? 4;
    const now = Date.now();
    for (const item of this.items) {
      if (this.inFlight >= limit) break;
      if (item.inFlight || item.due > now) continue;
      void this.attempt(item);
    }
    this.arm();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const waiting = this.items.filter((i) => !i.inFlight && i.due > 0);
    if (waiting.length === 0 || this.closed) return;
    const next = Math.min(...waiting.map((i) => i.due));
    this.timer = setTimeout(() => this.pump(), Math.max(0, next - Date.now()));
  }

  private async attempt(item: Item): Promise<void> {
    item.inFlight = true;
    this.inFlight++;
    const controller = new AbortController();
    this.aborts.add(controller);
    const timer = setTimeout(() => controller.abort(new Error(`timed out after ${this.o.timeoutMs} ms`)), this.o.timeoutMs);
    const d = item.d;
    let error: string | null = null;
    try {
      await d.send(controller.signal);
    } catch (err) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
      error = reason instanceof Error ? reason.message : String(reason);
    } finally {
      clearTimeout(timer);
      this.aborts.delete(controller);
      item.inFlight = false;
      this.inFlight--;
    }
    if (this.closed) return;
    const attempts = d.record.attempts + 1;
    if (error === null) {
      this.remove(item);
      this.update(d, { status: 'sent', attempts, last_error: null });
      this.o.onOutcome?.(d.record.channel, 'sent');
    } else if (attempts >= this.o.attempts || !this.items.includes(item)) {
      this.remove(item);
      this.update(d, { status: 'failed', attempts, last_error: error });
      this.o.onOutcome?.(d.record.channel, 'failed');
    } else {
      item.due = Date.now() + Math.min(this.o.backoffMs * 2 ** (attempts - 1), 60_000);
      this.update(d, { status: 'pending', attempts, last_error: error });
      this.o.onOutcome?.(d.record.channel, 'retry');
    }
    this.pump();
  }

  private remove(item: Item): void {
    const i = this.items.indexOf(item);
    if (i !== -1) this.items.splice(i, 1);
  }
}
