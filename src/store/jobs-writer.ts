/**
 * The JobsWriter of a store without one of its own: keeps the parts and writes them with
 * writeJobs at commit. A job put twice is written once, as last put (an etcd transaction may
 * not name a key twice).
 */
import type { Job } from '../job/types.js';
import type { AuditEntry, JobBatch, JobsWriter, Store } from './types.js';

class BufferedJobsWriter implements JobsWriter {
  private readonly jobs = new Map<string, Job>();
  private readonly audit: AuditEntry[] = [];

  constructor(private readonly store: Store) {}

  put(jobs: readonly Job[], audit: readonly AuditEntry[]): void {
    for (const job of jobs) {
      this.jobs.delete(job.name);
      this.jobs.set(job.name, job);
    }
    this.audit.push(...audit);
  }

  async commit(rest: JobBatch): Promise<void> {
    this.put(rest.put, rest.audit);
    for (const name of rest.delete) this.jobs.delete(name);
    if (this.jobs.size === 0 && rest.delete.length === 0) return;
    await this.store.writeJobs({ put: [...this.jobs.values()], delete: rest.delete, audit: this.audit });
  }

  async abort(): Promise<void> {
    this.jobs.clear();
    this.audit.length = 0;
  }
}

/** The store's own writer for a batch of about `expected` jobs, else one that buffers for writeJobs. */
export function jobsWriterOf(store: Store, expected: number): JobsWriter {
  return store.openJobsWriter?.(expected) ?? new BufferedJobsWriter(store);
}
