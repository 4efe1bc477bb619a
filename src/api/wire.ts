/**
 * The API's wire format where it differs from Kairos' own records, and the readers every client
 * of it shares (the `kairos` CLI, the web UI, the tests and the bench), so each reads it one way.
 *
 * An unfinished execution carries dkron's zero time in `finished_at` ("0001-01-01T00:00:00Z"), not
 * null: dkron's own UI shows a run as running only for that value. Inside Kairos (stores, runner,
 * events) it stays null; readers turn it back into null with `zeroTimeAsNull`.
 *
 * No Node APIs here: the web UI bundles this file.
 */
import type { Execution } from '../job/types.js';

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export type WireExecution = Omit<Execution, 'finished_at'> & { finished_at: string };

export function wireExecution(e: Execution): WireExecution {
  return { ...e, finished_at: e.finished_at ?? ZERO_TIME };
}

/** A JSON.parse reviver: dkron's zero `finished_at` (any precision) reads as null ("not finished"). */
export function zeroTimeAsNull(key: string, value: unknown): unknown {
  return key === 'finished_at' && typeof value === 'string' && value.startsWith('0001-01-01') ? null : value;
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/**
 * Server-Sent Events out of a text buffer (the execution stream): the whole events in it, with
 * their JSON data parsed (zero times as null), and what is left for the next chunk. Comment lines
 * (the heartbeat) are skipped.
 */
export function takeSseEvents(buffer: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  let rest = buffer;
  let cut: number;
  while ((cut = rest.indexOf('\n\n')) >= 0) {
    const block = rest.slice(0, cut);
    rest = rest.slice(cut + 2);
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data, zeroTimeAsNull) as unknown });
  }
  return { events, rest };
}
