/**
 * A schedule in plain words ("at 02:00 every day", "every 5 minutes"), for the web UI and the
 * schedule preview. Covers dkron's forms: 6-field cron with seconds, 5-field cron, descriptors,
 * `@every`, `@at`. A form too irregular to read well comes back as the raw expression: a wrong
 * sentence would be worse than none. Expects a schedule parseSchedule accepted.
 */
import { parseRfc3339 } from '../job/time.js';
import { DAY_NAMES, DESCRIPTORS, MONTH_NAMES, splitZonePrefix } from './schedule.js';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The six cron fields (second first) of a cron spec or descriptor; null for @every, @at, @manually. */
export function cronFields(spec: string): string[] | null {
  const { rest } = splitZonePrefix(spec);
  if (rest.startsWith('@')) {
    const fields = DESCRIPTORS[rest.split(/\s+/)[0] as string];
    return fields ? fields.split(' ') : null;
  }
  const raw = rest.split(/\s+/);
  if (raw.length === 5) return ['0', ...raw];
  return raw.length === 6 ? raw : null;
}

/**
 * Fixed-time: no wildcard or step in seconds, minutes or hours (`0 30 2 * * *`), the rule the
 * scheduler's DST handling uses (see schedule.ts): such a job runs once on DST days.
 */
export function isFixedTime(fields: readonly string[]): boolean {
  return fields.slice(0, 3).every((f) => !/[*?/]/.test(f));
}

// --- one field ---------------------------------------------------------------------------------

type Item = { kind: 'value'; v: number } | { kind: 'range'; from: number; to: number } | { kind: 'step'; from: number; to: number | null; step: number };

interface Parsed {
  star: boolean;
  items: Item[];
}

function num(tok: string, names?: Record<string, number>): number | null {
  const named = names?.[tok.toLowerCase()];
  if (named !== undefined) return named;
  return /^\d+$/.test(tok) ? Number(tok) : null;
}

/** null when the field uses something this module doesn't put in words (the `~` hash). */
function parseField(field: string, names?: Record<string, number>): Parsed | null {
  if (field === '*' || field === '?' || field === '*/1') return { star: true, items: [] };
  const items: Item[] = [];
  for (const part of field.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? null : Number(stepText);
    if (step !== null && !(step > 0)) return null;
    if (range === '*' || range === '?') {
      if (step === null) return { star: true, items: [] };
      items.push({ kind: 'step', from: -1, to: null, step });
      continue;
    }
    const [lo = '', hi] = range.split('-');
    const from = num(lo, names);
    const to = hi === undefined ? null : num(hi, names);
    if (from === null || (hi !== undefined && to === null)) return null;
    if (step !== null) items.push({ kind: 'step', from, to, step });
    else if (to !== null) items.push({ kind: 'range', from, to });
    else items.push({ kind: 'value', v: from });
  }
  return { star: false, items };
}

function singles(p: Parsed): number[] | null {
  if (p.star || p.items.some((i) => i.kind !== 'value')) return null;
  return p.items.map((i) => (i as { v: number }).v);
}

