/**
 * The agent's typed in-process event bus. `publish` is synchronous and
 * fire-and-forget: subscribers run in order, any exception (or rejected
 * promise) is logged and never reaches the publisher, and nothing waits for a
 * subscriber. Subscribers that do I/O queue it themselves (see src/notify/queue.ts).
 */
import type { EventMap, EventName, Subscriber } from './types.js';

export type { EventMap, EventName } from './types.js';

export interface BusLogger {
  error(obj: object, msg: string): void;
}

export class EventBus {
  private readonly subscribers = new Map<EventName, Subscriber<never>[]>();
  /** Exceptions thrown by subscribers since start. */
  subscriberErrors = 0;

  constructor(private readonly log?: BusLogger) {}

  /** Subscribe; returns the unsubscribe function. */
  on<K extends EventName>(name: K, fn: Subscriber<K>): () => void {
    const list = this.subscribers.get(name) ?? [];
    list.push(fn as Subscriber<never>);
    this.subscribers.set(name, list);
    return () => {
      const cur = this.subscribers.get(name);
      if (cur) this.subscribers.set(name, cur.filter((f) => f !== fn));
    };
  }

  publish<K extends EventName>(name: K, event: EventMap[K]): void {
    const list = this.subscribers.get(name);
    if (!list) return;
    for (const fn of list) {
      try {
        const r = (fn as Subscriber<K>)(event) as unknown;
        if (r instanceof Promise) r.catch((err: unknown) => this.failed(name, err));
      } catch (err) {
        this.failed(name, err);
      }
    }
  }

  private failed(name: string, err: unknown): void {
    this.subscriberErrors++;
    try {
      this.log?.error({ event: name, err: err instanceof Error ? err.message : String(err) }, 'events: subscriber failed');
    } catch {
      // a broken logger must not break the publisher either
    }
  }
}
