/**
 * Schedule specs, parsed the way dkron (robfig/cron v3 plus dkron's extcron)
 * reads them, with cron arithmetic delegated to croner.
 *
 * Deliberate differences from dkron:
 * - Descriptors (`@daily`, ...) are evaluated in the job's timezone; dkron
 *   evaluates them in the server's zone, which surprises users.
 * - `@every` with a zero or negative duration is an error (robfig silently
 *   turns it into 1s).
 * - `@minutely` exists.
 *
 * DST (croner v11 with `fixedTimeRule: 'no-wildcard'`, close to Vixie cron;
 * robfig has no defined behaviour here, so this is ours, pinned in tests):
 * - Fixed-time jobs (no `*`, `?` or step in seconds, minutes and hours, e.g.
 *   `0 30 2 * * *` or `0 30 1,13 * * *`):
 *   - a wall time skipped by spring-forward fires once at the first valid
 *     instant after the gap (America/New_York 2026-03-08: `0 30 2 * * *`
 *     fires at 03:00 EDT = 07:00Z);
 *   - a wall time that occurs twice at fall-back fires once, at its first
 *     occurrence (2026-11-01: `0 30 1 * * *` fires at 01:30 EDT = 05:30Z).
 *   'no-wildcard' rather than croner's default 'single-value' so that a list
 *   such as `0 30 1,13 * * *` does not fire three times on fall-back day and
 *   `0 0,30 2 * * *` is not skipped entirely on spring-forward day.
 * - Interval jobs (wildcard or step in seconds/minutes/hours) follow real
 *   time: hourly jobs fire every real hour, skipped wall times are skipped
 *   and the repeated hour runs on both passes (they are distinct instants).
 */
import { Cron } from 'croner';
import { DurationError, parseGoDuration } from '../util/duration.js';
import { parseRfc3339 } from '../job/time.js';

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

export interface Schedule {
  readonly kind: 'cron' | 'every' | 'at' | 'manual';
  /** The first fire instant strictly after `after`, or null when there is none. */
  next(after: Date): Date | null;
}

export interface ScheduleOptions {
  /** IANA zone for cron specs and descriptors; '' or undefined = the process's local zone; 'Local' = local too; 'UTC' ok. */
  timezone?: string;
  /** Job name, used by the `~` hash placeholder. */
  jobName?: string;
}

/** Zone name → Intl's canonical name, or null when Intl rejects it. */
const zoneNames = new Map<string, string | null>();

function canonicalZone(tz: string): string | null {
  let name = zoneNames.get(tz);
  if (name !== undefined) return name;
  try {
    name = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    name = null;
  }
  // Zone strings come from users; don't let junk grow this without bound.
  if (zoneNames.size >= 1000) zoneNames.clear();
  zoneNames.set(tz, name);
  return name;
}

export function isValidTimezone(tz: string): boolean {
  return tz === '' || tz === 'Local' || canonicalZone(tz) !== null;
}

// --- compiled croner cache ---------------------------------------------------

/**
 * With 100k jobs, holding a croner instance per Schedule would cost ~2 KB
 * each even after the year-array fix below, so schedules hold only a key and
 * compiled instances live in this bounded LRU; a miss just recompiles (~25 µs).
 */
const CACHE_MAX = 10_000;
const cronCache = new Map<string, Cron>();
/** Separates zone from pattern in cache keys; appears in neither. */
const KEY_SEP = '|';

/** The croner internals we touch; croner does not expose them in its types. */
interface CronInternals {
  _states?: { pattern?: { starYear?: unknown; year?: unknown } };
}
let sharedYears: readonly number[] | undefined;

/**
 * croner gives every pattern its own 10,000-entry year array (~80 KB, 96% of
 * an instance). For a wildcard year it is all ones and only ever read after
 * parsing, so every instance can share one frozen copy. Defensive: if croner's
 * internals change shape this silently does nothing.
 */
