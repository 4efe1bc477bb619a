/**
 * Watches over ZooKeeper's one-shot watchers. A child watch is re-armed by the
 * listing it triggers, and every (re)connection runs the listing again: after a
 * new session (whose client holds no watches at all) that is what re-arms it,
 * and after a reconnect in the same session it costs one read and misses nothing.
 *
 * Job watches follow a change log rather than data watches on each job: a data
 * watch reports that something changed, and by the time the job is read again
 * a quick second write (or a delete) has hidden the first, which etcd's watch
 * (the reference) would have reported.
 */
import type { JobEvent } from '../../store/types.js';
import type { Job } from '../../job/types.js';
import { messageOf, type StoreReport } from '../../store/kv-shared.js';
import { pause } from '../../util/retry.js';
import { childrenOf, parseBody, readMany, type Ctx } from './common.js';
import { unseg } from './layout.js';
import { zxidNum, type Budget, type Op, type ZkSession } from './session.js';

export interface Subscription {
  stopped: boolean;
  readonly abort: AbortController;
  readonly onConnected: (newSession: boolean) => void;
}

/** Live watch subscriptions: re-armed on reconnection, stopped on close. */
export class Subscriptions {
  private readonly live = new Set<Subscription>();

  constructor(private readonly s: ZkSession) {}

  add(onConnected: (newSession: boolean) => void): Subscription {
    const sub: Subscription = {
      stopped: false,
      abort: new AbortController(),
      onConnected: (newSession) => {
        if (!sub.stopped) onConnected(newSession);
      },
    };
    this.s.on('connected', sub.onConnected);
    this.live.add(sub);
    return sub;
  }

  remove(sub: Subscription): void {
    if (sub.stopped) return;
    sub.stopped = true;
    sub.abort.abort();
    this.s.off('connected', sub.onConnected);
    this.live.delete(sub);
  }

  closeAll(): void {
    for (const sub of [...this.live]) this.remove(sub);
  }
}

/**
 * Runs `body` serially: a poke while it runs makes it run once more afterwards (one-shot
 * watchers and reconnections poke; nothing runs twice at once). A failure goes to `failed`,
 * which may wait, and answers whether to run again.
 */
export function serial(body: () => Promise<void>, failed: (err: unknown) => boolean | Promise<boolean>): () => void {
  let running = false;
  let again = false;
  return function poke(): void {
    again = true;
    if (running) return;
    running = true;
    void (async () => {
      try {
        while (again) {
          again = false;
          try {
            await body();
          } catch (err) {
            if (await failed(err)) again = true;
          }
        }
      } finally {
        running = false;
      }
    })();
  };
}

/** serial() for a subscription: failures are retried with backoff until the subscription stops. */
export function rerunner(sub: Subscription, report: StoreReport, what: string, body: () => Promise<void>): () => void {
  let delay = 100;
  return serial(
    async () => {
      if (sub.stopped) return;
      await body();
      delay = 100;
    },
    async (err) => {
      if (sub.stopped) return false;
      report.warn({ err: messageOf(err), retry_ms: delay }, `zookeeper store: ${what} failed; retrying`);
      if (!(await pause(delay, sub.abort.signal))) return false;
      delay = Math.min(delay * 2, 2000);
      return true;
    },
  );
}

/** Change-log entries kept; a watcher further behind re-reads every job instead. */
const CHANGES_KEPT = 1000;

function seqOf(child: string): number {
  const m = /(\d+)$/.exec(child);
  return m ? Number(m[1]) : -1;
}

/**
 * Follows job writes through the change log (changes/c_<seq>), which every job
 * write appends to in its own multi: events come in commit order, one per write,
 * from every agent, like etcd's watch. Events start after the newest write this
 * store had seen when subscribing (its last reply zxid), so nothing written after
 * a read the caller makes next is missed. Entries trimmed before being read
 * (a watcher far behind) are made up for by reading every job: a put for each,
 * a delete for each reported job now absent.
 */
