/**
 * Large bulk writes on the embedded store go through its writer thread (sqlite-bulk-writer.ts):
 * parts are written while later jobs are validated, so a problem found late must roll all of it
 * back, a failure on the thread must reach the caller, and kill -9 in the middle must leave each
 * batch whole or absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/backends/embedded/sqlite-store.js';
import { BULK_THREAD_MIN_JOBS } from '../../src/backends/embedded/sqlite-bulk-writer.js';
import { applyBulk, BulkValidationError } from '../../src/core/bulk.js';
import { SYSTEM_ACTOR } from '../../src/core/audit.js';
import { KairosError } from '../../src/core/errors.js';
import type { JobEvent } from '../../src/store/types.js';
import { bulkExecutors, bulkJob } from '../helpers/bulk-jobs.js';
import { writerExecution } from '../helpers/store-writer.js';
import { jobsWriterCase } from '../contract/jobs-cases.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const N = BULK_THREAD_MIN_JOBS * 2 + 123;
const executors = bulkExecutors();

function tempStore(options: { busyTimeoutMs?: number } = {}): { store: SqliteStore; file: string; dir: string; events: JobEvent[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-bulk-writer-'));
  const file = path.join(dir, 'kairos.db');
  const store = SqliteStore.open(file, { checkpointThread: false, ...options });
  const events: JobEvent[] = [];
  store.watchJobs((e) => events.push(e));
  return { store, file, dir, events };
}

const many = (prefix: string, n = N): Record<string, unknown>[] => Array.from({ length: n }, (_v, i) => bulkJob(`${prefix}-${i}`));

test('a large bulk write lands whole: every job, its audit entry and its event, read back from a second connection', async () => {
  const { store, file, dir, events } = tempStore();
  try {
    const result = await applyBulk(store, executors, { maxJobs: 0 }, { jobs: many('w'), label: 'managed-by=kairos-apply' }, SYSTEM_ACTOR);
    assert.equal(result.created.length, N);
    assert.equal(await store.countJobs(), N);
    assert.equal(events.filter((e) => e.type === 'put').length, N);
    const job = await store.getJob(`w-${N - 1}`);
    assert.deepEqual(job?.metadata, { team: 'bulk', 'managed-by': 'kairos-apply' }, 'the request label is stamped');
    assert.equal((await store.listAudit({ start: 0, end: 1 })).total, N);
    assert.equal((await store.listAudit({ job: 'w-17' })).items[0]?.action, 'job.create');
    // Durable in the file, with the timing column the scheduler loads.
    const other = new Database(file, { readonly: true });
    try {
      assert.equal(other.prepare('SELECT count(*) FROM jobs WHERE timing IS NOT NULL').pluck().get(), N);
    } finally {
      other.close();
    }
    // Unchanged the second time: no thread, nothing written.
    const again = await applyBulk(store, executors, { maxJobs: 0 }, { jobs: many('w'), label: 'managed-by=kairos-apply' }, SYSTEM_ACTOR);
    assert.equal(again.unchanged.length, N);
    assert.equal(events.length, N);
    // Prune of thousands: the deletes go through the thread too, with each job's executions.
    for (const name of ['w-5', 'w-500']) await store.putExecution({ ...writerExecution(`${name}-run`, 0), job_name: name });
    const pruned = await applyBulk(store, executors, { maxJobs: 0 }, { jobs: many('w', 10), label: 'managed-by=kairos-apply', prune: { label: 'managed-by=kairos-apply' } }, SYSTEM_ACTOR);
    assert.equal(pruned.deleted.length, N - 10);
    assert.equal(await store.countJobs(), 10);
    assert.equal(events.filter((e) => e.type === 'delete').length, N - 10);
    assert.equal((await store.listExecutions('w-5')).total, 1, 'a kept job keeps its executions');
    assert.equal((await store.listExecutions('w-500')).total, 0, "a pruned job's executions go with it");
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the JobsWriter contract case, through the writer thread', async () => {
  const { store, dir } = tempStore();
  try {
    const probe = store.openJobsWriter(BULK_THREAD_MIN_JOBS);
    assert.notEqual(probe, null, 'a thread for this many');
    await probe?.abort();
    await jobsWriterCase(store, BULK_THREAD_MIN_JOBS);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a problem found after parts were written rolls all of them back', async () => {
  const { store, dir, events } = tempStore();
  try {
    await applyBulk(store, executors, { maxJobs: 0 }, { jobs: [bulkJob('kept')] }, SYSTEM_ACTOR);
    const before = events.length;
    // The last job is invalid: every part before it went to the thread already.
    const badLast = [...many('a'), bulkJob('zz', { schedule: 'every tuesday' })];
    await assert.rejects(applyBulk(store, executors, { maxJobs: 0 }, { jobs: badLast }, SYSTEM_ACTOR), (err: unknown) => err instanceof BulkValidationError && err.errors.length === 1 && err.errors[0]?.index === N);
    // A parent missing, found only once every job is known.
    const orphan = [...many('b'), bulkJob('child', { schedule: '', parent_job: 'ghost' })];
    await assert.rejects(applyBulk(store, executors, { maxJobs: 0 }, { jobs: orphan }, SYSTEM_ACTOR), (err: unknown) => err instanceof BulkValidationError && err.errors[0]?.field === 'parent_job');
    // Over --max-jobs, decided at the end.
    await assert.rejects(applyBulk(store, executors, { maxJobs: N }, { jobs: many('c') }, SYSTEM_ACTOR), (err: unknown) => err instanceof KairosError && err.code === 'KAIROS_LIMIT_MAX_JOBS');
    assert.equal(await store.countJobs(), 1, 'nothing of the three requests was written');
    assert.equal((await store.listAudit({ start: 0, end: 1 })).total, 1);
    assert.equal(events.length, before, 'no events');
    // The store writes as before.
    const ok = await applyBulk(store, executors, { maxJobs: 0 }, { jobs: many('d') }, SYSTEM_ACTOR);
    assert.equal(ok.created.length, N);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a write lock the thread cannot get fails the request with the reason, and writes nothing', async () => {
  const { store, file, dir, events } = tempStore({ busyTimeoutMs: 200 });
  const other = new Database(file);
  try {
    other.exec('BEGIN IMMEDIATE');
    await assert.rejects(applyBulk(store, executors, { maxJobs: 0 }, { jobs: many('l') }, SYSTEM_ACTOR), /bulk write failed: database is locked/);
    other.exec('ROLLBACK');
    assert.equal(await store.countJobs(), 0);
    assert.equal(events.length, 0);
    const ok = await applyBulk(store, executors, { maxJobs: 0 }, { jobs: many('l') }, SYSTEM_ACTOR);
    assert.equal(ok.created.length, N);
  } finally {
    other.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('kill -9 during large bulk writes: every acknowledged batch is whole, any other batch whole or absent', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-bulk-kill-'));
  const file = path.join(dir, 'kairos.db');
  // Several parts per batch (applyBulk hands 2000 jobs at a time to the thread).
  const per = 6500;
  try {
    await SqliteStore.open(file, { checkpointThread: false }).close();
    let acked = -1;
    const delays = [100, 300, 500, 700, 900];
    for (let cycle = 0; cycle < delays.length; cycle++) {
      // Killed a varying time after the first ack: in the next batch's validation, its thread's inserts or its commit.
      const delayMs = delays[cycle] as number;
      acked = Math.max(acked, await runAndKill(file, per, delayMs, cycle));
      const db = new Database(file, { readonly: true });
      try {
        const counts = db.prepare("SELECT substr(name, 1, instr(name, '-') - 1) AS batch, count(*) AS n FROM jobs GROUP BY batch").all() as { batch: string; n: number }[];
        const audits = db.prepare("SELECT substr(job, 1, instr(job, '-') - 1) AS batch, count(*) AS n FROM audit GROUP BY batch").all() as { batch: string; n: number }[];
        for (const c of counts) assert.equal(c.n, per, `batch ${c.batch} is whole (cycle ${cycle})`);
        assert.deepEqual(audits, counts, 'each batch has its audit entries, no more');
      } finally {
        db.close();
      }
    }
    assert.ok(acked >= 0, 'the child acknowledged batches');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs the child until its first ack, kills it `delayMs` later; returns the batch it acknowledged last. */
function runAndKill(file: string, per: number, delayMs: number, cycle: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/helpers/bulk-writer-child.ts'), file, String(per), `c${cycle}`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let last = -1;
    let stderr = '';
    let pending = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cycle ${cycle}: no ack within 60 s\n${stderr}`));
    }, 60_000);
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^ack (\d+)$/.exec(line);
        if (!m) continue;
        if (last < 0) setTimeout(() => child.kill('SIGKILL'), delayMs);
        last = Number(m[1]);
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(last);
    });
  });
}