function shareYearArray(cron: Cron): void {
  const pattern = (cron as unknown as CronInternals)._states?.pattern;
  if (!pattern || pattern.starYear !== true || !Array.isArray(pattern.year)) return;
  const years = pattern.year as unknown[];
  if (!sharedYears) {
    if (!years.every((v) => v === 1)) return;
    sharedYears = Object.freeze(years as number[]);
    return;
  }
  if (years.length === sharedYears.length) pattern.year = sharedYears;
}

function compileCron(key: string): Cron {
  const cut = key.indexOf(KEY_SEP);
  const zone = key.slice(0, cut);
  const pattern = key.slice(cut + 1);
  const cron = new Cron(pattern, {
    paused: true,
    // croner's Intl path costs ~40 µs per nextRun, its UTC-offset path ~5 µs.
    ...(zone === 'UTC' ? { utcOffset: 0 } : { timezone: zone === '' ? undefined : zone }),
    mode: '6-part',
    domAndDow: false,
    fixedTimeRule: 'no-wildcard',
  });
  shareYearArray(cron);
  return cron;
}

function cronFor(key: string): Cron {
  let cron = cronCache.get(key);
  if (cron) {
    // Re-insert so hot patterns survive eviction (Map iterates in insertion order).
    cronCache.delete(key);
  } else {
    cron = compileCron(key);
    if (cronCache.size >= CACHE_MAX) {
      const oldest = cronCache.keys().next();
      if (!oldest.done) cronCache.delete(oldest.value);
    }
  }
  cronCache.set(key, cron);
  return cron;
}

// --- schedule kinds ------------------------------------------------------------
// `kind` is a prototype getter so that instances carry a single field.

class CronSchedule implements Schedule {
  /**
   * The last answer: next(t) is the first tick after t, so for any t in [after, next) it is the
   * same tick. Jobs sharing a schedule (one instance, see parseSchedule) mostly ask about the same
   * interval (their last ticks are the same instant), and croner takes ~25 µs per answer: loading
   * 100k jobs asked croner 100k times for a handful of distinct answers.
   */
  private lastAfter = Infinity;
  private lastNext: number | null = null;

  constructor(private readonly key: string) {}
  get kind(): 'cron' {
    return 'cron';
  }
  next(after: Date): Date | null {
    const t = after.getTime();
    if (t >= this.lastAfter && (this.lastNext === null || t < this.lastNext)) return this.lastNext === null ? null : new Date(this.lastNext);
    const next = cronFor(this.key).nextRun(after);
    if (Number.isFinite(t)) {
      this.lastAfter = t;
      this.lastNext = next === null ? null : next.getTime();
    }
    return next;
  }
}

class EverySchedule implements Schedule {
  constructor(private readonly intervalMs: number) {}
  get kind(): 'every' {
    return 'every';
  }
  next(after: Date): Date | null {
    return new Date(after.getTime() + this.intervalMs);
  }
}

class AtSchedule implements Schedule {
  constructor(private readonly atMs: number) {}
  get kind(): 'at' {
    return 'at';
  }
  next(after: Date): Date | null {
    return this.atMs > after.getTime() ? new Date(this.atMs) : null;
  }
}

const MANUAL: Schedule = Object.freeze({
  kind: 'manual' as const,
  next: (): Date | null => null,
});

// --- cron fields ---------------------------------------------------------------

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: Readonly<Record<string, number>>;
  /** dkron v4's `~` value for this field, from the job-name hash. */
  readonly hash: (h: number) => number;
}

export const MONTH_NAMES: Readonly<Record<string, number>> = {
  jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12,
};
export const DAY_NAMES: Readonly<Record<string, number>> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

const FIELDS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59, hash: (h) => h % 60 },
  { name: 'minute', min: 0, max: 59, hash: (h) => h % 60 },
  { name: 'hour', min: 0, max: 23, hash: (h) => h % 24 },
  { name: 'day of month', min: 1, max: 31, hash: (h) => (h % 28) + 1 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES, hash: (h) => (h % 12) + 1 },
  // 0-6 only: robfig rejects 7, which croner would accept as Sunday.
  { name: 'day of week', min: 0, max: 6, names: DAY_NAMES, hash: (h) => h % 7 },
];

