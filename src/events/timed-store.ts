/**
 * Wraps a Store so every async call publishes `store.call` with its latency
 * (for the store-latency histogram). Methods run on the real store (`this` is
 * the target, so private fields keep working); non-function members pass through.
 */
import type { Store } from '../store/types.js';
import type { EventBus } from './bus.js';

export function timedStore<S extends Store>(store: S, bus: EventBus): S {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || prop === 'constructor') return value;
      const cached = wrapped.get(prop);
      if (cached) return cached;
      const op = String(prop);
      const fn = function (this: unknown, ...args: unknown[]): unknown {
        const started = performance.now();
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise) {
          return result.then(
            (v: unknown) => {
              bus.publish('store.call', { op, ms: performance.now() - started, ok: true });
              return v;
            },
            (err: unknown) => {
              bus.publish('store.call', { op, ms: performance.now() - started, ok: false });
              throw err;
            },
          );
        }
        return result;
      };
      wrapped.set(prop, fn);
      return fn;
    },
  });
}
