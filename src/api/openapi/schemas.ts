/**
 * Response shapes of the API as zod schemas, for the OpenAPI document only (requests are described
 * by the schemas that validate them, src/job/schema.ts). The type checks at the end fail the build
 * when a schema and the TypeScript type the server returns drift apart.
 */
import { z } from 'zod';
import type { Job, NotificationRecord } from '../../job/types.js';
import type { WireExecution } from '../wire.js';
import type { AuditEntry, SkipRecord } from '../../store/types.js';
import type { Member, QueuedRun } from '../../cluster/types.js';
import type { PluginListing } from '../context.js';
import type { WorkflowGraph } from '../../core/workflow.js';
import type { BackfillView } from '../../core/backfills.js';

const time = z.string().describe('RFC 3339 time');
const stringMap = z.record(z.string(), z.string());
const trigger = z.enum(['schedule', 'catchup', 'manual', 'parent', 'retry', 'workflow', 'backfill']);

export const backfillSchema = z.object({
  id: z.string(),
  from: time,
  to: time,
  schedule: z.string(),
  timezone: z.string(),
  parallelism: z.number().int(),
  ticks: z.number().int(),
  state: z.enum(['running', 'done', 'cancelled']),
  succeeded: z.number().int(),
  failed: z.number().int(),
  skipped: z.number().int(),
  created_at: time,
  created_by: z.string(),
  finished_at: time.nullable(),
});

export const backfillViewSchema = backfillSchema.extend({
  job: z.string(),
  dispatched: z.number().int().describe('ticks started (or recorded as skipped) so far'),
  running: z.number().int().describe('runs in flight'),
});

export const jobSchema = z.object({
  id: z.string(),
  name: z.string(),
  displayname: z.string(),
  timezone: z.string(),
  schedule: z.string(),
  owner: z.string(),
  owner_email: z.string(),
  success_count: z.number().int(),
  error_count: z.number().int(),
  last_success: time.nullable(),
  last_error: time.nullable(),
  disabled: z.boolean(),
  tags: stringMap.nullable(),
  metadata: stringMap.nullable(),
  retries: z.number().int(),
  dependent_jobs: z.array(z.string()).nullable(),
  parent_job: z.string(),
  depends_on: z.array(z.string()).describe('fan-in parents: runs once per window in which all succeeded').optional(),
  processors: z.record(z.string(), stringMap),
  concurrency: z.enum(['allow', 'forbid']),
  executor: z.string(),
  executor_config: stringMap.nullable(),
  status: z.enum(['', 'success', 'failed', 'partially_failed']),
  next: time.nullable(),
  ephemeral: z.boolean(),
  starts_at: time.nullable(),
  expires_at: time.nullable(),
  catch_up: z.enum(['latest', 'skip', 'all']),
  starting_deadline: z.string(),
  history_limit: z.number().int(),
  skip_count: z.number().int(),
  last_skip: time.nullable(),
  last_skip_reason: z.string(),
  last_group: z.number(),
  notify_on: z.enum(['', 'failure', 'success', 'always', 'never', 'change']).optional(),
  max_start_delay: z.string().describe('start SLO, a Go duration; "" = none').optional(),
  notify_skip: z.boolean().nullable().optional(),
  slack_webhook_url: z.string().optional(),
  slack_channel: z.string().optional(),
  resources: z
    .object({ cpu: z.number().optional(), memory: z.string().optional(), slots: z.record(z.string(), z.number()).optional() })
    .nullable()
    .describe('what one run needs of its agent: cpu cores, memory ("4Gi"), named slots')
    .optional(),
  backfills: z.array(backfillSchema).describe('backfills of this job, newest last').optional(),
  created_at: time,
  updated_at: time,
});

const notificationSchema = z.object({
  channel: z.enum(['webhook', 'pre-webhook', 'slack', 'mail']),
  target: z.string(),
  status: z.enum(['pending', 'sent', 'failed']),
  attempts: z.number().int(),
  last_error: z.string().nullable(),
  at: time,
});

export const executionSchema = z.object({
  id: z.string(),
  job_name: z.string(),
  started_at: time,
  finished_at: time.describe('"0001-01-01T00:00:00Z" while it runs (dkron\'s zero time)'),
  success: z.boolean(),
  output: z.string(),
  node_name: z.string(),
  group: z.number(),
  attempt: z.number().int(),
  exit_code: z.number().int().nullable(),
  scheduled_at: time,
  trigger,
  backfill: z.string().describe('the backfill this run re-runs a tick for').optional(),
  output_truncated: z.boolean().optional(),
  notifications: z.array(notificationSchema).optional(),
});

