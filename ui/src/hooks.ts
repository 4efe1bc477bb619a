/** Hooks every page uses: follow a store, load API data (keeping the last data through an outage), poll. */
import { useCallback, useEffect, useReducer, useRef, useState } from 'preact/hooks';
import type { Emitter } from './emitter.js';
import { connection } from './connection.js';
import { ApiError } from './api.js';

/** Re-render when the store changes. */
export function useStore<T extends Emitter>(store: T): T {
  const [, bump] = useReducer((n: number, _: void) => n + 1, 0);
  useEffect(() => store.subscribe(() => bump()), [store]);
  return store;
}

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

/**
 * Runs `load` when `deps` change, when the agent comes back, and every `pollMs` (if given).
 * On failure the last data stays (with `error` set): an outage never blanks the page.
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], pollMs?: number): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiError | null; loading: boolean }>({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const conn = useStore(connection);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    loadRef.current(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, error: null, loading: false });
      },
      (err: unknown) => {
        if (controller.signal.aborted || (err as Error).name === 'AbortError') return;
        const error = err instanceof ApiError ? err : new ApiError(0, (err as Error).message);
        setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
    return () => controller.abort();
  }, [...deps, tick, conn.generation]);
  useEffect(() => {
    if (!pollMs) return;
    const timer = setInterval(() => {
      if (connection.online && document.visibilityState !== 'hidden') reload();
    }, pollMs);
    return () => clearInterval(timer);
  }, [pollMs, reload]);
  return { ...state, reload };
}
