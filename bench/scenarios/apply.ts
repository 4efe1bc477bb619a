/**
 * Scenario: `kairos apply -f DIR` of 100k job definitions (10 YAML files) into an empty embedded
 * agent, through the bulk endpoint in one request, then a second apply that changes nothing (the
 * diff path); the same with the jobs as 10 JSON files, and the bulk endpoint alone (one POST of
 * the body the CLI sends), each on a fresh agent. The reference is the floor for the same rows: a
 * bare Node script inserting 100k JSON documents into a fresh SQLite file (WAL, one transaction)
 * with better-sqlite3.
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

export interface ApplyPair {
  /** Every job created on an empty agent (process start to exit for the CLI). */
  createSeconds: number;
  /** The same again: nothing changes. */
  unchangedSeconds: number;
}

export interface ApplyResult {
  jobs: number;
  files: number;
  /** `kairos apply -f DIR` of YAML files: what a user runs. */
  yaml: ApplyPair;
  /** The same jobs as JSON files: the CLI without YAML parsing. */
  json: ApplyPair;
  /** One POST /v1/jobs/bulk of the same jobs from this process (no CLI): the endpoint alone. */
  endpoint: ApplyPair;
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

const round = (sec: number): number => Math.round(sec * 100) / 100;

/** Two applies of `files` on a fresh agent: create, then unchanged. */
async function viaCli(files: string, jobs: number, dataDir: string, log: (msg: string) => void, label: string): Promise<ApplyPair> {
  const agent = await startAgent({ dataDir });
  try {
    const first = await kairos(['apply', '-f', files, '--address', agent.url]);
    if (first.code !== 0) throw new Error(`kairos apply (${label}) exited ${first.code}: ${first.stderr.slice(0, 500)}`);
    const count = Number((await fetch(`${agent.url}/v1/jobs?_start=0&_end=1`)).headers.get('x-total-count'));
    if (count !== jobs) throw new Error(`apply (${label}) stored ${count} jobs, expected ${jobs}`);
    const second = await kairos(['apply', '-f', files, '--address', agent.url]);
    if (second.code !== 0) throw new Error(`second kairos apply (${label}) exited ${second.code}: ${second.stderr.slice(0, 500)}`);
    if (!/0 created, 0 updated, 0 deleted, \d+ unchanged/.test(second.stdout)) throw new Error(`second apply (${label}) changed something: ${second.stdout.slice(-300)}`);
    log(`apply (${label}): create ${round(first.seconds)} s, unchanged ${round(second.seconds)} s`);
    return { createSeconds: round(first.seconds), unchangedSeconds: round(second.seconds) };
  } finally {
    await agent.stop();
  }
}

/** The bulk endpoint alone: the body as `kairos apply` sends it (stamped, detail "diff"), timed to the answer. */
async function viaEndpoint(body: string, dataDir: string, log: (msg: string) => void): Promise<ApplyPair> {
  const agent = await startAgent({ dataDir });
  try {
    const post = async (): Promise<number> => {
      const started = performance.now();
      const res = await fetch(`${agent.url}/v1/jobs/bulk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.text();
      if (res.status !== 200) throw new Error(`POST /v1/jobs/bulk answered ${res.status}`);
      return (performance.now() - started) / 1000;
    };
    const pair = { createSeconds: round(await post()), unchangedSeconds: round(await post()) };
    log(`apply (endpoint): create ${pair.createSeconds} s, unchanged ${pair.unchangedSeconds} s`);
    return pair;
  } finally {
    await agent.stop();
  }
}

export async function runApply(o: ApplyOptions): Promise<ApplyResult> {
  const dir = tempDir('kairos-bench-apply-');
  const yamlDir = join(dir, 'yaml');
  const jsonDir = join(dir, 'json');
  mkdirSync(yamlDir);
  mkdirSync(jsonDir);
  const perFile = Math.ceil(o.jobs / 10);
  const startsAt = new Date(Date.now() + 7 * 86400_000).toISOString();
  let fileCount = 0;
  const stamped: string[] = [];
  for (let from = 0; from < o.jobs; from += perFile) {
    const defs = Array.from({ length: Math.min(perFile, o.jobs - from) }, (_, k) => jobDefinition(from + k, startsAt));
    const name = `jobs-${String(fileCount++).padStart(2, '0')}`;
    writeFileSync(join(yamlDir, `${name}.yaml`), defs.map((d) => stringify(d)).join('---\n'));
    writeFileSync(join(jsonDir, `${name}.json`), JSON.stringify(defs));
    for (const d of defs) stamped.push(JSON.stringify({ ...d, metadata: { ...d.metadata, 'managed-by': 'kairos-apply' } }));
  }
  try {
    o.log(`apply: ${o.jobs} jobs in ${fileCount} YAML files, the same in ${fileCount} JSON files`);
    const yaml = await viaCli(yamlDir, o.jobs, join(dir, 'data-yaml'), o.log, 'YAML');
    const json = await viaCli(jsonDir, o.jobs, join(dir, 'data-json'), o.log, 'JSON');
    const endpoint = await viaEndpoint(`{"jobs":[${stamped.join(',')}],"prune":null,"dry_run":false,"detail":"diff"}`, join(dir, 'data-endpoint'), o.log);
    return { jobs: o.jobs, files: fileCount, yaml, json, endpoint, referenceSeconds: round(reference(o.jobs, dir)) };
  } finally {
    removeDir(dir);
  }
}
