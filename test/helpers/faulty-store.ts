/**
 * Fault injection for in-process tests: wraps a real store so chosen calls
 * reject (a store outage as the caller sees it) or run a hook first, while
 * everything else goes to the real store unchanged.
 */
import type { Store } from '../../src/store/types.js';

export type StoreMethod = Exclude<{ [K in keyof Store]: Store[K] extends (...args: never[]) => unknown ? K : never }[keyof Store], undefined>;

/** Decides per call: return an Error to reject with it, or undefined to pass the call through. */
export type FaultRule = (method: StoreMethod, args: unknown[]) => Error | undefined | Promise<Error | undefined>;

export interface FaultyStore<S extends Store> {
  store: S;
  /** Calls made so far, by method name. */
  calls: Map<string, number>;
  /** Replace the rule (undefined: no faults). */
  setRule(rule: FaultRule | undefined): void;
}

const SYNC_METHODS = new Set(['watchJobs', 'consumeAssignments']);

export function faulty<S extends Store>(inner: S, initial?: FaultRule): FaultyStore<S> {
  let rule = initial;
  const calls = new Map<string, number>();
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      // Subscriptions return their unsubscribe function synchronously: never wrapped.
      if (SYNC_METHODS.has(prop)) return (value as (...args: unknown[]) => unknown).bind(target);
      const fn = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]): unknown => {
        calls.set(prop, (calls.get(prop) ?? 0) + 1);
        // Subscriptions answer synchronously with their unsubscribe function; an (async) rule would turn it into a promise.
        if (!rule) return fn.apply(target, args);
        const verdict = rule(prop as StoreMethod, args);
        if (verdict instanceof Promise) {
          return verdict.then((err) => {
            if (err) throw err;
            return fn.apply(target, args);
          });
        }
        if (verdict) return Promise.reject(verdict);
        return fn.apply(target, args);
      };
    },
  });
  return { store, calls, setRule: (r) => (rule = r) };
}

/** The store being away, as etcd reports it. */
export function outage(what: string): Error {
  return new Error(`etcd unavailable: ${what}: injected fault`);
}
