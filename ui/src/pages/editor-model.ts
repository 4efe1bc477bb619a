/**
 * The editor's draft: the job body exactly as POST /v1/jobs takes it (a plain JSON object, so
 * keys the form doesn't know survive the form ↔ JSON round trip), and the checks run before save.
 */
import type { Job } from '../api.js';

export type Draft = Record<string, unknown>;

export interface FieldError {
  /** The API's field path: "schedule", "executor_config.command", "processors.files.log_dir". */
  field: string;
  message: string;
}

/** Fields the server owns: left out of the editor (the API ignores them anyway). */
const SERVER_FIELDS = [
  'id', 'success_count', 'error_count', 'last_success', 'last_error', 'dependent_jobs', 'status', 'next',
  'skip_count', 'last_skip', 'last_skip_reason', 'last_group', 'created_at', 'updated_at',
];

export const TEMPLATE: Draft = {
  name: '',
  displayname: '',
  schedule: '@every 1m',
  timezone: '',
  disabled: false,
  concurrency: 'allow',
  retries: 0,
  executor: 'shell',
  executor_config: { command: 'echo hello' },
  tags: {},
};

export function toDraft(job: Job | Draft): Draft {
  const out: Draft = { ...(job as Draft) };
  for (const k of SERVER_FIELDS) delete out[k];
  return out;
}

export const str = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));

export function strMap(v: unknown): Record<string, string> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, str(x)]));
}

/** Processors: name → key/value config. */
export function processorMap(v: unknown): Record<string, Record<string, string>> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, strMap(x)]));
}

/** A new draft with `patch` applied; `undefined` removes a key. */
export function patchDraft(d: Draft, patch: Draft): Draft {
  const out = { ...d, ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete out[k];
  return out;
}

/**
 * The shell operators a command uses where a shell would act on them (outside quotes; `$(`
 * and backticks also inside double quotes). Without "Run in a shell" the agent executes the
 * command directly, so these can never work (the server refuses them at save).
 */
export function shellOperators(command: string): string[] {
  const found = new Set<string>();
  let quote: '' | "'" | '"' = '';
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string;
    const two = command.slice(i, i + 2);
    if (quote === "'") {
      if (c === "'") quote = '';
      continue;
    }
    if (c === '\\') {
      i++;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = '';
      else if (two === '$(') found.add('$(');
      else if (c === '`') found.add('`');
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (two === '&&' || two === '||' || two === '$(' || two === '>>') {
      found.add(two);
      i++;
    } else if ('|><;&`'.includes(c)) found.add(c);
  }
  return [...found];
}

/** The pre-save check: a non-shell command with shell operators, or null. */
export function shellProblem(d: Draft): FieldError | null {
  if (str(d.executor) !== 'shell') return null;
  const cfg = strMap(d.executor_config);
  if (cfg.shell === 'true') return null;
  const ops = shellOperators(cfg.command ?? '');
  if (ops.length === 0) return null;
  return {
    field: 'executor_config.command',
    message: `the command uses shell operators (${ops.join(' ')}) but runs without a shell, where they are plain arguments: turn on "Run in a shell" (or quote them)`,
  };
}

/** The 0-based line of a JSON.parse error ("... at position 41" or "(line 3 column 5)"), if it says. */
export function parseErrorLine(text: string, message: string): number | null {
  const lc = /line (\d+) column/.exec(message);
  if (lc) return Number(lc[1]) - 1;
  const pos = /position (\d+)/.exec(message);
  if (pos) return text.slice(0, Number(pos[1])).split('\n').length - 1;
  return null;
}

/**
 * The 0-based line of `text` (JSON.stringify'd with indentation, or hand-edited) that names
 * `field` ("executor_config.queue.name": the key "queue.name" inside "executor_config"), or null.
 */
export function jsonLineOf(text: string, field: string): number | null {
  if (!field) return null;
  const lines = text.split('\n');
  const find = (key: string, from: number): number => {
    const needle = `${JSON.stringify(key)}`;
    for (let i = from; i < lines.length; i++) {
      const t = (lines[i] as string).trimStart();
      if (t.startsWith(needle) && /^\s*:/.test(t.slice(needle.length))) return i;
    }
    return -1;
  };
  const parts = field.split('.');
  let from = 0;
  let line = -1;
  let i = 0;
  while (i < parts.length) {
    // Keys may hold dots (rabbitmq's "queue.name"): try the longest key first.
    let hit = -1;
    let used = 0;
    for (let n = parts.length - i; n >= 1; n--) {
      hit = find(parts.slice(i, i + n).join('.'), from);
      if (hit >= 0) {
        used = n;
        break;
      }
    }
    if (hit < 0) break;
    line = hit;
    from = hit + 1;
    i += used;
  }
  return line >= 0 ? line : null;
}

export const NOTIFY_ON: Array<[string, string]> = [
  ['', "The agent's default"],
  ['failure', 'On failure'],
  ['success', 'On success'],
  ['always', 'Always'],
  ['change', 'When the outcome changes'],
  ['never', 'Never'],
];
