/**
 * The stored shapes of jobs and executions, with dkron's JSON field names so a
 * dkron client reads them unchanged. Times are RFC 3339 strings or null.
 * `src/job/schema.ts` validates what clients send and produces these.
 */

import type { JobResources } from './resources.js';

export type Concurrency = 'allow' | 'forbid';
export type CatchUpPolicy = 'latest' | 'skip' | 'all';
export type JobStatus = '' | 'success' | 'failed' | 'partially_failed';
/** When a finished execution group is notified ('' = the agent's --notify-on). */
export type NotifyOn = '' | 'failure' | 'success' | 'always' | 'never' | 'change';
/**
 * `workflow`: a `depends_on` job run once for a window in which every parent succeeded (src/cluster/fan-in.ts).
 * `backfill`: a past tick re-run by a backfill (src/cluster/backfill-driver.ts).
 */
export type Trigger = 'schedule' | 'catchup' | 'manual' | 'parent' | 'retry' | 'workflow' | 'backfill';

export interface Job {
  id: string;
  name: string;
  displayname: string;
  timezone: string;
  schedule: string;
  owner: string;
  owner_email: string;
  success_count: number;
  error_count: number;
  last_success: string | null;
  last_error: string | null;
  disabled: boolean;
  tags: Record<string, string> | null;
  metadata: Record<string, string> | null;
  retries: number;
  dependent_jobs: string[] | null;
  parent_job: string;
  /**
   * Fan-in parents (Kairos): the job runs once per window in which every one of them succeeded
   * (src/cluster/fan-in.ts). Exclusive with parent_job. Optional: jobs stored before it lack it.
   */
  depends_on?: string[];
  processors: Record<string, Record<string, string>>;
  concurrency: Concurrency;
  executor: string;
  executor_config: Record<string, string> | null;
  status: JobStatus;
  next: string | null;
  ephemeral: boolean;
  starts_at: string | null;
  expires_at: string | null;
  // Kairos additions (dkron clients ignore unknown keys).
  /** What to do with ticks missed while no scheduler ran (agent down, no leader). */
  catch_up: CatchUpPolicy;
  /** Go duration; a missed tick older than this is not caught up. "" = no limit. */
  starting_deadline: string;
  /** Executions kept for this job; 0 = the agent default. */
  history_limit: number;
  /** Ticks that were not run (forbid overlap, no matching agent), with the last reason. */
  skip_count: number;
  last_skip: string | null;
  last_skip_reason: string;
  /** Group id of the last execution group whose outcome was applied (children fire once per group). */
  last_group: number;
  /** Notifications (optional: jobs stored before they existed lack them). */
  notify_on?: NotifyOn;
  /**
   * Start SLO, a Go duration: a scheduled run (first attempt of a `schedule` or `catchup` tick)
   * starting later than this after its tick is a breach (src/job/slo.ts). "" = no SLO.
   */
  max_start_delay?: string;
  /** Notify skipped ticks; null = the agent's --notify-skip. */
  notify_skip?: boolean | null;
  slack_webhook_url?: string;
  slack_channel?: string;
  /** What one run needs of the agent it runs on (capacity-aware placement, src/job/resources.ts). */
  resources?: JobResources | null;
  /** Backfills of this job, newest last (server-owned; the last few are kept: src/job/backfill.ts). */
  backfills?: Backfill[];
  created_at: string;
  updated_at: string;
}

/**
 * Re-running every tick of a job's schedule in [from, to], at most `parallelism` at a time. Stored on
 * the job, so the counts move in the same atomic write as each run's result.
 */
export interface Backfill {
  /** `<n>-<created ms, base 36>`: n orders a job's backfills; the time keeps a re-created job's apart. */
  id: string;
  from: string;
  to: string;
  /** The job's schedule and time zone when the backfill was made: its ticks don't move with later edits. */
  schedule: string;
  timezone: string;
  parallelism: number;
  /** Ticks in [from, to]. */
  ticks: number;
  state: 'running' | 'done' | 'cancelled';
  /** Execution groups finished, by outcome; skipped ticks (no agent, refused) are `skipped`. */
  succeeded: number;
  failed: number;
  skipped: number;
  created_at: string;
  created_by: string;
  finished_at: string | null;
}

/** The fields that decide when a job fires: all the scheduler reads of a definition. */
export const TIMING_FIELDS = [
  'name',
  'schedule',
  'timezone',
  'disabled',
  'parent_job',
  'depends_on',
  'concurrency',
  'starts_at',
  'expires_at',
  'catch_up',
  'starting_deadline',
  'updated_at',
  // Not timing, but what the leader's backfill driver must see when it loads the jobs.
  'backfills',
] as const satisfies readonly (keyof Job)[];

export type JobTiming = Pick<Job, (typeof TIMING_FIELDS)[number]>;

export interface Execution {
  id: string;
  job_name: string;
  started_at: string;
  finished_at: string | null;
  success: boolean;
  output: string;
  node_name: string;
  /** One id per dispatch (tick or manual run); retries share it. Microsecond-based so it fits a JS number. */
  group: number;
  attempt: number;
  // Kairos additions
  exit_code: number | null;
  scheduled_at: string;
  trigger: Trigger;
  /** The backfill (its id) this execution re-runs a tick for. */
  backfill?: string;
  output_truncated?: boolean;
  /** Delivery of the notifications about this execution's group (src/notify). */
  notifications?: NotificationRecord[];
}

export interface NotificationRecord {
  channel: 'webhook' | 'pre-webhook' | 'slack' | 'mail';
  /** A URL shortened to scheme, host and first path segment, or mail recipients. */
  target: string;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  last_error: string | null;
  /** When the record last changed (RFC 3339). */
  at: string;
}
