/**
 * Drives backfills on the leader: each running backfill of a job gets its next ticks dispatched
 * while fewer than `parallelism` of its runs are in flight. Nothing here is remembered between
 * calls: where a backfill stands is read each time from the store (its fence's last tick, its runs
 * still running), so a new leader resumes exactly where the last one stopped. It is woken by the
 * job feed whenever a job with a running backfill is loaded or changes, which includes every
 * result of its runs (counted on the job in the same write).
 */
import type { Logger } from '../util/log.js';
import type { Backfill, Job, JobTiming } from '../job/types.js';
import type { Store } from '../store/types.js';
import { backfillFence, backfillNumber, ticksOfBackfill, updateBackfill } from '../job/backfill.js';
import { iso } from '../job/time.js';
import type { Dispatcher } from './dispatcher.js';

/** Computed tick lists, by job and backfill (a 10,000-tick list is worth keeping between wakes). */
const TICK_CACHE = 64;

export class BackfillDriver {
  private readonly pumping = new Map<string, { again: boolean }>();
  private readonly ticks = new Map<string, number[]>();
  private leading = false;

  constructor(
    private readonly store: Store,
    private readonly dispatcher: Dispatcher,
    private readonly log: Logger,
  ) {}

  /** Leadership gained or lost: only a leader dispatches (the fence refuses the others anyway). */
  setLeading(leading: boolean): void {
    this.leading = leading;
  }

  /** A job the leader loaded or saw change. */
  observe(job: Pick<JobTiming, 'name' | 'backfills'>): void {
    if (!this.leading || !job.backfills?.some((b) => b.state === 'running')) return;
    const cur = this.pumping.get(job.name);
    if (cur) {
      cur.again = true;
      return;
    }
    const entry = { again: true };
    this.pumping.set(job.name, entry);
    void (async () => {
      try {
        while (entry.again && this.leading) {
          entry.again = false;
          await this.pump(job.name);
        }
      } catch (err) {
        this.log.warn({ job: job.name, err: (err as Error).message }, 'backfill: cannot dispatch yet; retrying in 1 s');
        setTimeout(() => this.observe(job), 1000).unref();
      } finally {
        this.pumping.delete(job.name);
      }
    })();
  }

  private async pump(name: string): Promise<void> {
    const job = await this.store.getJob(name);
    for (const b of job?.backfills ?? []) {
      if (b.state === 'running' && job) await this.advance(job, b);
    }
  }

  private async advance(job: Job, b: Backfill): Promise<void> {
    const ticks = this.ticksOf(job.name, b);
    const last = await this.store.getLastTick(backfillFence(job.name, b.id));
    const lastMs = last === null ? -Infinity : Date.parse(last);
    let next = ticks.findIndex((t) => t > lastMs);
    if (next < 0) next = ticks.length;
    const running = await this.store.listRunning(job.name);
    let inFlight = new Set(running.filter((e) => e.backfill === b.id).map((e) => e.group)).size;
    while (next < ticks.length && inFlight < b.parallelism && this.leading) {
      const tick = ticks[next] as number;
      const { taken, plan } = await this.dispatcher.dispatchBackfill(job, b.id, backfillNumber(b.id), tick);
      if (!taken) {
        // No agent has room now: look again in a second (runs of other jobs free it, not ours).
        if (plan.queued !== undefined) setTimeout(() => this.observe(job), 1000).unref();
        return; // otherwise another leader's, or no longer ours: whoever leads goes on
      }
      if (plan.skipped) await this.count(job.name, b.id, (x) => ({ ...x, skipped: x.skipped + 1 }));
      else inFlight++;
      next++;
    }
    if (next >= ticks.length && inFlight === 0) {
      const now = iso(Date.now());
      await this.count(job.name, b.id, (x) => (x.state === 'running' ? { ...x, state: 'done', finished_at: now } : x));
      this.ticks.delete(`${job.name}\n${b.id}`);
      this.log.info({ job: job.name, backfill: b.id, ticks: ticks.length }, 'backfill: done');
    }
  }

  private async count(name: string, id: string, fn: (b: Backfill) => Backfill): Promise<void> {
    await this.store.updateJob(name, (j) => (j ? updateBackfill(j, id, fn) : undefined));
  }

  private ticksOf(name: string, b: Backfill): number[] {
    const key = `${name}\n${b.id}`;
    let list = this.ticks.get(key);
    if (!list) {
      list = ticksOfBackfill(name, b);
      if (this.ticks.size >= TICK_CACHE) this.ticks.clear();
      this.ticks.set(key, list);
    }
    return list;
  }
}
