/**
 * Executions as the API sends them. An unfinished execution carries dkron's zero time in
 * `finished_at` ("0001-01-01T00:00:00Z"), not null: dkron's own UI shows a run as running only for
 * that value. Inside Kairos (stores, runner, events) it stays null; the Kairos UI and `kairos`
 * client read the zero time back as null (isZeroTime / the client's JSON reviver).
 */
import type { Execution } from '../job/types.js';

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export type WireExecution = Omit<Execution, 'finished_at'> & { finished_at: string };

export function wireExecution(e: Execution): WireExecution {
  return { ...e, finished_at: e.finished_at ?? ZERO_TIME };
}

/** For readers of the API: dkron's zero time (any precision) is "not finished". */
export function isZeroTime(t: string | null | undefined): boolean {
  return t === null || t === undefined || t.startsWith('0001-01-01');
}
