/**
 * Kill -9 test of the embedded store: a child process writes as fast as it can
 * and acknowledges each resolved write on stdout; after SIGKILL every
 * acknowledged write must be readable and intact.
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
import { COUNTER_JOB, writerExecution, writerJob } from '../helpers/store-writer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WRITER = path.join(ROOT, 'test/helpers/store-writer.ts');
const ACKS_PER_CYCLE = 300;
const CYCLES = 3;
/** Upper bound for one cycle (startup + acks), so a wedged child fails the test instead of hanging it. */
const CYCLE_TIMEOUT_MS = 15_000;

interface Acks {
  jobs: string[];
  execs: string[];
}

/** Runs the writer until it has acknowledged `want` writes, then SIGKILLs it. */
function runAndKill(file: string, cycle: number, want: number): Promise<Acks> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, file, String(cycle)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks: Acks = { jobs: [], execs: [] };
    let pending = '';
    let stderr = '';
    let killed = false;

    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`writer cycle ${cycle}: only ${acks.jobs.length + acks.execs.length} acks in time\n${stderr}`));
    }, CYCLE_TIMEOUT_MS);

    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      // Only newline-terminated lines count: a line cut by the kill is not an ack.
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const [word, kind, key] = line.split(' ');
        if (word !== 'ack' || key === undefined) continue;
        if (kind === 'job') acks.jobs.push(key);
        else if (kind === 'exec') acks.execs.push(key);
      }
      // Lines already in the pipe after the kill are still acks and are kept.
      if (!killed && acks.jobs.length + acks.execs.length >= want) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`writer cycle ${cycle} ended by itself (code ${code}, signal ${signal})\n${stderr}`));
        return;
      }
      resolve(acks);
    });
  });
}

function indexOf(execId: string): number {
  const i = Number(execId.split('-').at(-1));
  assert.ok(Number.isInteger(i), `bad exec id ${execId}`);
  return i;
}

async function verify(file: string, acked: Acks): Promise<void> {
  const store = SqliteStore.open(file);
  try {
    for (const name of acked.jobs) {
      assert.deepEqual(await store.getJob(name), writerJob(name), `acked job ${name}`);
    }
    for (const id of acked.execs) {
      assert.deepEqual(await store.getExecution(COUNTER_JOB, id), writerExecution(id, indexOf(id)), `acked exec ${id}`);
    }
    // completeExecution is atomic: the counter moved exactly once per stored execution,
    // including a last one that committed but was not acknowledged before the kill.
    const counter = await store.getJob(COUNTER_JOB);
    const { total } = await store.listExecutions(COUNTER_JOB, { end: 0 });
    assert.equal(counter?.success_count, total);
    assert.ok(total >= acked.execs.length && total <= acked.execs.length + 1, `total ${total}`);
    // listJobs parses every stored body: no torn JSON anywhere.
    const jobs = await store.listJobs();
    assert.ok(jobs.length >= acked.jobs.length + 1);
  } finally {
    await store.close();
  }
  const raw = new Database(file);
  try {
    assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
  } finally {
    raw.close();
  }
}

void test('acknowledged writes survive kill -9 of the writer, over repeated crashes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-crash-'));
  try {
    const file = path.join(dir, 'kairos.db');
    const acked: Acks = { jobs: [], execs: [] };
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const got = await runAndKill(file, cycle, ACKS_PER_CYCLE);
      assert.ok(got.jobs.length + got.execs.length >= ACKS_PER_CYCLE);
      acked.jobs.push(...got.jobs);
      acked.execs.push(...got.execs);
      // Every earlier cycle's acks too: a later crash must not lose older writes.
      await verify(file, acked);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
