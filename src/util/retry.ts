/**
 * Exponential backoff around an async step that may fail while a backend is
 * away. Every "keep trying until it works or we must stop" loop uses this.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryOptions {
  initialMs: number;
  maxMs: number;
  /** Return true to stop retrying; the last error is then thrown. */
  giveUp: (err: unknown, attempt: number) => boolean;
  /** Before each wait (logging). */
  onRetry?: (err: unknown, delayMs: number, attempt: number) => void;
}

export async function retry<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  let delay = o.initialMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (o.giveUp(err, attempt)) throw err;
      o.onRetry?.(err, delay, attempt);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, o.maxMs);
    }
  }
}

/** Waits, but wakes early (resolving false) when the signal aborts: a backoff a shutdown can cut short. */
export async function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
    return true;
  } catch {
    return false;
  }
}
