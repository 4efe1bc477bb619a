/**
 * The events the agent publishes on its in-process bus. The scheduling and
 * execution path publishes; notifications and metrics subscribe. Payloads are
 * plain data (copies where mutation could surprise a subscriber).
 */
import type { Execution, Job, JobStatus } from '../job/types.js';
import type { SkipCode } from '../store/types.js';
import type { LateStart } from '../job/slo.js';

/** Why a tick was not run: the skip record's code (GET /v1/jobs/NAME/skips). */
export interface EventMap {
  /** The leader committed a tick with executions on these agents. */
  'tick.dispatched': { job: string; scheduledAt: string; trigger: string; nodes: string[] };
  /** A tick (or `count` missed ticks) was not run. Published by the leader. */
  'tick.skipped': { job: string; scheduledAt: string; kind: SkipCode; reason: string; count: number };
  /** An attempt's process started on this agent; `latenessMs` = start − scheduled time. */
  'execution.started': { execution: Execution; latenessMs: number };
  /**
   * A first attempt of a scheduled (or caught-up) run started more than its job's
   * `max_start_delay` after its tick: once per such execution, by the agent that started it.
   */
  'execution.late': LateStart;
  /** An attempt finished on this agent (every attempt, retries included). */
  'execution.finished': { execution: Execution; job: Job | null; durationMs: number };
  /**
   * An execution group finished (retries exhausted) and this agent's compare-and-set
   * on the job's `last_group` applied its outcome: published once per group cluster-wide.
   */
  'group.finished': { job: Job; group: number; status: JobStatus; previous: JobStatus; last: Execution };
  'leadership.acquired': { node: string };
  'leadership.lost': { node: string };
  'member.joined': { name: string };
  'member.left': { name: string };
  /** One store call and how long it took. */
  'store.call': { op: string; ms: number; ok: boolean };
  /** A notification delivery ended (sent, or failed for good) or was dropped from a full queue. */
  'notify.delivery': { channel: string; outcome: 'sent' | 'failed' | 'dropped' | 'retry' };
}

export type EventName = keyof EventMap;
export type Subscriber<K extends EventName> = (event: EventMap[K]) => void;