export function watchJobs(ctx: Ctx, subs: Subscriptions, listener: (event: JobEvent) => void): () => void {
  const l = ctx.l;
  const floor = ctx.s.lastZxid();
  /** Names this subscription has reported present (or found present when it began). */
  const known = new Set<string>();
  let seeded = false;
  let lastSeq: number | null = null;

  const emit = (event: JobEvent): void => {
    if (sub.stopped) return;
    if (event.type === 'put') known.add(event.job.name);
    else known.delete(event.name);
    try {
      listener(event);
    } catch (err) {
      ctx.report.listenerError(err);
    }
  };

  const resync = async (b: Budget): Promise<void> => {
    const names = (await childrenOf(ctx, b, 'watchJobs', l.jobs)).map(unseg);
    const values = await readMany(ctx, b, 'watchJobs', names.map((n) => l.job(n)));
    const present = new Set<string>();
    names.forEach((name, i) => {
      const v = values[i];
      if (!v) return;
      present.add(name);
      emit({ type: 'put', job: parseBody<Job>(v.value, `job "${name}"`) });
    });
    for (const name of [...known]) if (!present.has(name)) emit({ type: 'delete', name });
  };

  /** The last entry written before the floor, scanning back from the newest (usually one read). */
  const startingPoint = async (b: Budget, entries: { seq: number; child: string }[], lowWater: number): Promise<number> => {
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i] as { seq: number; child: string };
      const stat = await ctx.s.exists(b, 'watchJobs', `${l.changes}/${e.child}`);
      if (stat !== null && zxidNum(stat.czxid) <= floor) return e.seq;
    }
    // Every entry left is newer than the floor: if some were trimmed, they may have been too
    // (one below the low-water mark minus one reads as a gap).
    return lowWater > 0 ? -2 : -1;
  };

  const watcher = (): void => pass();
  const sub = subs.add(() => pass());
  const pass = rerunner(sub, ctx.report, 'following job changes', async () => {
    const b = ctx.budget();
    await ctx.ready(b);
    if (!seeded) {
      for (const n of await childrenOf(ctx, b, 'watchJobs', l.jobs)) known.add(unseg(n));
      seeded = true;
    }
    const [meta, listed] = await Promise.all([ctx.s.getData(b, 'watchJobs', l.changes), ctx.s.getChildren(b, 'watchJobs', l.changes, watcher)]);
    // Entries below the low-water mark were trimmed (sequence numbers start at 0).
    const lowWater = Number(meta?.data.toString() || '0') || 0;
    const entries = (listed?.children ?? []).map((child) => ({ seq: seqOf(child), child })).filter((e) => e.seq >= 0).sort((a, c) => a.seq - c.seq);
    lastSeq ??= await startingPoint(b, entries, lowWater);
    const newest = Math.max(entries.at(-1)?.seq ?? -1, lowWater - 1);
    if (lastSeq + 1 < lowWater) {
      ctx.report.warn({ watch: 'jobs', missed_after: lastSeq, trimmed_below: lowWater }, 'zookeeper store: job changes were trimmed before this watch read them; re-reading every job');
      await resync(b);
      lastSeq = newest;
      return;
    }
    const fresh = entries.filter((e) => e.seq > (lastSeq as number));
    const values = await readMany(ctx, b, 'watchJobs', fresh.map((e) => `${l.changes}/${e.child}`));
    for (let i = 0; i < fresh.length; i++) {
      const v = values[i];
      if (!v) {
        // Trimmed between the listing and the read.
        await resync(b);
        lastSeq = newest;
        return;
      }
      const change = parseBody<{ name: string; job: Job | null }>(v.value, `job change "${fresh[i]?.child}"`);
      emit(change.job === null ? { type: 'delete', name: change.name } : { type: 'put', job: change.job });
      lastSeq = fresh[i]?.seq ?? lastSeq;
    }
  });

  pass();
  return () => subs.remove(sub);
}

/** Drops the oldest change-log entries beyond CHANGES_KEPT; the log's data becomes the low-water mark (lowest kept). */
export async function trimChanges(ctx: Ctx): Promise<void> {
  const l = ctx.l;
  const b = ctx.budget();
  const [meta, listed] = await Promise.all([ctx.s.getData(b, 'trimming job changes', l.changes), ctx.s.getChildren(b, 'trimming job changes', l.changes)]);
  if (meta === null || listed === null || listed.children.length <= CHANGES_KEPT + 100) return;
  const entries = listed.children.map((child) => ({ seq: seqOf(child), child })).filter((e) => e.seq >= 0).sort((a, c) => a.seq - c.seq);
  const victims = entries.slice(0, entries.length - CHANGES_KEPT);
  let version = meta.stat.version;
  for (let i = 0; i < victims.length; i += 1000) {
    const chunk = victims.slice(i, i + 1000);
    const below = (chunk.at(-1)?.seq ?? -1) + 1;
    const ops: Op[] = chunk.map((e): Op => ({ type: 'remove', path: `${l.changes}/${e.child}`, version: -1 }));
    // Versioned: of two agents trimming at once, one does it.
    ops.push({ type: 'set', path: l.changes, data: Buffer.from(String(below)), version });
    const res = await ctx.s.multi(b, 'trimming job changes', ops, false);
    if (!res.ok) return;
    version++;
  }
}
