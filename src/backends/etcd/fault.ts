/**
 * Fault handling for the etcd3 client, replacing its defaults:
 *
 * - etcd3's global policy retries every "recoverable" error three times,
 *   each with a fresh deadline, so one call against a dead or partitioned
 *   member can take 3 × the deadline, and a write whose reply was lost is sent
 *   again blind. The store retries itself (reads freely; CAS writes by
 *   re-reading), so the client's global policy here runs a call once.
 * - its per-host circuit breaker stays open 5 s even when every member is
 *   open, so with a single member recovery after a restart lags up to 5 s.
 *   Here (HostBreakers) a member is skipped only while another one may answer.
 * - its watch backoff grows to 30 s, so a watch could resume half a minute
 *   after etcd came back. Here it is capped at one second.
 *
 * The types come from etcd3's IOptions so cockatiel (etcd3's own dependency,
 * not ours) never has to be imported.
 */
import { GRPCDeadlineExceededError, GRPCResourceExhastedError, isRecoverableError, type IOptions } from 'etcd3';

type FaultHandling = NonNullable<IOptions['faultHandling']>;
export type HostPolicy = ReturnType<NonNullable<FaultHandling['host']>>;
export type GlobalPolicy = NonNullable<FaultHandling['global']>;
export type WatchBackoff = NonNullable<FaultHandling['watchBackoff']>;

/** Raised instead of calling a host whose breaker is open; etcd3 then tries the next host. */
export class CircuitOpenError extends Error {
  constructor(host: string) {
    super(`etcd member ${host} is skipped for a moment after repeated failures`);
    this.name = 'CircuitOpenError';
  }
}

/** Errors that say the cluster could not be reached or did not answer in time. */
export function isTransient(err: unknown): boolean {
  if (err instanceof CircuitOpenError) return true;
  if (typeof err !== 'object' || err === null) return false;
  // Resource exhausted is a message-size limit: retrying sends the same oversized request.
  return isRecoverableError(err as Error) && !(err instanceof GRPCResourceExhastedError);
}

/**
 * The parts of cockatiel's IPolicy that etcd3 calls: only `execute`. The
 * event properties (onSuccess, onFailure) are never read by etcd3 1.1.
 */
interface ExecuteOnly {
  execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T>;
}

function asPolicy<P>(policy: ExecuteOnly): P {
  // etcd3 types its options with cockatiel's full IPolicy (events and a phantom
  // `_altReturn` field); it only ever calls execute(), which ExecuteOnly provides.
  return policy as unknown as P;
}

const neverAborted = new AbortController().signal;

export function oncePolicy(): GlobalPolicy {
  return asPolicy<GlobalPolicy>({
    execute: async (fn, signal) => fn({ signal: signal ?? neverAborted }),
  });
}

/**
 * Per-member circuit breakers sharing one view of the cluster. A member is
 * skipped for a while after a call to it timed out (a hung or partitioned
 * member costs a full deadline per call) or after two quick failures in a
 * row; the pause doubles while probes keep failing (1 s up to 30 s). When
 * every member is in a pause, calls go through anyway: skipping all of them
 * would only turn a slow cluster into a failed call.
 */
export class HostBreakers {
  private readonly hosts = new Map<string, { failures: number; openUntil: number; pauseMs: number }>();

  policy(host: string): HostPolicy {
    const state = { failures: 0, openUntil: 0, pauseMs: BASE_PAUSE_MS };
    this.hosts.set(host, state);
    return asPolicy<HostPolicy>({
      execute: async (fn, signal) => {
        const now = Date.now();
        if (now < state.openUntil && !this.allPaused(now)) throw new CircuitOpenError(host);
        try {
          const result = await fn({ signal: signal ?? neverAborted });
          state.failures = 0;
          state.openUntil = 0;
          state.pauseMs = BASE_PAUSE_MS;
          return result;
        } catch (err) {
          if (isTransient(err) && !(err instanceof CircuitOpenError)) {
            state.failures += 1;
            if (err instanceof GRPCDeadlineExceededError || state.failures >= 2) {
              state.openUntil = Date.now() + state.pauseMs;
              state.pauseMs = Math.min(MAX_PAUSE_MS, state.pauseMs * 2);
              state.failures = 0;
            }
          }
          throw err;
        }
      },
    });
  }

  private allPaused(now: number): boolean {
    for (const s of this.hosts.values()) if (now >= s.openUntil) return false;
    return true;
  }
}

const BASE_PAUSE_MS = 1000;
const MAX_PAUSE_MS = 30_000;

/** Exponential from 100 ms, capped; etcd3's WatchManager calls next() after each failed attempt. */
class CappedBackoff {
  constructor(
    readonly duration: number,
    private readonly maxMs: number,
  ) {}

  next(): CappedBackoff {
    const base = Math.min(this.maxMs, Math.max(100, this.duration * 2));
    // Jitter keeps several agents from reconnecting to a restarted member in lockstep.
    return new CappedBackoff(Math.round(base * (0.75 + Math.random() * 0.25)), this.maxMs);
  }
}

export function watchBackoff(maxMs: number): WatchBackoff {
  return new CappedBackoff(0, maxMs);
}
