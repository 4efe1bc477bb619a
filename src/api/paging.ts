/** react-admin / json-server paging: `_start` and `_end` select [start, end). */
import { ValidationError } from '../job/schema.js';

type Query = Record<string, string | string[] | undefined>;

function intParam(q: Query, key: string): number | undefined {
  const raw = q[key];
  const v = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new ValidationError(key, `${key} must be a whole number >= 0, got "${v}"`);
  return Number(v);
}

export function pageParams(q: Query): { start?: number; end?: number } {
  const start = intParam(q, '_start');
  const end = intParam(q, '_end');
  return { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) };
}

export { intParam };