function fieldValue(tok: string, f: FieldSpec, item: string): number {
  const named = f.names?.[tok.toLowerCase()];
  if (named !== undefined) return named;
  if (!/^\d+$/.test(tok)) throw new ScheduleError(`${f.name} field: invalid value "${tok}" in "${item}"`);
  return Number(tok);
}

/**
 * Validates one field with robfig's grammar and rewrites it in a canonical
 * form croner reads the same way robfig does. The rewrite matters for:
 * - dom/dow OR: robfig treats a field as "star" (ignored in the OR) when any
 *   item is `*`, `?` or `*\/1`; croner only when the field is exactly `*`.
 * - `N/step` (robfig: N-max/step), which croner rejects.
 * - sharing: equivalent specs (names vs numbers) map to one cache entry.
 */
function canonicalField(raw: string, f: FieldSpec): string {
  const out: string[] = [];
  for (const item of raw.split(',')) {
    if (item === '') throw new ScheduleError(`${f.name} field: empty list item in "${raw}"`);
    const slash = item.split('/');
    if (slash.length > 2) throw new ScheduleError(`${f.name} field: too many slashes in "${item}"`);
    const [rangePart = '', stepPart] = slash;
    let start: number;
    let end: number;
    let star = false;
    let single = false;
    if (rangePart === '*' || rangePart === '?') {
      start = f.min;
      end = f.max;
      star = true;
    } else {
      const dash = rangePart.split('-');
      if (dash.length > 2) throw new ScheduleError(`${f.name} field: too many hyphens in "${item}"`);
      const [lo = '', hi] = dash;
      start = fieldValue(lo, f, item);
      single = hi === undefined;
      end = hi === undefined ? start : fieldValue(hi, f, item);
    }
    let step = 1;
    if (stepPart !== undefined) {
      if (!/^\d+$/.test(stepPart)) throw new ScheduleError(`${f.name} field: invalid step "${stepPart}" in "${item}"`);
      step = Number(stepPart);
      if (step === 0) throw new ScheduleError(`${f.name} field: step must be positive in "${item}"`);
      if (single) end = f.max;
      if (step > 1) star = false;
    }
    if (start < f.min || end > f.max) {
      const bad = start < f.min ? start : end;
      throw new ScheduleError(`${f.name} field: value ${bad} out of range ${f.min}-${f.max}`);
    }
    if (start > end) throw new ScheduleError(`${f.name} field: range start ${start} is after end ${end} in "${item}"`);
    if (star) return '*';
    if (start === end || step > end - start) out.push(String(start));
    else if (step === 1) out.push(`${start}-${end}`);
    else out.push(`${start}-${end}/${step}`);
  }
  return out.join(',');
}

function hashName(name: string): number {
  let h = 0;
  for (const ch of name) h += ch.codePointAt(0) as number;
  return h;
}

/** Returns the canonical 6-field pattern. */
function canonicalCron(spec: string, jobName: string | undefined, hashAllowed: boolean): string {
  const raw = spec.split(/\s+/);
  if (raw.length !== 5 && raw.length !== 6) {
    throw new ScheduleError(`expected 5 or 6 fields, got ${raw.length}`);
  }
  // Classic Unix cron: minute first, fires at second 0.
  const offset = raw.length === 5 ? 1 : 0;
  const fields: string[] = offset ? ['0'] : [];
  raw.forEach((field, i) => {
    const f = FIELDS[i + offset] as FieldSpec;
    let value = field;
    if (hashAllowed && value.includes('~')) {
      if (!jobName) throw new ScheduleError('the ~ placeholder needs a job name');
      value = value.replaceAll('~', String(f.hash(hashName(jobName))));
    }
    fields.push(canonicalField(value, f));
  });
  return fields.join(' ');
}

// --- spec parsing --------------------------------------------------------------

/** dkron's descriptors as 6-field cron (second first); also read by describe.ts. */
export const DESCRIPTORS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
  '@minutely': '0 * * * * *',
};

/** Go's maximum time.Duration (~292 years); larger `@every` values overflow there. */
const MAX_EVERY_MS = 9_223_372_036_854;

