/**
 * Record builders for store tests: a complete `Job` / `Execution` with plain
 * defaults, and a patch for whatever a test cares about.
 */
import type { Execution, Job } from '../../src/job/types.js';

/** The instant every fixture's times are relative to. */
export const T0 = Date.parse('2024-01-01T00:00:00.000Z');

/** RFC 3339 time `seconds` after T0. */
export const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

/** A full job named `name` (id = name, `@every 1m`, shell `true`), with `patch` applied. */
export function job(name: string, patch: Partial<Job> = {}): Job {
  return {
    id: name,
    name,
    displayname: '',
    timezone: '',
    schedule: '@every 1m',
    owner: '',
    owner_email: '',
    success_count: 0,
    error_count: 0,
    last_success: null,
    last_error: null,
    disabled: false,
    tags: null,
    metadata: null,
    retries: 0,
    dependent_jobs: null,
    parent_job: '',
    processors: {},
    concurrency: 'allow',
    executor: 'shell',
    executor_config: { command: 'true' },
    status: '',
    next: null,
    ephemeral: false,
    starts_at: null,
    expires_at: null,
    catch_up: 'latest',
    starting_deadline: '',
    history_limit: 0,
    skip_count: 0,
    last_skip: null,
    last_skip_reason: '',
    last_group: 0,
    created_at: at(0),
    updated_at: at(0),
    ...patch,
  };
}

/** A full, finished, successful execution `id` of `jobName` (started at T0, took 1 s), with `patch` applied. */
export function exec(jobName: string, id: string, patch: Partial<Execution> = {}): Execution {
  return {
    id,
    job_name: jobName,
    started_at: at(0),
    finished_at: at(1),
    success: true,
    output: `out ${id}`,
    node_name: 'node-1',
    group: 1,
    attempt: 1,
    exit_code: 0,
    scheduled_at: at(0),
    trigger: 'schedule',
    ...patch,
  };
}

/** Like `exec`, but still running: not finished, no output, no exit code. */
export const running = (jobName: string, id: string, patch: Partial<Execution> = {}): Execution =>
  exec(jobName, id, { finished_at: null, success: false, output: '', exit_code: null, ...patch });
