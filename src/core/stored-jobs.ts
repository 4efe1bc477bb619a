/**
 * What a bulk write reads of the stored jobs: the jobs it names, and the parents and ancestors it
 * checks, one read each. Every stored job only when it must see them all (a prune looks for each
 * job carrying its label) or when it names a good share of them anyway (one scan is cheaper than
 * that many key reads). A 50k-job apply into a million stored jobs read and parsed all million
 * before: 41 s per 100k instead of 17 s into an empty store.
 */
import type { Job } from '../job/types.js';
import type { Store } from '../store/types.js';

/** Names × this ≥ stored jobs: scan them all instead. */
const SCAN_RATIO = 4;
/** Key reads in flight at once (etcd batches one event-loop turn's reads into transactions). */
const READ_SLICE = 5000;

export class StoredJobs {
  private readonly jobs = new Map<string, Job | null>();

  private constructor(
    private readonly store: Store,
    /** Every stored job is in `jobs`: an absent name is no job. */
    private readonly complete: boolean,
    private total: number | null,
  ) {}

  static async read(store: Store, names: readonly string[], everything: boolean): Promise<StoredJobs> {
    if (!everything) {
      const total = await store.countJobs();
      if (names.length * SCAN_RATIO < total) {
        const view = new StoredJobs(store, false, total);
        await view.load(names);
        return view;
      }
    }
    const view = new StoredJobs(store, true, null);
    for (const job of await store.listJobs()) view.jobs.set(job.name, job);
    view.total = view.jobs.size;
    return view;
  }

  /** A job read already (by `read` or `load`); null when absent. */
  known(name: string): Job | null {
    return this.jobs.get(name) ?? null;
  }

  async get(name: string): Promise<Job | null> {
    if (!this.complete && !this.jobs.has(name)) await this.load([name]);
    return this.known(name);
  }

  /** Reads the named jobs not read yet ('' and null skipped), a slice at a time. */
  async load(names: Iterable<string | null | undefined>): Promise<void> {
    if (this.complete) return;
    const missing = [...new Set(names)].filter((n): n is string => !!n && !this.jobs.has(n));
    for (let i = 0; i < missing.length; i += READ_SLICE) {
      const slice = missing.slice(i, i + READ_SLICE);
      const found = await Promise.all(slice.map((n) => this.store.getJob(n)));
      slice.forEach((n, k) => this.jobs.set(n, found[k] ?? null));
    }
  }

  /** Every stored job; only after `read(…, everything = true)` or a scan it chose. */
  all(): Iterable<Job> {
    if (!this.complete) throw new Error('StoredJobs.all() on a partial read');
    return [...this.jobs.values()].filter((j): j is Job => j !== null);
  }

  /** Stored jobs when read (a scan's size, or the count taken before the key reads). */
  async count(): Promise<number> {
    this.total ??= await this.store.countJobs();
    return this.total;
  }
}
