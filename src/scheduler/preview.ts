/**
 * The next runs of a schedule in its zone, each with its local time and UTC offset, and the runs
 * on a day the zone's clocks change flagged: `skipped` when the wall time the cron names does
 * not exist that day (spring forward; a fixed-time job then runs at the first instant after the
 * gap, see schedule.ts), `repeated` when it exists twice (fall back; a fixed-time job runs at the
 * first pass only, an interval job on both). Used by POST /v1/schedule/preview (the editor) and
 * GET /v1/jobs/NAME/next (the job page).
 */
import { parseSchedule, splitZonePrefix, type Schedule } from './schedule.js';
import { cronFields, describeSchedule, isFixedTime } from './describe.js';

export type DstFlag = null | 'skipped' | 'repeated';

export interface PreviewRun {
  /** The instant, ISO 8601 UTC. */
  at: string;
  /** Wall time in the schedule's zone, `YYYY-MM-DD HH:mm:ss`. */
  local: string;
  /** The zone's UTC offset at that instant, `+01:00`. */
  offset: string;
  dst: DstFlag;
  note?: string;
}

export interface SchedulePreview {
  schedule: string;
  /** The zone the times are in (the agent's own zone when the job names none). */
  timezone: string;
  description: string;
  next: PreviewRun[];
}

export interface PreviewOptions {
  timezone?: string;
  jobName?: string;
  count?: number;
  /** Runs strictly after this instant (default: now). */
  after?: Date;
  /** The first run when known already (a stored job's `next`, which keeps an `@every` phase). */
  first?: Date | null;
  /** No runs after this instant (a job's expires_at). */
  until?: Date | null;
}

export const MAX_PREVIEW = 50;

// --- zone arithmetic ---------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    if (formatters.size > 200) formatters.clear();
    formatters.set(zone, f);
  }
  return f;
}

/** The wall time at `ms` in `zone`, as epoch ms of the same wall time in UTC. */
function wallMs(zone: string, ms: number): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const d = new Date(0);
  d.setUTCFullYear(parts.year as number, (parts.month as number) - 1, parts.day as number);
  d.setUTCHours(parts.hour as number, parts.minute as number, parts.second as number, ((ms % 1000) + 1000) % 1000);
  return d.getTime();
}

/** UTC offset in minutes at `ms`. */
function offsetMin(zone: string, ms: number): number {
  return Math.round((wallMs(zone, ms) - ms) / 60_000);
}