export const queuedSchema = z.object({ job: z.string(), scheduled_at: time, since: time, reason: z.string() });
const capacitySchema = z.object({ cpu: z.number(), memory: z.number().describe('bytes'), slots: z.record(z.string(), z.number()) });

export const memberSchema = z.object({
  Name: z.string(),
  Addr: z.string(),
  Port: z.number().int(),
  Tags: stringMap,
  Status: z.number().int(),
  statusText: z.enum(['alive', 'leaving', 'left', 'failed']),
  server: z.boolean(),
  version: z.string(),
  running: z.number().int(),
  load: z.number(),
  executors: z.array(z.string()).optional(),
  processors: z.array(z.string()).optional(),
  capacity: capacitySchema.describe('what it offers to jobs that declare resources').optional(),
  queued: z.array(queuedSchema).describe('the leader: ticks waiting for room').optional(),
  last_seen: time.optional(),
});

export const skipSchema = z.object({
  id: z.string(),
  job: z.string(),
  scheduled_at: time,
  until: time.nullable(),
  count: z.number().int(),
  code: z.enum(['no_leader', 'catch_up_skip', 'starting_deadline', 'forbid', 'no_agent', 'no_executor', 'not_runnable', 'dispatch_failed', 'no_capacity']),
  reason: z.string(),
  trigger,
  recorded_at: time,
  node: z.string(),
});

export const auditSchema = z.object({
  id: z.string(),
  at: time,
  actor: z.string(),
  action: z.string(),
  job: z.string().nullable(),
  before: z.record(z.string(), z.unknown()).nullable(),
  after: z.record(z.string(), z.unknown()).nullable(),
  detail: z.record(z.string(), z.unknown()).nullable(),
});

export const pluginSchema = z.object({
  name: z.string(),
  kind: z.enum(['executor', 'processor']),
  form: z.enum(['builtin', 'module', 'executable']),
  source: z.string(),
  version: z.string().optional(),
});

export const errorSchema = z.object({
  error: z.string().describe('the message (dkron clients read this key)'),
  message: z.string(),
  code: z.string().describe('stable KAIROS_* code, see docs/errors.md'),
  field: z.string().optional().describe('the request field at fault'),
});

export const workflowSchema = z.object({
  run: time.nullable().describe('the run shown: the tick of the workflow\'s first jobs'),
  runs: z.array(time).describe('recent runs, newest first'),
  nodes: z.array(
    z.object({
      job: z.string(),
      kind: z.enum(['root', 'fan_in', 'chain']),
      state: z.enum(['succeeded', 'failed', 'running', 'waiting', 'blocked']),
      key: time.nullable().describe("the job's window in this run (its executions' scheduled_at)"),
      group: z.number().nullable(),
      executions: z.array(z.string()),
      started_at: time.nullable(),
      finished_at: time.nullable(),
    }),
  ),
  edges: z.array(z.object({ from: z.string(), to: z.string(), kind: z.enum(['fan_in', 'chain']) })),
  truncated: z.boolean(),
});

export const healthSchema = z.object({ status: z.enum(['healthy', 'degraded']), checks: z.record(z.string(), z.string()) });

// Drift checks: each schema and its TypeScript type must accept each other.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Check<T extends true> = T;
export type SchemaChecks = [
  Check<Same<z.infer<typeof jobSchema>, Job>>,
  Check<Same<z.infer<typeof executionSchema>, WireExecution>>,
  Check<Same<z.infer<typeof notificationSchema>, NotificationRecord>>,
  Check<Same<z.infer<typeof memberSchema>, Member>>,
  Check<Same<z.infer<typeof skipSchema>, SkipRecord>>,
  Check<Same<z.infer<typeof auditSchema>, AuditEntry>>,
  Check<Same<z.infer<typeof pluginSchema>, PluginListing>>,
  Check<Same<z.infer<typeof workflowSchema>, WorkflowGraph>>,
  Check<Same<z.infer<typeof backfillViewSchema>, BackfillView>>,
  Check<Same<z.infer<typeof queuedSchema>, QueuedRun>>,
];
