/** The bucketing every backend's `activity` shares, so the embedded and key-value stores can't drift. */
import type { Execution } from '../job/types.js';
import type { Activity, ActivityBucket, ActivityQuery, SkipRecord } from './types.js';

/** Most buckets one call may ask for: a week of minutes. Protects the agent from a huge allocation. */
export const MAX_BUCKETS = 7 * 24 * 60;

export class ActivityCounter {
  readonly sinceMs: number;
  readonly untilMs: number;
  readonly buckets: ActivityBucket[];
  readonly bucketMs: number;
  private readonly jobs: ReadonlySet<string> | null;
  private readonly failuresWanted: number;
  /** Failed executions counted so far (countExecution), for recentFailures. */
  private readonly failures: Execution[] = [];

  constructor(query: ActivityQuery, now = Date.now()) {
    const since = Date.parse(query.since);
    if (Number.isNaN(since)) throw new Error(`activity: since "${query.since}" is not an RFC 3339 time`);
    if (!(query.bucketMs >= 1000)) throw new Error(`activity: bucketMs must be at least 1000, got ${query.bucketMs}`);
    this.sinceMs = since;
    this.untilMs = Math.max(since, now);
    this.bucketMs = Math.trunc(query.bucketMs);
    const n = Math.max(1, Math.ceil((this.untilMs - since) / this.bucketMs));
    if (n > MAX_BUCKETS) throw new Error(`activity: ${n} buckets asked for, at most ${MAX_BUCKETS}`);
    this.buckets = Array.from({ length: n }, (_, i) => ({ t: new Date(since + i * this.bucketMs).toISOString(), success: 0, failed: 0, skipped: 0 }));
    this.jobs = query.jobs ? new Set(query.jobs) : null;
    this.failuresWanted = query.failures;
  }

  wants(job: string): boolean {
    return this.jobs === null || this.jobs.has(job);
  }

  /** The bucket of an instant, or undefined outside the window. */
  at(ms: number): ActivityBucket | undefined {
    if (!(ms >= this.sinceMs)) return undefined;
    return this.buckets[Math.floor((ms - this.sinceMs) / this.bucketMs)];
  }

  /** Whether an instant is in the window: the stores that count record by record read only those records. */
  covers(ms: number): boolean {
    return ms >= this.sinceMs && ms <= this.untilMs;
  }

  /** Counts a finished execution in the bucket of its start (running ones have no result yet). */
  countExecution(e: Execution): void {
    if (e.finished_at === null || e.finished_at === undefined) return;
    const bucket = this.at(Date.parse(e.started_at));
    if (!bucket) return;
    if (e.success) bucket.success++;
    else {
      bucket.failed++;
      this.failures.push(e);
    }
  }

  countSkip(s: SkipRecord): void {
    const bucket = this.at(skipIdMs(s.id));
    if (bucket) bucket.skipped += s.count;
  }

  /** What countExecution and countSkip added up, with the newest failures the query asked for. */
  result(): Activity {
    return { buckets: this.buckets, recentFailures: newestFailures(this.failures, this.failuresWanted) };
  }
}

/** A skip record's id starts with its tick (or, for a refused run-now, its time) in zero-padded ms. */
export function skipIdMs(id: string): number {
  return Number(id.slice(0, 15));
}

export function skipIdFloor(ms: number): string {
  return String(Math.max(0, Math.trunc(ms))).padStart(15, '0');
}

/** What the dashboard needs of a failure: the record without its (possibly large) output. */
export function withoutOutput(e: Execution): Execution {
  return { ...e, output: '' };
}

export function newestFailures(failures: Execution[], n: number): Activity['recentFailures'] {
  return failures
    .sort((a, b) => Date.parse(b.started_at) - Date.parse(a.started_at) || (a.id < b.id ? 1 : -1))
    .slice(0, Math.max(0, n))
    .map(withoutOutput);
}
