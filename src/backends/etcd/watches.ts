/**
 * Watches: the job watch (watchJobs) and the machinery every watch of the
 * store shares (the assignment queue's too): subscriptions that close() can
 * cancel, and the handling of lost, resumed and cancelled watch streams.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import type { Job } from '../../job/types.js';
import type { JobEvent } from '../../store/types.js';
import { messageOf, type StoreReport } from '../../store/kv-shared.js';
import { pause } from '../../util/retry.js';
import { JOB_PAGE, parseBody, type EtcdCalls } from './calls.js';
import { JOBS } from './keys.js';

/** A live watch subscription (watchJobs or consumeAssignments). */
export interface Subscription {
  stopped: boolean;
  readonly abort: AbortController;
  watcher: Watcher | null;
  /** Set after a disconnect so the next 'connected' is reported (and acted on) once. */
  disconnected: boolean;
}

export class Watches {
  private readonly subscriptions = new Set<Subscription>();

  constructor(
    private readonly calls: EtcdCalls,
    private readonly report: StoreReport,
  ) {}

  watchJobs(listener: (event: JobEvent) => void): () => void {
    if (this.calls.closed) return () => undefined;
    const sub = this.subscribe();
    // Names this subscription has reported present: after a compaction gap, those now absent get a delete.
    const known = new Set<string>();
    // Replaying from the last revision this store saw means nothing written after any read the caller
    // makes next is missed; events it already saw come again, in order, which listeners tolerate.
    const floor = this.calls.revision;
    // With none seen yet, the replies that arrive while the watch is set up bound it instead.
    const sighting = floor > 0n ? null : this.calls.sightRevisions();

    const emit = (event: JobEvent): void => {
      if (sub.stopped) return;
      try {
        listener(event);
      } catch (err) {
        this.report.listenerError(err);
      }
    };

    const resync = async (): Promise<bigint> => {
      const { kvs, revision } = await this.calls.scan(this.calls.budget(), 'watchJobs', JOBS, JOB_PAGE);
      const present = new Set<string>();
      for (const kv of kvs) {
        const name = this.calls.rel(kv.key).slice(JOBS.length);
        present.add(name);
        known.add(name);
        emit({ type: 'put', job: parseBody<Job>(kv.value, `job "${name}"`) });
      }
      for (const name of [...known]) {
        if (present.has(name)) continue;
        known.delete(name);
        emit({ type: 'delete', name });
      }
      return revision;
    };

    const start = async (afterGap: boolean): Promise<void> => {
      let delay = 100;
      while (!sub.stopped) {
        try {
          let revision: bigint;
          if (afterGap) revision = await resync();
          else {
            const seed = await this.calls.scan(this.calls.budget(), 'watchJobs', JOBS, JOB_PAGE, true);
            for (const kv of seed.kvs) known.add(this.calls.rel(kv.key).slice(JOBS.length));
            // With nothing read through this store yet: "now", or earlier when a reply the caller got
            // meanwhile was older (its write, next, must not fall before the watch's start). A blind
            // write made at once is the one case this can't cover.
            const seen = sighting?.lowest() ?? null;
            sighting?.stop();
            revision = floor > 0n ? floor : seen !== null && seen - 1n < seed.revision ? seen - 1n : seed.revision;
          }
          if (sub.stopped) return;
          const from = revision + 1n;
          const watcher = this.calls.ns
            .watch()
            .prefix(JOBS)
            .startRevision(from.toString())
            // watcher() rather than create(): see consumeAssignments (queue.ts).
            .watcher();
          sub.watcher = watcher;
          watcher.on('put', (kv: IKeyValue) => {
            try {
              const name = kv.key.toString().slice(JOBS.length);
              known.add(name);
              emit({ type: 'put', job: parseBody<Job>(kv.value, `job "${name}"`) });
            } catch (err) {
              this.report.warn({ err: messageOf(err) }, 'etcd store: ignoring an unreadable job in the watch');
            }
          });
          watcher.on('delete', (kv: IKeyValue) => {
            const name = kv.key.toString().slice(JOBS.length);
            known.delete(name);
            emit({ type: 'delete', name });
          });
          this.watchHealth(sub, watcher, from, 'jobs', () => undefined, () => {
            this.report.background(start(true), 'restarting the job watch');
          });
          return;
        } catch (err) {
          if (sub.stopped) return;
          this.report.warn({ err: messageOf(err), retry_ms: delay }, 'etcd store: cannot start the job watch; retrying');
          if (!(await pause(delay, sub.abort.signal))) return;
          delay = Math.min(delay * 2, 2000);
        }
      }
    };

    this.report.background(start(false), 'starting the job watch');
    return () => {
      sighting?.stop();
      this.report.background(this.unsubscribe(sub), 'cancelling the job watch');
    };
  }

