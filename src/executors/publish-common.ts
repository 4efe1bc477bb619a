/** What the message executors (nats, rabbitmq) share: their `timeout` key and URL redaction. */
import { formatDuration, parseSecondsOrDuration } from '../util/duration.js';

export const MASK = '********';
const DEFAULT_TIMEOUT_MS = 10_000;

/** Milliseconds (10 s when unset), or a message. Bare numbers are seconds (as the http executor's timeout). */
export function publishTimeout(raw: string | undefined): number | string {
  if (raw === undefined || raw.trim() === '') return DEFAULT_TIMEOUT_MS;
  let ms: number;
  try {
    ms = parseSecondsOrDuration(raw);
  } catch (err) {
    return `timeout must be seconds or a Go duration: ${(err as Error).message}`;
  }
  if (!(ms > 0)) return `timeout must be positive, got "${raw}"`;
  return ms;
}

/** `scheme://user:pass@host` → `scheme://user:********@host`: URLs go into outputs and logs. */
export function redactUrl(raw: string): string {
  return raw.replace(/\/\/([^/@]*)@/, (_m, cred: string) => `//${cred.includes(':') ? `${cred.split(':')[0]}:${MASK}` : MASK}@`);
}

export class AbortedError extends Error {
  constructor(signal: AbortSignal) {
    // The reason is whatever the agent aborted with; any value is printable.
    const reason: unknown = signal.reason;
    super(`killed: ${String(reason ?? 'aborted')}`);
  }
}

export class DeadlineError extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${formatDuration(ms)}`);
  }
}

/**
 * One publish under one deadline and the run's abort signal: a client's own connect timeout
 * covers the handshake only, and a broker that stalls after it would hang the run. `work` gets
 * `abandoned()` (true once the run is decided: a connect that completes late must publish
 * nothing). `close` runs once the race is decided, and again when `work` settles later (a
 * connect still in flight at the deadline).
 */
export async function withinDeadline(
  work: (abandoned: () => boolean) => Promise<void>,
  o: { timeoutMs: number; signal: AbortSignal; close: () => Promise<void> },
): Promise<void> {
  if (o.signal.aborted) throw new AbortedError(o.signal);
  let abandoned = false;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const bounded = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(o.timeoutMs)), o.timeoutMs);
    onAbort = () => reject(new AbortedError(o.signal));
    o.signal.addEventListener('abort', onAbort, { once: true });
  });
  const running = work(() => abandoned);
  try {
    await Promise.race([running, bounded]);
  } finally {
    abandoned = true;
    clearTimeout(timer);
    if (onAbort) o.signal.removeEventListener('abort', onAbort);
    // The losing side of the race may still reject later; nobody waits for it.
    bounded.catch(() => undefined);
    await o.close();
    void running.then(o.close, o.close);
  }
}