function parseEvery(arg: string): Schedule {
  let ms: number;
  try {
    ms = parseGoDuration(arg);
  } catch (err) {
    if (err instanceof DurationError) throw new ScheduleError(`@every: ${err.message}`);
    throw err;
  }
  if (!(ms > 0)) throw new ScheduleError(`@every: interval must be positive, got "${arg}"`);
  if (ms > MAX_EVERY_MS) throw new ScheduleError(`@every: interval "${arg}" is too large`);
  // robfig: at least 1s, otherwise truncated to whole seconds.
  return new EverySchedule(ms < 1000 ? 1000 : Math.floor(ms / 1000) * 1000);
}

function parseAt(arg: string): Schedule {
  const ms = parseRfc3339(arg);
  if (ms === null) {
    throw new ScheduleError(`@at: "${arg}" is not an RFC 3339 time (e.g. 2026-01-02T15:04:05Z)`);
  }
  return new AtSchedule(ms);
}

/** '' = local. Aliases collapse (utc, Etc/GMT → UTC) so they share cache entries. */
function resolveZone(tz: string): string {
  if (tz === '' || tz === 'Local') return '';
  const name = canonicalZone(tz);
  if (name === null) throw new ScheduleError(`unknown time zone "${tz}"`);
  return name;
}

/** Splits off dkron's `TZ=zone` / `CRON_TZ=zone` prefix (zone null when there is none; '' when empty). */
export function splitZonePrefix(spec: string): { zone: string | null; rest: string } {
  const trimmed = spec.trim();
  const m = /^(?:CRON_)?TZ=(\S*)(?:\s+|$)/.exec(trimmed);
  return m ? { zone: m[1] ?? '', rest: trimmed.slice(m[0].length) } : { zone: null, rest: trimmed };
}

/**
 * Parsed schedules by spec and time zone: a schedule is immutable, and a fleet has far fewer
 * distinct schedules than jobs (parsing and canonicalising one costs ~10 µs; 100k jobs on start-up).
 * Specs with `~` depend on the job's name and are not shared.
 */
const parsedCache = new Map<string, Schedule>();

export function parseSchedule(spec: string, options: ScheduleOptions = {}): Schedule {
  if (spec.includes('~')) return parseUncached(spec, options);
  const key = `${options.timezone ?? ''}${KEY_SEP}${spec}`;
  const hit = parsedCache.get(key);
  if (hit) return hit;
  const schedule = parseUncached(spec, options);
  if (parsedCache.size >= CACHE_MAX) parsedCache.clear();
  parsedCache.set(key, schedule);
  return schedule;
}

function parseUncached(spec: string, options: ScheduleOptions): Schedule {
  if (spec.trim() === '') throw new ScheduleError('empty schedule');
  const split = splitZonePrefix(spec);
  const rest = split.rest;
  let zone: string | undefined;
  if (split.zone !== null) {
    const tz = split.zone;
    if (tz === '') throw new ScheduleError('empty time zone in TZ= prefix');
    zone = resolveZone(tz);
    if (rest === '') throw new ScheduleError(`missing schedule after TZ=${tz}`);
  }

  let pattern: string;
  if (rest.startsWith('@')) {
    const [word = '', ...args] = rest.split(/\s+/);
    const arg = args.join(' ');
    if (word === '@every') return parseEvery(arg);
    if (word === '@at') return parseAt(arg);
    const descriptor = DESCRIPTORS[word];
    if (descriptor === undefined && word !== '@manually') throw new ScheduleError(`unknown descriptor "${word}"`);
    if (arg !== '') throw new ScheduleError(`${word} takes no argument, got "${arg}"`);
    if (descriptor === undefined) return MANUAL;
    pattern = canonicalCron(descriptor, undefined, false);
  } else {
    pattern = canonicalCron(rest, options.jobName, true);
  }

  zone ??= resolveZone(options.timezone ?? '');
  const key = zone + KEY_SEP + pattern;
  try {
    // Compiling here surfaces croner's own rejections at parse time.
    cronFor(key);
  } catch (err) {
    throw new ScheduleError(err instanceof Error ? err.message : String(err));
  }
  return new CronSchedule(key);
}
