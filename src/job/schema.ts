/**
 * The one schema for job input: zod validates the shape (and names the field
 * that is wrong); `normalizeJobInput` adds the rules zod can't express alone
 * (schedule syntax, time zones, executor config) and maps dkron's legacy flat
 * fields onto the shell executor.
 */
import { z } from 'zod';
import { parseGoDuration } from '../util/duration.js';
import { parseSchedule, ScheduleError, isValidTimezone } from '../scheduler/schedule.js';
import { parseJobTime } from './time.js';
import type { Job, NotifyOn } from './types.js';
import { MAX_PARENTS } from './parents.js';
import { normalizeResources } from './resources.js';
import { plainJobInput } from './input-shape.js';

const NOTIFY_ON_VALUES: readonly string[] = ['', 'failure', 'success', 'always', 'never', 'change'];

import { ValidationError } from '../errors/catalogue.js';

export { ValidationError };

// dkron's executor_config is map<string,string>; clients often send numbers or
// booleans there (e.g. "shell": true), which we accept and stringify.
const scalar = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));
const stringMap = z.record(z.string(), scalar).nullable().optional();
const nullableTime = z.string().nullable().optional();

export const jobInputSchema = z.object({
  id: z.string().optional(),
  name: z.string({ error: (issue) => (issue.input === undefined ? 'name is required' : 'name must be a string') }),
  displayname: z.string().optional(),
  timezone: z.string().optional(),
  schedule: z.string().optional(),
  owner: z.string().optional(),
  owner_email: z.string().optional(),
  disabled: z.boolean().optional(),
  tags: stringMap,
  metadata: stringMap,
  retries: z.number().int('retries must be a whole number').min(0, 'retries must not be negative').optional(),
  parent_job: z.string().optional(),
  depends_on: z.array(z.string({ error: 'depends_on must list job names' }), { error: 'depends_on must be an array of job names' }).optional(),
  processors: z.record(z.string(), z.record(z.string(), scalar).nullable()).nullable().optional(),
  concurrency: z.string().optional(),
  executor: z.string().optional(),
  executor_config: stringMap,
  ephemeral: z.boolean().optional(),
  starts_at: nullableTime,
  expires_at: nullableTime,
  catch_up: z.string().optional(),
  starting_deadline: z.string().optional(),
  history_limit: z.number().int().min(0, 'history_limit must not be negative').optional(),
  max_start_delay: z.string({ error: 'max_start_delay must be a string (a Go duration such as "30s")' }).optional(),
  notify_on: z.string({ error: 'notify_on must be a string' }).optional(),
  notify_skip: z.boolean({ error: 'notify_skip must be true or false' }).nullable().optional(),
  slack_webhook_url: z.string({ error: 'slack_webhook_url must be a string' }).optional(),
  slack_channel: z.string({ error: 'slack_channel must be a string' }).optional(),
  // Checked by normalizeResources (src/job/resources.ts), which names the key at fault.
  resources: z.record(z.string(), z.unknown(), { error: 'resources must be an object such as {"cpu": 2, "memory": "4Gi"}' }).nullable().optional(),
  // Legacy dkron 0.9 fields.
  command: z.string().optional(),
  shell: z.union([z.boolean(), z.string()]).optional(),
  environment_variables: z.array(z.string()).nullable().optional(),
  // Read-only fields clients echo back from GET; accepted and ignored.
  dependent_jobs: z.array(z.string()).nullable().optional(),
});

export type JobInput = z.infer<typeof jobInputSchema>;

/** The user-writable part of a job after validation and defaults. */
export type JobSpec = Pick<
  Job,
  | 'name'
  | 'displayname'
  | 'timezone'
  | 'schedule'
  | 'owner'
  | 'owner_email'
  | 'disabled'
  | 'tags'
  | 'metadata'
  | 'retries'
  | 'parent_job'
  | 'depends_on'
  | 'resources'
  | 'processors'
  | 'concurrency'
  | 'executor'
  | 'executor_config'
  | 'ephemeral'
  | 'starts_at'
  | 'expires_at'
  | 'catch_up'
  | 'starting_deadline'
  | 'history_limit'
  | 'max_start_delay'
  | 'notify_on'
  | 'notify_skip'
  | 'slack_webhook_url'
  | 'slack_channel'
>;

const NAME_RE = /^[\p{Ll}\p{Lu}0-9_.-]+$/u;
const NAME_CHAR_RE = /[\p{Ll}\p{Lu}0-9_.-]/u;

export function validateName(name: string): void {
  if (name === '') throw new ValidationError('name', 'name cannot be empty');
  if ([...name].length > 200) throw new ValidationError('name', 'name must be at most 200 characters');
  // URL clients resolve these as dot segments (even percent-encoded), so such a job could never be fetched or deleted.
  if (name === '.' || name === '..') throw new ValidationError('name', `name cannot be "${name}"`);
  if (!NAME_RE.test(name)) {
    const bad = [...name].find((c) => !NAME_CHAR_RE.test(c)) ?? '?';
    throw new ValidationError(
      'name',
      `name contains illegal character '${bad}' (allowed: letters, digits, '_', '-', '.')`,
    );
  }
}