export function offsetText(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const a = Math.abs(minutes);
  return `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** `YYYY-MM-DD HH:mm:ss` of a UTC-faked wall time. */
function wallText(wall: number): string {
  const iso = new Date(wall).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

const hm = (wall: number): string => new Date(wall).toISOString().slice(11, 16);

interface Transition {
  /** First instant with the new offset. */
  at: number;
  before: number;
  after: number;
  /** Local date (`YYYY-MM-DD`) of the change. */
  date: string;
}

const SEARCH_MS = 30 * 3600_000;

/** The change of offset within `[from, to]` (at most one is assumed: zones change at most twice a year). */
function findTransition(zone: string, from: number, to: number): Transition | null {
  const before = offsetMin(zone, from);
  const after = offsetMin(zone, to);
  if (before === after) return null;
  let lo = from;
  let hi = to;
  // Invariant: offset(lo) = before, offset(hi) ≠ before; down to the millisecond.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMin(zone, mid) === before) lo = mid;
    else hi = mid;
  }
  return { at: hi, before, after: offsetMin(zone, hi), date: wallText(lo + before * 60_000).slice(0, 10) };
}

/** The clock change on the local date of `ms`, if any. */
function transitionOnDay(zone: string, ms: number, date: string): Transition | null {
  for (const t of [findTransition(zone, ms - SEARCH_MS, ms), findTransition(zone, ms, ms + SEARCH_MS)]) {
    if (t && t.date === date) return t;
  }
  return null;
}

// --- flags -----------------------------------------------------------------------------------------

interface Flagger {
  flag(ms: number, wall: number, date: string): { dst: DstFlag; note?: string };
}

/**
 * `fields`: the cron fields, when the schedule is a cron (descriptors included). A gap is
 * flagged on the first run after it, once a day; `named` evaluates the fields on wall clock
 * time (as UTC, where no time is missing) to find the time the cron names inside the gap.
 */
function flagger(zone: string, fields: string[] | null, named: Schedule | null): Flagger {
  const gapFlagged = new Set<string>();
  const fixed = fields !== null && isFixedTime(fields);
  return {
    flag(ms, wall, date) {
      const t = transitionOnDay(zone, ms, date);
      if (!t) return { dst: null };
      const delta = Math.abs(t.after - t.before);
      const amount = delta === 60 ? '1 hour' : `${delta} minutes`;
      if (t.after > t.before) {
        const gapStart = t.at + t.before * 60_000;
        const gapEnd = t.at + t.after * 60_000;
        const jump = `clocks jump from ${hm(gapStart)} to ${hm(gapEnd)}`;
        const change = `clocks go forward ${amount} this day, from ${hm(gapStart)} to ${hm(gapEnd)}`;
        const inGap = named?.next(new Date(gapStart - 1));
        if (inGap && inGap.getTime() < gapEnd && ms >= t.at && !gapFlagged.has(date)) {
          gapFlagged.add(date);
          const note = fixed
            ? `${hm(inGap.getTime())} does not exist on ${date} (${jump}): runs at ${hm(wall)} instead`
            : `${hm(gapStart)}–${hm(gapEnd - 60_000)} does not exist on ${date} (${jump}): the runs it names are skipped`;
          return { dst: 'skipped', note };
        }
        return { dst: null, note: change };
      }
      const overlapStart = t.at + t.after * 60_000;
      const overlapEnd = t.at + t.before * 60_000;
      const back = `clocks go back from ${hm(overlapEnd)} to ${hm(overlapStart)}`;
      if (fields && wall >= overlapStart && wall < overlapEnd) {
        const pass = ms < t.at ? 'first' : 'second';
        const note = fixed
          ? `${hm(wall)} occurs twice on ${date} (${back}): runs once, on the first pass`
          : `${hm(wall)} occurs twice on ${date} (${back}): this is the ${pass} pass`;
        return { dst: 'repeated', note };
      }
      return { dst: null, note: `clocks go back ${amount} this day, from ${hm(overlapEnd)} to ${hm(overlapStart)}` };
    },
  };
}

// --- preview -----------------------------------------------------------------------------------

/** The zone runs are shown in: the schedule's TZ= prefix, else the job's, else the agent's own. */
export function previewZone(schedule: string, timezone = ''): string {
  const prefixed = splitZonePrefix(schedule).zone;
  const zone = prefixed ?? timezone;
  if (zone === '' || zone === 'Local') return Intl.DateTimeFormat().resolvedOptions().timeZone;
  return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
}

/** Throws ScheduleError for a schedule or zone parseSchedule rejects. */
export function previewSchedule(schedule: string, o: PreviewOptions = {}): SchedulePreview {
  const count = Math.max(0, Math.min(MAX_PREVIEW, Math.floor(o.count ?? 5)));
  const parsed = parseSchedule(schedule, { timezone: o.timezone ?? '', jobName: o.jobName });
  const zone = previewZone(schedule, o.timezone);
  const fields = parsed.kind === 'cron' ? cronFields(schedule) : null;
  // The same fields on wall-clock time: UTC has no gaps, so it names every wall time.
  const named = fields ? parseSchedule(fields.join(' '), { timezone: 'UTC', jobName: o.jobName }) : null;
  const flags = flagger(zone, fields, named);
  const next: PreviewRun[] = [];
  const until = o.until?.getTime() ?? Infinity;
  let at: Date | null = o.first ?? parsed.next(o.after ?? new Date());
  while (at && next.length < count && at.getTime() <= until) {
    const ms = at.getTime();
    const wall = wallMs(zone, ms);
    const local = wallText(wall);
    const { dst, note } = flags.flag(ms, wall, local.slice(0, 10));
    next.push({ at: at.toISOString(), local, offset: offsetText(Math.round((wall - ms) / 60_000)), dst, ...(note ? { note } : {}) });
    at = parsed.next(at);
  }
  return { schedule, timezone: zone, description: describeSchedule(schedule), next };
}