  /** Stops every subscription: the store's close() detaches them before the client closes. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => this.unsubscribe(s)));
  }

  subscribe(): Subscription {
    const sub: Subscription = { stopped: false, abort: new AbortController(), watcher: null, disconnected: false };
    this.subscriptions.add(sub);
    return sub;
  }

  async unsubscribe(sub: Subscription): Promise<void> {
    if (sub.stopped) return;
    sub.stopped = true;
    sub.abort.abort();
    this.subscriptions.delete(sub);
    const watcher = sub.watcher;
    sub.watcher = null;
    if (watcher === null) return;
    // etcd3 waits for the server to confirm a cancel; with the stream down that can take a reconnect.
    const timer = new AbortController();
    await Promise.race([
      watcher.cancel().catch(() => undefined),
      sleep(this.calls.callTimeoutMs, undefined, { signal: timer.signal }).catch(() => undefined),
    ]);
    timer.abort();
  }

  /**
   * Wires a watcher's connection events: a lost stream is logged once and
   * `onResumed` runs when it is back; a watcher etcd cancelled (its start
   * revision was compacted, typically) is dead, so `onDead` builds a new one.
   *
   * It also fixes where a reconnect resumes. etcd3 moves the resume point to
   * the header revision of every response, but a replay after a reconnect
   * comes in several responses that all carry the *current* revision: a
   * second disconnect mid-replay would skip the rest. Here the resume point
   * is one past the last event actually delivered (or an idle watch's
   * progress notification).
   */
  watchHealth(
    sub: Subscription,
    watcher: Watcher,
    startRevision: bigint,
    what: string,
    onResumed: () => void,
    onDead: () => void,
  ): void {
    let delivered = startRevision - 1n;
    watcher.on('data', (res: IWatchResponse) => {
      for (const event of res.events) {
        const rev = BigInt(event.kv.mod_revision);
        if (rev > delivered) delivered = rev;
      }
      // An empty response that is neither a creation nor a cancellation is a progress
      // notification, which etcd sends only to a watcher that has caught up.
      if (res.events.length === 0 && !res.created && !res.canceled) {
        const rev = BigInt(res.header.revision);
        if (rev > delivered) delivered = rev;
      }
    });
    watcher.on('connecting', () => {
      // etcd3 emits this just before sending watcher.request, so the change goes out with it.
      watcher.request.start_revision = (delivered + 1n).toString();
    });
    watcher.on('disconnected', (err: Error) => {
      if (sub.stopped || sub.disconnected) return;
      sub.disconnected = true;
      this.report.warn({ watch: what, err: messageOf(err) }, 'etcd store: watch disconnected; reconnecting');
    });
    watcher.on('connected', () => {
      if (sub.stopped || !sub.disconnected) return;
      sub.disconnected = false;
      this.report.info({ watch: what }, 'etcd store: watch reconnected');
      onResumed();
    });
    watcher.on('error', (err: Error) => {
      if (sub.stopped || sub.watcher !== watcher) return;
      sub.watcher = null;
      this.report.warn({ watch: what, err: messageOf(err) }, 'etcd store: watch cancelled by etcd; re-listing and watching again');
      onDead();
    });
  }
}