/** What an executor registry offers to validation. */
export interface ExecutorCatalog {
  validate(executor: string, config: Record<string, string>): { field: string; message: string } | null;
  /** Configs of the job's processors (fields `processors.<name>.<key>`). */
  validateProcessors?(processors: Record<string, Record<string, string>>): { field: string; message: string } | null;
  /**
   * Whether the cluster can run such a job (its executor and processors exist on an agent its
   * tags select), against one member list read now. Absent: this agent's executors are all there is.
   */
  placement?(): Promise<(job: JobSpec) => { field: string; message: string } | null>;
}

/** An optional Go duration field ('' = unset) that must be positive when set. */
function assertPositiveDuration(field: string, value: string): void {
  if (value === '') return;
  let ms: number;
  try {
    ms = parseGoDuration(value);
  } catch (err) {
    throw new ValidationError(field, `invalid ${field}: ${(err as Error).message}`);
  }
  if (ms <= 0) throw new ValidationError(field, `${field} must be positive`);
}

function zodToValidationError(error: z.ZodError): ValidationError {
  const issue = error.issues[0];
  if (!issue) return new ValidationError('', 'invalid job');
  const field = issue.path.map(String).join('.');
  // Our own messages already name the field ("retries must not be negative"); zod's defaults don't.
  const named = field === '' || issue.message.startsWith(`${field} `);
  return new ValidationError(field, named ? issue.message : `${field}: ${issue.message}`);
}

// Fleets share a few schedules: a bulk save of 100k jobs parses each distinct one once.
const checkedSchedules = new Map<string, string | null>();
/** Entries a memo below keeps before it starts afresh. */
const MEMO_MAX = 10_000;

/** Why the schedule can't be parsed, or null. */
function scheduleProblem(schedule: string, timezone: string, jobName: string): string | null {
  // `~` hashes the job name into the expression: not shareable between jobs.
  const key = schedule.includes('~') ? null : `${timezone}\u0000${schedule}`;
  if (key !== null && checkedSchedules.has(key)) return checkedSchedules.get(key) ?? null;
  let problem: string | null = null;
  try {
    parseSchedule(schedule, { timezone, jobName });
  } catch (err) {
    problem = err instanceof ScheduleError ? err.message : String(err);
  }
  if (key !== null) {
    if (checkedSchedules.size >= MEMO_MAX) checkedSchedules.clear();
    checkedSchedules.set(key, problem);
  }
  return problem;
}

function zodInput(present: object): JobInput {
  const parsed = jobInputSchema.safeParse(present);
  if (!parsed.success) throw zodToValidationError(parsed.error);
  return parsed.data;
}

/**
 * Validates a parsed JSON body and returns the job's writable fields with
 * defaults. Throws ValidationError naming the offending field.
 */
