/**
 * Fan-in: what a parent's success does for a `depends_on` job. The job runs once for a window
 * (src/scheduler/window.ts) in which every parent has a successful execution group. Each parent's
 * success is checked after that success is stored, so of parents finishing at the same time the
 * last one to be stored sees all the others; two that both see all dispatch the same window, and
 * the tick fence (the window's start is the job's tick) lets one through. Through a crash or a
 * leader change the parent's durable follow-up runs this again, and the fence again lets the
 * window run at most once.
 */
import type { Logger } from '../util/log.js';
import type { Execution, Job } from '../job/types.js';
import type { Store } from '../store/types.js';
import { isFanIn } from '../job/parents.js';
import { groupStatus } from '../job/group-status.js';
import { iso } from '../job/time.js';
import { tickGroup } from '../util/ids.js';
import { windowStart } from '../scheduler/window.js';
import type { DispatchResult } from './dispatcher.js';
import type { TickEvent } from '../scheduler/scheduler.js';

/** Recent executions of a parent searched for a success in a scheduled window. */
const SEARCH_EXECUTIONS = 1000;
/** Recent executions of the succeeding parent searched for earlier windows still owed. */
const LOOK_BACK = 200;

export interface FanInResult {
  /** The window's start (its key), RFC 3339. */
  window: string;
  /** Parents with no success in the window yet (the job waits for them). */
  waiting: string[];
  dispatched: boolean;
}

export class FanIn {
  constructor(
    private readonly store: Store,
    private readonly dispatch: (tick: TickEvent) => Promise<DispatchResult>,
    private readonly log: Logger,
  ) {}

  /**
   * Group `group` of `parent` succeeded: run `job` for that group's window if every other parent
   * succeeded in it too. Windows run in order (the fence keeps the last one run), so earlier
   * windows of this parent that are complete but never ran (their last parent's follow-up was
   * delayed by a crash, say) run first. Null when `job` no longer depends on `parent`.
   */
  async parentSucceeded(job: Job, parent: string, group: number): Promise<FanInResult | null> {
    const child = job.name;
    if (!isFanIn(job) || !job.depends_on?.includes(parent)) return null;
    const members = await this.store.listGroup(parent, group);
    const first = members[0];
    if (!first) {
      this.log.warn({ job: child, parent, group }, 'fan-in: the successful run of a parent is no longer in its history');
      return null;
    }
    const key = windowStart(job, Date.parse(first.scheduled_at));
    const lastTick = await this.store.getLastTick(child);
    const last = lastTick === null ? null : Date.parse(lastTick);
    // Each other parent's history is read at most once per success, however many windows are checked.
    const read = new Map<string, Promise<Set<number>>>();
    const windowsOf = (p: string): Promise<Set<number>> => {
      let w = read.get(p);
      if (!w) read.set(p, (w = this.successWindows(job, p, SEARCH_EXECUTIONS)));
      return w;
    };
    const missing = async (k: number): Promise<string[]> => {
      const out: string[] = [];
      for (const p of job.depends_on ?? []) if (p !== parent && !(await this.succeededIn(job, p, k, windowsOf))) out.push(p);
      return out;
    };
    for (const earlier of await this.earlierWindows(job, parent, last, key)) {
      if ((await missing(earlier)).length === 0) await this.run(job, parent, earlier);
    }
    const waiting = await missing(key);
    const window = iso(key);
    if (waiting.length > 0) {
      this.log.info({ job: child, parent, window, waiting }, 'fan-in: parent succeeded; waiting for the other parents');
      return { window, waiting, dispatched: false };
    }
    return { window, waiting: [], dispatched: await this.run(job, parent, key) };
  }

  private async run(job: Job, parent: string, key: number): Promise<boolean> {
    const r = await this.dispatch({ name: job.name, scheduledAt: new Date(key), trigger: 'workflow' });
    this.log.info({ job: job.name, parent, window: iso(key), executions: r.executions.length, skipped: r.skipped }, 'fan-in: every parent succeeded in the window');
    return r.executions.length > 0;
  }

  /**
   * Windows after the last one run (and not before the job existed) and before `key` in which
   * `parent` succeeded, oldest first: the candidates a delayed follow-up may have left behind.
   */
  private async earlierWindows(job: Job, parent: string, last: number | null, key: number): Promise<number[]> {
    const from = Math.max(last ?? -Infinity, Date.parse(job.created_at) - 1);
    if (!(from < key)) return [];
    const keys = await this.successWindows(job, parent, LOOK_BACK);
    return [...keys].filter((k) => k > from && k < key).sort((x, y) => x - y);
  }

  /** Whether `parent` has a successful group whose scheduled time falls in window `key` of `child`. */
  private async succeededIn(child: Job, parent: string, key: number, windowsOf: (p: string) => Promise<Set<number>>): Promise<boolean> {
    // The window is one tick: the parent's run for it is that tick's group (a time-scheduled or fan-in parent).
    if (child.schedule === '') return succeeded(await this.store.listGroup(parent, tickGroup(key)));
    return (await windowsOf(parent)).has(key);
  }

  /** The windows of `child` in which `parent`'s last `limit` executions hold a successful group. */
  private async successWindows(child: Job, parent: string, limit: number): Promise<Set<number>> {
    const { items } = await this.store.listExecutions(parent, { sort: 'started_at', order: 'desc', end: limit });
    const groups = new Map<number, Execution[]>();
    for (const e of items) {
      const g = groups.get(e.group);
      if (g) g.push(e);
      else groups.set(e.group, [e]);
    }
    const keys = new Set<number>();
    // One window computation per group, not per execution (a scheduled window walks its schedule).
    for (const g of groups.values()) if (succeeded(g)) keys.add(windowStart(child, Date.parse((g[0] as Execution).scheduled_at)));
    return keys;
  }
}

/** A group that finished (every member) with success. */
function succeeded(members: Execution[]): boolean {
  return members.length > 0 && members.every((e) => e.finished_at !== null) && groupStatus(members) === 'success';
}