function list(words: string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th';
  return `${n}${s}`;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** "Monday through Friday", "January, March and May", "every 2nd day". */
function itemsInWords(p: Parsed, name: (n: number) => string, unit: string): string | null {
  const words: string[] = [];
  for (const i of p.items) {
    if (i.kind === 'value') words.push(name(i.v));
    else if (i.kind === 'range') words.push(`${name(i.from)} through ${name(i.to)}`);
    else if (i.from < 0) words.push(`every ${ordinal(i.step)} ${unit}`);
    else if (i.to === null) words.push(`every ${ordinal(i.step)} ${unit} from ${name(i.from)}`);
    else words.push(`every ${ordinal(i.step)} ${unit} from ${name(i.from)} through ${name(i.to)}`);
  }
  return words.length ? list(words) : null;
}

// --- time of day -------------------------------------------------------------------------------

/** "every 5 minutes" / "at 02:00" / "at minute 0 past every hour"; null when too irregular. */
function timeInWords(sec: Parsed, min: Parsed, hour: Parsed): { text: string; daily: boolean } | null {
  const s = singles(sec);
  const m = singles(min);
  const h = singles(hour);
  // Fixed times of day: "at 02:00 and 14:30" (a short list only).
  if (s && m && h && s.length * m.length * h.length <= 6) {
    const times: string[] = [];
    for (const hh of h) for (const mm of m) for (const ss of s) times.push(ss ? `${pad(hh)}:${pad(mm)}:${pad(ss)}` : `${pad(hh)}:${pad(mm)}`);
    return { text: `at ${list(times)}`, daily: true };
  }
  const everyN = (p: Parsed): number | null => {
    if (p.star) return 1;
    const only = p.items.length === 1 ? p.items[0] : undefined;
    return only?.kind === 'step' && only.from <= 0 && only.to === null ? only.step : null;
  };
  /** `5/10`: every 10th from 5 on. */
  const offsetStep = (p: Parsed): { from: number; step: number } | null => {
    const only = p.items.length === 1 ? p.items[0] : undefined;
    return only?.kind === 'step' && only.from > 0 && only.to === null ? { from: only.from, step: only.step } : null;
  };
  const hourPhrase = (): string | null => {
    if (hour.star) return '';
    const n = everyN(hour);
    if (n) return ` past every ${ordinal(n)} hour`;
    const hs = singles(hour);
    if (hs) return ` past hour${hs.length > 1 ? 's' : ''} ${list(hs.map(String))}`;
    const words = itemsInWords(hour, (x) => String(x), 'hour');
    return words === null ? null : ` past hours ${words}`;
  };
  const hp = hourPhrase();
  if (hp === null) return null;
  const secZero = s !== null && s.length === 1 && s[0] === 0;
  // Seconds: "every second", "every 10 seconds" (minutes and hours all).
  if (!secZero) {
    const ns = everyN(sec);
    if (ns && min.star && hour.star) return { text: ns === 1 ? 'every second' : `every ${ns} seconds`, daily: false };
    return null;
  }
  const shifted = offsetStep(min);
  if (shifted && hour.star) return { text: `every ${shifted.step} minutes from minute ${shifted.from} of every hour`, daily: false };
  const nm = everyN(min);
  if (nm) {
    const base = nm === 1 ? 'every minute' : `every ${nm} minutes`;
    if (hour.star) return { text: base, daily: false };
    const hs = singles(hour);
    if (hs) return { text: `${base} during hour${hs.length > 1 ? 's' : ''} ${list(hs.map(String))}`, daily: false };
    const range = hour.items.length === 1 && hour.items[0]?.kind === 'range' ? hour.items[0] : null;
    if (range) return { text: `${base} from ${pad(range.from)}:00 to ${pad(range.to)}:59`, daily: false };
    return { text: `${base}${hp}`, daily: false };
  }
  if (m) {
    const mins = `at minute ${list(m.map(String))}`;
    if (hour.star) return { text: `${mins} past every hour`, daily: false };
    const range = hour.items.length === 1 && hour.items[0]?.kind === 'range' ? hour.items[0] : null;
    if (range) return { text: `${mins} past every hour from ${pad(range.from)}:00 to ${pad(range.to)}:59`, daily: false };
    return { text: `${mins}${hp}`, daily: false };
  }
  return null;
}

// --- days ----------------------------------------------------------------------------------------

function daysInWords(dom: Parsed, month: Parsed, dow: Parsed): string | null {
  const parts: string[] = [];
  const oneDay = singles(dom);
  const oneMonth = singles(month);
  if (dow.star && oneDay?.length === 1 && oneMonth?.length === 1) return `on ${MONTHS[(oneMonth[0] as number) - 1]} ${oneDay[0]}`;
  const domWords = dom.star ? '' : itemsInWords(dom, (n) => String(n), 'day');
  const dowWords = dow.star ? '' : itemsInWords(dow, (n) => DAYS[n] ?? String(n), 'day of the week');
  if (domWords === null || dowWords === null) return null;
  // robfig: with both day fields restricted, a day matching either runs.
  if (domWords && dowWords) parts.push(`on day ${domWords} of the month or on ${dowWords}`);
  else if (domWords) parts.push(`on day ${domWords} of the month`);
  else if (dowWords) parts.push(`on ${dowWords}`);
  if (!month.star) {
    const mw = itemsInWords(month, (n) => MONTHS[n - 1] ?? String(n), 'month');
    if (mw === null) return null;
    parts.push(`in ${mw}`);
  }
  return parts.join(' ');
}

// --- whole spec --------------------------------------------------------------------------------

function cronInWords(fields: string[]): string | null {
  const [sec, min, hour, dom, month, dow] = [
    parseField(fields[0] as string),
    parseField(fields[1] as string),
    parseField(fields[2] as string),
    parseField(fields[3] as string),
    parseField(fields[4] as string, MONTH_NAMES),
    parseField(fields[5] as string, DAY_NAMES),
  ];
  if (!sec || !min || !hour || !dom || !month || !dow) return null;
  const time = timeInWords(sec, min, hour);
  if (!time) return null;
  const days = daysInWords(dom, month, dow);
  if (days === null) return null;
  if (days === '') return time.daily ? `${time.text} every day` : time.text;
  if (time.daily && days.startsWith('in ')) return `${time.text} every day ${days}`;
  return `${time.text} ${days}`;
}

function utcText(ms: number): string {
  const iso = new Date(ms).toISOString();
  const seconds = iso.slice(17, 19);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}${seconds === '00' ? '' : `:${seconds}`} UTC`;
}

export function describeSchedule(spec: string): string {
  const { zone, rest } = splitZonePrefix(spec);
  const suffix = zone ? ` (${zone})` : '';
  const [word = '', ...args] = rest.split(/\s+/);
  if (word === '@every') return `every ${args.join(' ')}`;
  if (word === '@manually') return 'only when run by hand';
  if (word === '@at') {
    const ms = parseRfc3339(args.join(' '));
    return ms === null ? `once at ${args.join(' ')}` : `once at ${utcText(ms)}`;
  }
  if (word === '@hourly') return `every hour, on the hour${suffix}`;
  if (word === '@minutely') return 'every minute';
  const fields = cronFields(rest);
  const words = fields ? cronInWords(fields) : null;
  return words === null ? rest : `${words}${suffix}`;
}
