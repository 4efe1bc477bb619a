/** Small pieces the job page's sections share: what an execution's state is, how long it took. */
import type { JSX } from 'preact';
import type { Execution } from '../api.js';
import { Badge, isZeroTime } from '../components/common.js';
import { recordedBreachMs } from '../../../src/job/slo.js';
import { lateText } from '../../../src/notify/message.js';

export const isRunning = (e: Execution): boolean => isZeroTime(e.finished_at);

/** Milliseconds the execution ran (so far, while it runs). */
export function runMs(e: Execution, now = Date.now()): number {
  const start = Date.parse(e.started_at);
  const end = isRunning(e) ? now : Date.parse(e.finished_at as string);
  return Number.isNaN(start) || Number.isNaN(end) ? NaN : Math.max(0, end - start);
}

export function ResultBadge({ e }: { e: Execution }): JSX.Element {
  if (isRunning(e)) return <Badge kind="running">running</Badge>;
  return e.success ? <Badge kind="success">success</Badge> : <Badge kind="failed">failed</Badge>;
}

/** For ids and codes put into class names and element ids. */
export const cssToken = (s: string): string => s.toLowerCase().replace(/[^a-z0-9_-]/g, '');

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "late by 12.3 s (SLO 5s)" when the execution's start breached the job's max_start_delay (src/job/slo.ts). */
export function LateBadge({ e, limitMs, limit }: { e: Execution; limitMs: number | null; limit: string }): JSX.Element | null {
  const late = recordedBreachMs(e, limitMs);
  if (late === null) return null;
  return (
    <span class="badge badge-late" data-late={e.id} title="Started later than the job's max_start_delay after its scheduled time">
      {lateText(late, limit)}
    </span>
  );
}

/** "2026-11-29 03:00 UTC" (seconds only when set): backfill ranges and ticks, in the zone their API speaks. */
export function utcText(iso: string, zone = true): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const s = new Date(ms).toISOString();
  const text = `${s.slice(0, 10)} ${s.slice(11, s.slice(17, 19) === '00' ? 16 : 19)}`;
  return zone ? `${text} UTC` : text;
}
