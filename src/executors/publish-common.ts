/** What the message executors (nats, rabbitmq) share: their `timeout` key and URL redaction. */
import { parseSecondsOrDuration } from '../util/duration.js';

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
