/**
 * Crontab → Kairos jobs, as cron (Vixie/cronie) reads the file:
 * - `m h dom mon dow command` (plus a user column before the command with `system`,
 *   the /etc/crontab and cron.d format); `@yearly`...`@hourly` kept as they are;
 *   day of week 7 (Sunday) becomes 0, which Kairos' parser wants;
 * - `NAME=value` lines set the environment of the lines after them (the shell
 *   executor's `env`), `MAILTO` sets `owner_email`, `CRON_TZ` the time zone;
 * - `%`: the first unescaped `%` ends the command and the rest is its standard
 *   input, each further `%` a newline; `\%` is a literal `%`. The shell executor
 *   has no stdin, so the input becomes a here-doc fed to the whole command;
 * - `@reboot`, and what Kairos can't express, are reported with their line number.
 * Job names are a slug of the command and a short hash of user and command,
 * so they stay the same from one import to the next.
 */
import { createHash } from 'node:crypto';
import { parseSchedule, ScheduleError } from '../scheduler/schedule.js';

export interface CrontabOptions {
  /** /etc/crontab and cron.d format: a user column before the command. */
  system?: boolean;
  /** IANA zone for the schedules (CRON_TZ lines override it for the lines after them). */
  timezone: string;
  tags?: Record<string, string>;
  /** Where the jobs came from (`metadata["imported-from"]`). */
  source?: string;
}

export interface CrontabJob {
  name: string;
  displayname: string;
  schedule: string;
  timezone: string;
  owner?: string;
  owner_email?: string;
  executor: 'shell';
  executor_config: Record<string, string>;
  tags?: Record<string, string>;
  metadata: Record<string, string>;
}

export interface CrontabProblem {
  line: number;
  text: string;
  reason: string;
  /** `skipped`: no job made; `note`: the job was made, with this caveat. */
  kind: 'skipped' | 'note';
}

export interface CrontabImport {
  jobs: CrontabJob[];
  /** The 1-based line each job came from, in the order of `jobs`. */
  lines: number[];
  problems: CrontabProblem[];
}

const DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const ENV_RE = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;
const FIELD_RE = /^[0-9A-Za-z*?,/-]+$/;

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t[t.length - 1] === t[0]) return t.slice(1, -1);
  return t;
}

/** Splits cron's command field at the first unescaped `%`: the command, and the stdin lines after it (null: none). */
export function splitPercent(raw: string): { command: string; stdin: string | null } {
  let command = '';
  let stdin: string | null = null;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i] as string;
    if (ch === '\\' && raw[i + 1] === '%') {
      if (stdin === null) command += '%';
      else stdin += '%';
      i++;
      continue;
    }
    if (ch === '%') {
      if (stdin === null) stdin = '';
      else stdin += '\n';
      continue;
    }
    if (stdin === null) command += ch;
    else stdin += ch;
  }
  return { command, stdin };
}

/** The command with its standard input as a here-doc given to the whole command (as cron gives it to `sh -c`). */
export function withStdin(command: string, stdin: string): string {
  const lines = stdin.split('\n');
  let tag = 'KAIROS_STDIN';
  for (let n = 1; lines.includes(tag); n++) tag = `KAIROS_STDIN_${n}`;
  return `{ ${command}\n} <<'${tag}'\n${stdin}\n${tag}`;
}

/** Cron's day of week allows 7 for Sunday; Kairos (robfig's grammar) wants 0. */
function fixDayOfWeek(field: string): string {
  return field
    .split(',')
    .flatMap((item) => {
      const [range = '', step] = item.split('/');
      const suffix = step === undefined ? '' : `/${step}`;
      if (range === '7') return [`0${suffix}`];
      const m = /^(\d+)-7$/.exec(range);
      if (m && step === undefined) return m[1] === '0' ? ['*'] : [`${m[1]}-6`, '0'];
      if (m) return [`${m[1]}-6${suffix}`, ...(((7 - Number(m[1])) % Number(step)) === 0 ? ['0'] : [])];
      return [item];
    })
    .join(',');
}

export function slug(command: string): string {
  const base = command
    .split(/\s+/)
    .map((t) => (t.includes('/') ? (t.replace(/\/+$/, '').split('/').pop() ?? t) : t))
    .join(' ')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/g, '');
  return base || 'job';
}

function shortHash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 8);
}

