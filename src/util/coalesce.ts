/**
 * Calls made in the same turn of the event loop, handled as one batch. When
 * 20 jobs fall due on the same second, each asks the store for the same kind
 * of thing within microseconds; one round trip for all of them, instead of 20
 * queued behind each other, is what keeps the 20th run as early as the first.
 */

export interface Pending<I, O> {
  input: I;
  resolve(value: O): void;
  reject(err: unknown): void;
}

/**
 * Returns a function that queues its input and answers once `flush` has
 * settled it. The queue is flushed on setImmediate: after the microtasks of
 * the current turn (where a burst's calls arrive), before new I/O. `flush`
 * must settle every item; an item it leaves unsettled, or every item when it
 * throws, is rejected.
 */
export function coalesce<I, O>(flush: (batch: Pending<I, O>[]) => Promise<void>): (input: I) => Promise<O> {
  let queue: Pending<I, O>[] = [];
  const run = (): void => {
    const batch = queue;
    queue = [];
    const open = new Set(batch);
    const items = batch.map(
      (p): Pending<I, O> => ({
        input: p.input,
        resolve: (v) => {
          if (open.delete(p)) p.resolve(v);
        },
        reject: (e) => {
          if (open.delete(p)) p.reject(e);
        },
      }),
    );
    // new Promise: a flush that throws before its first await rejects like one that throws after.
    new Promise<void>((done) => done(flush(items))).then(
      () => {
        for (const p of open) p.reject(new Error('coalesce: the batch ended without settling this call'));
      },
      (err: unknown) => {
        for (const p of open) p.reject(err);
      },
    );
  };
  return (input) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ input, resolve, reject });
      if (queue.length === 1) setImmediate(run);
    });
}
