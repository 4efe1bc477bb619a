/**
 * Scenario: `kairos apply -f DIR` of 100k job definitions (10 YAML files) into an empty embedded
 * agent, through the bulk endpoint in one request, then a second apply that changes nothing (the
 * diff path). The reference is the floor for the same rows: a bare Node script inserting 100k JSON
 * documents into a fresh SQLite file (WAL, one transaction) with better-sqlite3.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import Database from 'better-sqlite3';
import { startAgent, ROOT } from '../lib/agent.js';
import { removeDir, tempDir, trackProcess } from '../lib/cleanup.js';
import { jobDefinition } from '../lib/job-defs.js';

export interface ApplyOptions {
  jobs: number;
  log: (msg: string) => void;
}

export interface ApplyResult {
  jobs: number;
  files: number;
  /** Wall time of `kairos apply` creating every job (process start to exit). */
  createSeconds: number;
  /** A second apply of the same files: nothing to change. */
  unchangedSeconds: number;
  /** Bare better-sqlite3: the same number of JSON rows in one transaction. */
  referenceSeconds: number;
}

function kairos(args: string[]): Promise<{ code: number; seconds: number; stdout: string; stderr: string }> {
  const started = performance.now();
  const proc = trackProcess(spawn(process.execPath, [join(ROOT, 'bin', 'kairos.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d.length > 10_000 ? '' : d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code) => resolve({ code: code ?? -1, seconds: (performance.now() - started) / 1000, stdout, stderr }));
  });
}

function reference(jobs: number, dir: string): number {
  const defs = Array.from({ length: jobs }, (_, i) => jobDefinition(i, '2030-01-01T00:00:00Z'));
  const started = performance.now();
  const db = new Database(join(dir, 'ref.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE jobs (name TEXT PRIMARY KEY, body TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO jobs (name, body) VALUES (?, ?)');
  db.transaction(() => {
    for (const d of defs) insert.run(d.name, JSON.stringify(d));
  })();
  db.close();
  return (performance.now() - started) / 1000;
}

export async function runApply(o: ApplyOptions): Promise<ApplyResult> {
  const dir = tempDir('kairos-bench-apply-');
  const files = join(dir, 'jobs');
  mkdirSync(files);
  const perFile = Math.ceil(o.jobs / 10);
  const startsAt = new Date(Date.now() + 7 * 86400_000).toISOString();
  let fileCount = 0;
  for (let from = 0; from < o.jobs; from += perFile) {
    const docs = Array.from({ length: Math.min(perFile, o.jobs - from) }, (_, k) => stringify(jobDefinition(from + k, startsAt)));
    writeFileSync(join(files, `jobs-${String(fileCount++).padStart(2, '0')}.yaml`), docs.join('---\n'));
  }
  const agent = await startAgent({ dataDir: join(dir, 'data') });
  try {
    o.log(`apply: ${o.jobs} jobs in ${fileCount} YAML files`);
    const first = await kairos(['apply', '-f', files, '--address', agent.url]);
    if (first.code !== 0) throw new Error(`kairos apply exited ${first.code}: ${first.stderr.slice(0, 500)}`);
    const count = Number((await fetch(`${agent.url}/v1/jobs?_start=0&_end=1`)).headers.get('x-total-count'));
    if (count !== o.jobs) throw new Error(`apply stored ${count} jobs, expected ${o.jobs}`);
    const second = await kairos(['apply', '-f', files, '--address', agent.url]);
    if (second.code !== 0) throw new Error(`second kairos apply exited ${second.code}: ${second.stderr.slice(0, 500)}`);
    const round = (s: number): number => Math.round(s * 100) / 100;
    return { jobs: o.jobs, files: fileCount, createSeconds: round(first.seconds), unchangedSeconds: round(second.seconds), referenceSeconds: round(reference(o.jobs, dir)) };
  } finally {
    await agent.stop();
    removeDir(dir);
  }
}