export function parseCrontab(text: string, options: CrontabOptions): CrontabImport {
  const out: CrontabImport = { jobs: [], lines: [], problems: [] };
  const env = new Map<string, string>();
  let mailto: string | undefined;
  let timezone = options.timezone;
  const used = new Set<string>();
  const lines = text.split(/\r?\n/);
  lines.forEach((rawLine, i) => {
    const lineNo = i + 1;
    const line = rawLine.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const problem = (reason: string, kind: CrontabProblem['kind'] = 'skipped'): void => {
      out.problems.push({ line: lineNo, text: rawLine, reason, kind });
    };

    const envMatch = ENV_RE.exec(line);
    if (envMatch) {
      const name = envMatch[1] as string;
      const value = unquote(envMatch[2] as string);
      if (name === 'MAILTO') mailto = value;
      else if (name === 'CRON_TZ') {
        try {
          parseSchedule('@daily', { timezone: value });
          timezone = value;
        } catch {
          problem(`unknown time zone "${value}" in CRON_TZ; the lines after it keep ${timezone}`);
        }
      } else if (value.includes(',')) {
        problem(`${name}: a value with "," cannot be passed in the shell executor's env (KEY=VALUE,...); not set`);
      } else {
        env.set(name, value);
        if (name === 'SHELL' && value !== '/bin/sh') problem(`SHELL=${value}: Kairos runs commands with /bin/sh; the variable is only passed on`, 'note');
      }
      return;
    }

    let schedule: string;
    let rest: string;
    if (line.startsWith('@')) {
      const m = /^(@\S+)\s+(.*)$/.exec(line);
      const word = (m?.[1] ?? line.split(/\s/)[0] ?? '').toLowerCase();
      if (word === '@reboot') return problem('@reboot is not supported: Kairos schedules by time (run it from the agent host\'s start-up instead)');
      if (!DESCRIPTORS.has(word)) return problem(`unsupported schedule "${word}"`);
      if (!m) return problem('no command after the schedule');
      schedule = word;
      rest = m[2] as string;
    } else {
      const m = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(line);
      if (!m) return problem('malformed line: expected 5 time fields and a command');
      const fields = m.slice(1, 6) as string[];
      const bad = fields.find((f) => !FIELD_RE.test(f));
      if (bad !== undefined) return problem(`malformed time field "${bad}"`);
      const [min, hour, dom, mon, dowRaw] = fields as [string, string, string, string, string];
      const dow = fixDayOfWeek(dowRaw);
      // cron ANDs day of month and day of week when either starts with "*" (e.g. "*/2");
      // Kairos, like robfig, only when it is exactly "*": different days, so say so.
      const starish = (f: string): boolean => f.startsWith('*') && f !== '*';
      if ((starish(dom) && dow !== '*') || (starish(dow) && dom !== '*')) {
        return problem('day of month and day of week both restricted, one with "*/step": cron and Kairos combine them differently; write it as two jobs');
      }
      schedule = [min, hour, dom, mon, dow].join(' ');
      rest = m[6] as string;
    }

    let user: string | undefined;
    if (options.system) {
      const m = /^(\S+)\s+(.*)$/.exec(rest);
      if (!m) return problem('malformed line: no user and command after the schedule');
      user = m[1] as string;
      rest = m[2] as string;
    }
    const { command, stdin } = splitPercent(rest);
    if (command.trim() === '') return problem('no command');
    try {
      parseSchedule(schedule, { timezone });
    } catch (err) {
      return problem(`malformed schedule "${schedule}": ${err instanceof ScheduleError ? err.message : String(err)}`);
    }

    let name = `${slug(command)}-${shortHash(user ?? '', command, stdin ?? '')}`;
    // The same command twice (two schedules): the later ones are told apart by their schedule too.
    if (used.has(name)) name = `${slug(command)}-${shortHash(user ?? '', command, stdin ?? '', schedule)}`;
    if (used.has(name)) return problem('the same line appears twice; imported once');
    used.add(name);

    const config: Record<string, string> = { command: stdin === null ? command.trim() : withStdin(command.trim(), stdin), shell: 'true' };
    if (env.size > 0) config.env = [...env].map(([k, v]) => `${k}=${v}`).join(',');
    const metadata: Record<string, string> = { 'imported-from': options.source ?? 'crontab' };
    if (user !== undefined) metadata['cron-user'] = user;
    const job: CrontabJob = {
      name,
      displayname: command.trim().slice(0, 200),
      schedule,
      timezone,
      executor: 'shell',
      executor_config: config,
      metadata,
    };
    if (user !== undefined) job.owner = user;
    if (mailto !== undefined && mailto !== '') job.owner_email = mailto;
    if (options.tags && Object.keys(options.tags).length > 0) job.tags = { ...options.tags };
    out.jobs.push(job);
    out.lines.push(lineNo);
  });
  return out;
}
