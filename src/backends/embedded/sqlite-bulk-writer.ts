/**
 * The embedded store's JobsWriter for large bulk writes: the rows go to a thread with its own
 * connection to the file, which inserts them inside one transaction while the agent's thread
 * validates and serialises the next part. At 100k jobs the inserts and the commit were about
 * 6 s on the agent's thread after ~4 s of validation; now the two overlap on two cores.
 *
 * commit() blocks the calling thread (Atomics.wait) until the thread has committed, as the
 * single synchronous transaction did before: nothing else on the agent's thread can try to write
 * while the thread holds the write lock, which would wait on busy_timeout for a lock that the
 * waiting thread itself keeps from being released. Until the first part arrives the thread holds
 * nothing; a failure on the thread (a busy lock, a full disk) is reported by commit, and abort
 * rolls everything back.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { Job } from '../../job/types.js';
import type { AuditEntry, JobBatch, JobsWriter } from '../../store/types.js';
import { JOB_SQL, timingOf } from './job-rows.js';
import { INSERT_AUDIT_SQL } from './sqlite-admin.js';
import { DELETE_JOB_SKIPS_SQL } from './sqlite-skips.js';

/** A batch this small is written on the agent's thread: starting the thread costs ~50 ms. */
export const BULK_THREAD_MIN_JOBS = 2000;
/**
 * How long commit waits for the thread while it makes no progress (each part it writes is
 * progress) before giving up on it (its transaction then rolls back): the thread may have died.
 */
const STALL_MS = 120_000;

// CommonJS evaluated in the worker, as the checkpoint thread's (wal-checkpointer.ts).
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { file, sql, busyTimeoutMs, checkpointAfter, signal, port, results } = workerData;
const state = new Int32Array(signal);
let db = null;
let st = null;
let failure = null;
let Database = null;
try {
  Database = require(workerData.driver);
} catch (err) {
  failure = 'cannot load the SQLite driver: ' + String((err && err.message) || err);
}
const begin = () => {
  db = new Database(file, { fileMustExist: true });
  db.pragma('busy_timeout = ' + busyTimeoutMs);
  db.pragma('synchronous = FULL');
  db.pragma('fullfsync = ON');
  db.pragma('foreign_keys = ON');
  // The commit only syncs the WAL; copying it into the file is left to a checkpoint (below, or
  // the store's checkpoint thread), so the waiting agent is released as soon as it is durable.
  db.pragma('wal_autocheckpoint = 0');
  st = {};
  for (const [k, text] of Object.entries(sql)) st[k] = db.prepare(text);
  db.exec('BEGIN IMMEDIATE');
};
const finish = (outcome) => {
  results.postMessage(outcome);
  Atomics.store(state, 0, 1);
  Atomics.notify(state, 0);
  try {
    if (outcome.ok && checkpointAfter && db) db.pragma('wal_checkpoint(PASSIVE)');
  } catch {}
  try {
    if (db) db.close();
  } catch {}
  port.close();
  results.close();
};
port.on('message', (m) => {
  const deleted = [];
  try {
    if (failure === null) {
      if (db === null) begin();
      for (const r of m.jobs) st.put.run(r[0], r[1], r[2]);
      for (const a of m.audit) st.audit.run(a[0], a[1], a[2]);
      for (const name of m.delete || []) {
        if (st.delete.run(name).changes > 0) deleted.push(name);
        st.deleteExecutions.run(name);
        st.deleteTick.run(name);
        st.deleteSkips.run(name);
      }
    }
  } catch (err) {
    failure = String((err && err.message) || err);
    try {
      if (db && db.inTransaction) db.exec('ROLLBACK');
    } catch {}
  }
  Atomics.add(state, 1, 1);
  if (!m.end) return;
  if (failure !== null) return finish({ ok: false, error: failure });
  try {
    if (m.end === 'commit') {
      if (db === null) begin();
      db.exec('COMMIT');
    } else if (db && db.inTransaction) db.exec('ROLLBACK');
    finish({ ok: true, deleted });
  } catch (err) {
    try {
      if (db && db.inTransaction) db.exec('ROLLBACK');
    } catch {}
    finish({ ok: false, error: String((err && err.message) || err) });
  }
});
`;

interface Outcome {
  ok: boolean;
  deleted?: string[];
  error?: string;
}

export interface BulkWriterOptions {
  file: string;
  busyTimeoutMs: number;
  /** No checkpoint thread runs: checkpoint once committed (on the writer thread, after releasing the agent). */
  checkpointAfter: boolean;
  /** After the commit, on the caller's thread: the jobs written (last version of each) and the names deleted. */
  committed: (put: Job[], deleted: string[]) => void;
}

export class SqliteBulkWriter implements JobsWriter {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly results: MessagePort;
  /** [0]: 1 once the outcome is posted; [1]: parts written so far. */
  private readonly state = new Int32Array(new SharedArrayBuffer(8));
  private readonly jobs = new Map<string, Job>();
  private ended = false;

  constructor(private readonly options: BulkWriterOptions) {
    const parts = new MessageChannel();
    const results = new MessageChannel();
    this.port = parts.port1;
    this.results = results.port1;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const sql = { ...JOB_SQL, audit: INSERT_AUDIT_SQL, deleteSkips: DELETE_JOB_SKIPS_SQL };
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file: options.file, driver, sql, busyTimeoutMs: options.busyTimeoutMs, checkpointAfter: options.checkpointAfter, signal: this.state.buffer, port: parts.port2, results: results.port2 },
      transferList: [parts.port2, results.port2],
    });
    // Its outcome travels through the shared word and the results port, never through events.
    this.worker.on('error', () => {});
    this.worker.unref();
  }

  put(jobs: readonly Job[], audit: readonly AuditEntry[]): void {
    if (this.ended) throw new Error('bulk writer: put after commit or abort');
    if (jobs.length === 0 && audit.length === 0) return;
    for (const job of jobs) {
      this.jobs.delete(job.name);
      this.jobs.set(job.name, job);
    }
    this.port.postMessage({
      jobs: jobs.map((j) => [j.name, JSON.stringify(j), timingOf(j)]),
      audit: audit.map((a) => [a.id, a.job, JSON.stringify(a)]),
    });
  }

  async commit(rest: JobBatch): Promise<void> {
    this.put(rest.put, rest.audit);
    for (const name of rest.delete) this.jobs.delete(name);
    const outcome = this.end('commit', rest.delete);
    if (!outcome.ok) throw new Error(`bulk write failed: ${outcome.error ?? 'unknown error'}`);
    this.options.committed([...this.jobs.values()], outcome.deleted ?? []);
  }

  async abort(): Promise<void> {
    if (this.ended) return;
    this.end('abort', []);
  }

  private end(how: 'commit' | 'abort', deletes: string[]): Outcome {
    this.ended = true;
    this.port.postMessage({ jobs: [], audit: [], delete: deletes, end: how });
    let progress = Atomics.load(this.state, 1);
    let since = Date.now();
    while (Atomics.wait(this.state, 0, 0, 1000) === 'timed-out') {
      const now = Atomics.load(this.state, 1);
      if (now !== progress) {
        progress = now;
        since = Date.now();
      } else if (Date.now() - since > STALL_MS) break;
    }
    const outcome = receiveMessageOnPort(this.results)?.message as Outcome | undefined;
    this.port.close();
    this.results.close();
    if (outcome === undefined) {
      void this.worker.terminate();
      return { ok: false, error: `the writer thread made no progress for ${STALL_MS / 1000} s` };
    }
    return outcome;
  }
}