export function normalizeJobInput(body: unknown, executors: ExecutorCatalog): JobSpec {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('', 'job must be a JSON object');
  }
  // dkron ignores JSON null in a job: its UI sends `"timezone": null` once a field is cleared.
  // (Copied only when there is a null: a bulk save validates 100k jobs, most with none.)
  const present = Object.values(body).includes(null) ? Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null)) : body;
  const input = plainJobInput(present) ?? zodInput(present);

  validateName(input.name);

  const timezone = input.timezone ?? '';
  if (!isValidTimezone(timezone)) {
    throw new ValidationError('timezone', `unknown time zone "${timezone}"`);
  }

  const parentJob = input.parent_job ?? '';
  if (parentJob === input.name) {
    throw new ValidationError('parent_job', 'the job can not have itself as parent');
  }

  const dependsOn = dependsOnOf(input.name, input.depends_on ?? [], parentJob);
  const resources = normalizeResources(input.resources);

  const schedule = (input.schedule ?? '').trim();
  if (schedule === '' && parentJob === '' && dependsOn.length === 0) {
    throw new ValidationError('schedule', "can't parse job schedule: schedule is required (or set parent_job or depends_on)");
  }
  if (schedule !== '') {
    const reason = scheduleProblem(schedule, timezone, input.name);
    if (reason !== null) throw new ValidationError('schedule', `can't parse job schedule: ${reason}`);
  }

  const concurrency = input.concurrency === undefined || input.concurrency === '' ? 'allow' : input.concurrency;
  if (concurrency !== 'allow' && concurrency !== 'forbid') {
    throw new ValidationError('concurrency', 'invalid concurrency policy value, use "allow" or "forbid"');
  }

  const catchUp = input.catch_up === undefined || input.catch_up === '' ? 'latest' : input.catch_up;
  if (catchUp !== 'latest' && catchUp !== 'skip' && catchUp !== 'all') {
    throw new ValidationError('catch_up', 'invalid catch_up policy, use "latest", "skip" or "all"');
  }
  const startingDeadline = input.starting_deadline ?? '';
  assertPositiveDuration('starting_deadline', startingDeadline);
  const maxStartDelay = (input.max_start_delay ?? '').trim();
  assertPositiveDuration('max_start_delay', maxStartDelay);

  let executor = input.executor ?? '';
  let executorConfig = input.executor_config ?? null;
  if (input.command !== undefined && executor === '') {
    // dkron 0.9 flat fields: map onto the shell executor instead of storing a job that can never run.
    executor = 'shell';
    const shell = input.shell === true || input.shell === 'true';
    executorConfig = { ...(executorConfig ?? {}), command: input.command, shell: shell ? 'true' : 'false' };
    if (input.environment_variables && input.environment_variables.length > 0) {
      executorConfig.env = input.environment_variables.join(',');
    }
  }
  if (executor === '') {
    throw new ValidationError('executor', 'executor is required (e.g. "shell"), or give a legacy "command"');
  }
  const configProblem = executors.validate(executor, executorConfig ?? {});
  if (configProblem) throw new ValidationError(configProblem.field, configProblem.message);

  const notifyOn = input.notify_on ?? '';
  if (!NOTIFY_ON_VALUES.includes(notifyOn)) {
    throw new ValidationError('notify_on', 'invalid notify_on, use "failure", "success", "always", "never" or "change" (empty: the agent default)');
  }
  const slackUrl = (input.slack_webhook_url ?? '').trim();
  if (slackUrl !== '' && !/^https?:\/\/[^\s/]+/.test(slackUrl)) {
    throw new ValidationError('slack_webhook_url', 'slack_webhook_url must be an http(s) URL');
  }

  const startsAt = parseTimeField('starts_at', input.starts_at);
  const expiresAt = parseTimeField('expires_at', input.expires_at);

  const processors: Record<string, Record<string, string>> = {};
  for (const [k, v] of Object.entries(input.processors ?? {})) processors[k] = v ?? {};
  const processorProblem = executors.validateProcessors?.(processors);
  if (processorProblem) throw new ValidationError(processorProblem.field, processorProblem.message);

  return {
    name: input.name,
    displayname: input.displayname ?? '',
    timezone,
    schedule,
    owner: input.owner ?? '',
    owner_email: input.owner_email ?? '',
    disabled: input.disabled ?? false,
    tags: emptyToNull(input.tags),
    metadata: emptyToNull(input.metadata),
    retries: input.retries ?? 0,
    parent_job: parentJob,
    // Kept only when set: a million jobs without them store and load no empty fields.
    ...(dependsOn.length > 0 ? { depends_on: dependsOn } : {}),
    ...(resources ? { resources } : {}),
    processors,
    concurrency,
    executor,
    executor_config: executorConfig,
    ephemeral: input.ephemeral ?? false,
    starts_at: startsAt,
    expires_at: expiresAt,
    catch_up: catchUp,
    starting_deadline: startingDeadline,
    history_limit: input.history_limit ?? 0,
    max_start_delay: maxStartDelay,
    notify_on: notifyOn as NotifyOn,
    notify_skip: input.notify_skip ?? null,
    slack_webhook_url: slackUrl,
    slack_channel: input.slack_channel ?? '',
  };
}

/** Fan-in parents: names, each once, not the job itself, and not beside a parent_job. */
function dependsOnOf(name: string, list: string[], parentJob: string): string[] {
  if (list.length === 0) return [];
  if (parentJob !== '') {
    throw new ValidationError(
      'depends_on',
      'set either parent_job (run after every success of one parent, as dkron does) or depends_on (run once per window in which every parent succeeded), not both',
    );
  }
  if (list.length > MAX_PARENTS) throw new ValidationError('depends_on', `depends_on lists ${list.length} jobs; at most ${MAX_PARENTS}`);
  const seen = new Set<string>();
  for (const p of list) {
    if (p === name) throw new ValidationError('depends_on', 'the job can not depend on itself');
    if (p === '') throw new ValidationError('depends_on', 'depends_on contains an empty job name');
    if (seen.has(p)) throw new ValidationError('depends_on', `depends_on lists "${p}" twice`);
    seen.add(p);
  }
  return [...list];
}

// Fleets share a few start and end times too: a bulk save parses each distinct one once.
const parsedTimes = new Map<string, string | null>();

function parseTimeField(field: string, value: string | null | undefined): string | null {
  if (value === undefined || value === null || value === '') return null;
  let iso = parsedTimes.get(value);
  if (iso === undefined) {
    iso = parseJobTime(value)?.toISOString() ?? null;
    if (parsedTimes.size >= MEMO_MAX) parsedTimes.clear();
    parsedTimes.set(value, iso);
  }
  if (iso === null) throw new ValidationError(field, `${field} must be an RFC 3339 time or YYYY-MM-DDTHH:MM, got "${value}"`);
  return iso;
}

function emptyToNull(m: Record<string, string> | null | undefined): Record<string, string> | null {
  return m && Object.keys(m).length > 0 ? m : null;
}
