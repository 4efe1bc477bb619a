/**
 * What a notice says, independent of the channel: a finished execution group,
 * a skipped tick, or a run that started later than its job's `max_start_delay`.
 * Slack, mail and the log render it.
 */
import type { Execution, JobStatus } from '../job/types.js';

export type Notice =
  | {
      kind: 'group';
      job: string;
      status: JobStatus;
      /** The execution that closed the group (its record keeps the notification results). */
      last: Execution;
      group: Execution[];
      reportingNode: string;
      link: string | null;
    }
  | { kind: 'skip'; job: string; reason: string; scheduledAt: string; reportingNode: string; link: string | null }
  | {
      kind: 'late';
      job: string;
      /** The execution as it started (`started_at` is the process start). */
      execution: Execution;
      latenessMs: number;
      /** The job's `max_start_delay` as written ("30s"). */
      limit: string;
      reportingNode: string;
      link: string | null;
    };

export const OUTPUT_TAIL = 1500;

export function outcomeWord(status: JobStatus): string {
  return status === 'success' ? 'succeeded' : status === 'partially_failed' ? 'partially failed' : 'failed';
}

export function jobLink(uiUrl: string | null, job: string): string | null {
  return uiUrl ? `${uiUrl}/ui/#/jobs/${encodeURIComponent(job)}` : null;
}

export function durationText(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** The final attempt of each node (what decided the group's status). */
export function finalAttempts(group: Execution[]): Execution[] {
  const final = new Map<string, Execution>();
  for (const e of group) {
    const cur = final.get(e.node_name);
    if (!cur || e.attempt > cur.attempt) final.set(e.node_name, e);
  }
  return [...final.values()];
}

export function groupDurationMs(group: Execution[]): number {
  const starts = group.map((e) => Date.parse(e.started_at));
  const ends = group.map((e) => Date.parse(e.finished_at ?? ''));
  return Math.max(...ends) - Math.min(...starts);
}

export function tail(output: string, max = OUTPUT_TAIL): string {
  return output.length <= max ? output : `…${output.slice(output.length - max)}`;
}

/** "late by 12.3 s (SLO 5s)": the breach against the limit, as every channel and the UI word it. */
export function lateText(latenessMs: number, limit: string): string {
  return `late by ${durationText(latenessMs)} (SLO ${limit})`;
}

/** The facts of a late start, in the order every channel lists them. */
export function lateFacts(n: Extract<Notice, { kind: 'late' }>): [string, string][] {
  const e = n.execution;
  return [
    ['Outcome', `started ${lateText(n.latenessMs, n.limit)}`],
    ['Scheduled', e.scheduled_at],
    ['Started', e.started_at],
    ['Node', e.node_name],
    ['Trigger', e.trigger],
    ['Execution', `${e.id} (group ${e.group})`],
  ];
}

/** One-line summary (Slack fallback text, logs). */
export function summary(n: Notice): string {
  if (n.kind === 'skip') return `Kairos job ${n.job}: tick skipped (${n.reason})`;
  if (n.kind === 'late') return `Kairos job ${n.job}: started ${lateText(n.latenessMs, n.limit)} on ${n.execution.node_name}`;
  return `Kairos job ${n.job} ${outcomeWord(n.status)}`;
}
