/**
 * The common case of job input checked without zod: every field present has the plain JSON type
 * the schema wants (strings, booleans, whole numbers ≥ 0, maps of strings, lists of strings).
 * zod's parse was a third of validating a 100k-job bulk save (and most of its garbage), for input
 * that is almost always of this shape. Anything else — a number where a string map is, a
 * processors or resources field, a wrong type — returns null and goes through zod, which alone
 * writes the error messages. So this check may only accept what zod accepts, with the same
 * values: test/unit/input-shape.test.ts compares the two over every field and type.
 */
import type { JobInput } from './schema.js';

type Kind = 'string' | 'boolean' | 'count' | 'stringMap' | 'strings' | 'booleanOrString';

const KINDS: ReadonlyMap<string, Kind> = new Map<string, Kind>([
  ['id', 'string'],
  ['name', 'string'],
  ['displayname', 'string'],
  ['timezone', 'string'],
  ['schedule', 'string'],
  ['owner', 'string'],
  ['owner_email', 'string'],
  ['disabled', 'boolean'],
  ['tags', 'stringMap'],
  ['metadata', 'stringMap'],
  ['retries', 'count'],
  ['parent_job', 'string'],
  ['depends_on', 'strings'],
  ['concurrency', 'string'],
  ['executor', 'string'],
  ['executor_config', 'stringMap'],
  ['ephemeral', 'boolean'],
  ['starts_at', 'string'],
  ['expires_at', 'string'],
  ['catch_up', 'string'],
  ['starting_deadline', 'string'],
  ['history_limit', 'count'],
  ['max_start_delay', 'string'],
  ['notify_on', 'string'],
  ['notify_skip', 'boolean'],
  ['slack_webhook_url', 'string'],
  ['slack_channel', 'string'],
  ['command', 'string'],
  ['shell', 'booleanOrString'],
  ['environment_variables', 'strings'],
  ['dependent_jobs', 'strings'],
]);

/** Fields of the schema this check leaves to zod whenever they are present. */
const ZOD_ONLY: ReadonlySet<string> = new Set(['processors', 'resources']);

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype && !Object.hasOwn(v, '__proto__');
}

function fits(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'booleanOrString':
      return typeof v === 'boolean' || typeof v === 'string';
    case 'count':
      return Number.isSafeInteger(v) && (v as number) >= 0;
    case 'strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'stringMap': {
      if (!isPlain(v)) return false;
      for (const k in v) if (typeof v[k] !== 'string') return false;
      return true;
    }
  }
}

/**
 * The input itself, typed, when every field zod would look at is of the plain shape; null when
 * zod must decide. Unknown fields are ignored, as zod's strip ignores them (normalizeJobInput only
 * reads the schema's fields). Null values were removed by the caller.
 */
export function plainJobInput(body: object): JobInput | null {
  if (!isPlain(body) || typeof body.name !== 'string') return null;
  for (const key in body) {
    const v = body[key];
    if (v === undefined) continue;
    const kind = KINDS.get(key);
    if (kind === undefined) {
      if (ZOD_ONLY.has(key)) return null;
      continue;
    }
    if (!fits(kind, v)) return null;
  }
  return body as JobInput;
}
