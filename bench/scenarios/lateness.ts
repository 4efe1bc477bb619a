/**
 * Scenario 1: how late do scheduled runs start? 20 jobs `@every 1s` on one
 * agent with the embedded store, with 100k more jobs defined that never fire
 * during the run (BENCH_LATENESS_BACKGROUND), then the bare-Node reference
 * spawner doing the same spawns at the same kind of instants — one after the
 * other, so they never compete for the cores.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { AgentError, startAgent, apiOk, postBulk, ROOT, type AgentHandle } from '../lib/agent.js';
import { removeDir, tempDir, trackProcess } from '../lib/cleanup.js';
import { jobDefinition } from '../lib/job-defs.js';
import { inWindow, parseProbeLines, probeCommand } from '../lib/lateness-probe.js';
import { ratio, summarize, type Summary } from '../lib/stats.js';
import { machineCpu, otherCores, procCpuTicks, sleep, treeCpuTicks, type PhaseConditions } from '../lib/system.js';
import type { ReferenceReport } from '../reference-spawner.js';

export interface LatenessOptions {
  jobs: number;
  seconds: number;
  log: (msg: string) => void;
  /** Called before each side starts; may wait for a quiet machine, and reports the conditions. */
  settle: () => Promise<PhaseConditions>;
  /**
   * Job definitions stored besides the measured ones, none due during the run: the agent's size
   * (heap, and the page tables every fork copies) when it spawns. Default: env
   * BENCH_LATENESS_BACKGROUND, else 100000.
   */
  background?: number;
  /** The agent's `--spawners`; null: its default (one per core). Default: env BENCH_SPAWNERS. */
  spawners?: number | null;
}

/** Background jobs per POST /v1/jobs/bulk (the endpoint takes 128 MiB of body). */
const BACKGROUND_CHUNK = 50_000;

export interface RunFigures {
  before: PhaseConditions;
  /** Cores' worth of CPU other processes used during the run (see otherCores). */
  otherCoresDuring: number;
  expected: number;
  /** Runs whose probe line was written, within the window. */
  observed: number;
  /** Process-start lateness: `date` in the job − scheduled instant, ms. */
  start: Summary;
  /**
   * Dispatch lateness, ms: Kairos execution started_at − scheduled_at (set just before the
   * executor spawns); reference timer callback − scheduled (before its first spawn()).
   */
  dispatch: Summary;
}

export interface LatenessResult {
  jobs: number;
  seconds: number;
  /** Other job definitions the agent held (see LatenessOptions.background). */
  background?: number;
  /** The agent's --spawners, null for its default. */
  spawners?: number | null;
  kairos: KairosFigures;
  reference: ReferenceFigures;
  ratio: { start: Ratios; dispatch: Ratios };
}

export interface Ratios {
  p50: number | null;
  p99: number | null;
  max: number | null;
}

/** Lines an agent logs when a tick did not run as planned (expected: none). */
export const MISSED_TICKS = /missed ticks not run|run skipped|dispatch failed/;

/** a ÷ b per percentile. */
export function ratios(a: Summary, b: Summary): Ratios {
  return { p50: ratio(a.p50, b.p50), p99: ratio(a.p99, b.p99), max: ratio(a.max, b.max) };
}

interface ExecutionRecord {
  scheduled_at: string;
  started_at: string;
  trigger: string;
}

/** Polls until the probe file holds `expected` in-window lines or `timeoutMs` passes. */
async function waitForProbeLines(file: string, t0: number, seconds: number, expected: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(file)) {
      const { lines } = parseProbeLines(readFileSync(file, 'utf8'));
      if (lines.filter((l) => inWindow(l.scheduledMs, t0, seconds)).length >= expected) return;
    }
    await sleep(200);
  }
}

function probeFigures(file: string, t0: number, seconds: number): { observed: number; start: Summary; malformed: number } {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const { lines, malformed } = parseProbeLines(text);
  const inside = lines.filter((l) => inWindow(l.scheduledMs, t0, seconds));
  return { observed: inside.length, start: summarize(inside.map((l) => l.latenessMs)), malformed };
}

export type KairosFigures = RunFigures & { executionsRecorded: number; missedTicksLogged: number };
export type ReferenceFigures = RunFigures & { failed: number; spawnCall: Summary };

/** Where the lateness jobs run: one agent (scenario 1) or a whole cluster (etcd scenario). */
export interface LatenessTarget {
  /** Any agent's API: jobs are created and their executions read through it. */
  url: string;
  /** Tags the jobs carry (the etcd scenario sends them to its worker). */
  tags?: Record<string, string>;
  /** From the creation of the jobs to their first tick: the jobs must reach the scheduler first. */
  leadMs: number;
  /** CPU ticks used so far by everything the bench runs for this side (see otherCores). */
  ownCpuTicks: () => number;
  /** Missed-tick, skipped-run and failed-dispatch log lines since the target was started. */
  missedTicks: () => number;
  /** For the error when nothing ran. */
  logs: () => readonly string[];
  log: (msg: string) => void;
}

/**
 * The measurement proper, shared by scenario 1 and the etcd scenario: creates `jobs` jobs
 * `@every 1s` ticking together on whole seconds, waits them out, and reads the probe file and the
 * execution records. Starting and stopping the agents is the caller's.
 */
export async function measureKairos(
  target: LatenessTarget,
  jobs: number,
  seconds: number,
  dir: string,
  before: PhaseConditions,
): Promise<KairosFigures> {
  const probeFile = join(dir, 'kairos-probe.log');
  // An `@every` job's first run is at starts_at and its phase follows from it, so all jobs tick
  // on the same whole seconds, like the reference; expires_at ends the run without a delete.
  const t0 = Math.ceil((Date.now() + target.leadMs) / 1000) * 1000;
  for (let j = 0; j < jobs; j++) {
    await apiOk(target.url, 'POST', '/v1/jobs', {
      name: `lateness-${j}`,
      schedule: '@every 1s',
      executor: 'shell',
      executor_config: { command: probeCommand(probeFile), shell: 'true' },
      ...(target.tags ? { tags: target.tags } : {}),
      starts_at: new Date(t0 + 1000).toISOString(),
      expires_at: new Date(t0 + seconds * 1000).toISOString(),
      history_limit: seconds + 10,
    }, 201);
  }
  if (Date.now() > t0) throw new Error(`creating the lateness jobs took longer than the ${target.leadMs} ms lead time`);
  target.log(`${jobs} jobs created; ticks from ${new Date(t0 + 1000).toISOString()} for ${seconds} s`);
  const expected = jobs * seconds;
  const cpuFrom = machineCpu();
  const ownFrom = target.ownCpuTicks();
  await sleep(t0 + seconds * 1000 - Date.now());
  await waitForProbeLines(probeFile, t0, seconds, expected, 20_000);
  const ownTicks = target.ownCpuTicks() - ownFrom;
  const otherCoresDuring = otherCores(cpuFrom, machineCpu(), ownTicks, cpus().length);

  const dispatch: number[] = [];
  let recorded = 0;
  for (let j = 0; j < jobs; j++) {
    const res = await apiOk<ExecutionRecord[]>(target.url, 'GET', `/v1/jobs/lateness-${j}/executions?offset=0&limit=100000`, undefined, 200);
    for (const e of res.body) {
      const scheduled = Date.parse(e.scheduled_at);
      if (e.trigger === 'retry' || !inWindow(scheduled, t0, seconds)) continue;
      recorded++;
      dispatch.push(Date.parse(e.started_at) - scheduled);
    }
  }
  if (recorded === 0) {
    throw new AgentError(`no execution scheduled on the expected whole seconds (t0 ${new Date(t0).toISOString()})`, target.logs());
  }
  const probe = probeFigures(probeFile, t0, seconds);
  if (probe.malformed > 0) target.log(`${probe.malformed} malformed probe lines ignored`);
  return {
    before,
    otherCoresDuring,
    expected,
    observed: probe.observed,
    start: probe.start,
    dispatch: summarize(dispatch),
    executionsRecorded: recorded,
    missedTicksLogged: target.missedTicks(),
  };
}

/** Stores `n` jobs that never fire during the run (starts_at a day ahead), in bulk requests. */
async function seedBackground(url: string, n: number, log: (msg: string) => void): Promise<void> {
  const startsAt = new Date(Date.now() + 24 * 3600_000).toISOString();
  const started = performance.now();
  for (let from = 0; from < n; from += BACKGROUND_CHUNK) {
    const parts: string[] = [];
    for (let i = from; i < Math.min(n, from + BACKGROUND_CHUNK); i++) parts.push(JSON.stringify(jobDefinition(i, startsAt)));
    await postBulk(url, `{"jobs":[${parts.join(',')}],"prune":null,"dry_run":false,"detail":"diff"}`, 600_000);
  }
  log(`${n} background jobs stored in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function runKairos(opts: LatenessOptions, dir: string, background: number, spawners: number | null): Promise<KairosFigures> {
  let agent: AgentHandle | null = null;
  try {
    const a = await startAgent({ dataDir: join(dir, 'kairos-data'), args: spawners === null ? [] : ['--spawners', String(spawners)] });
    agent = a;
    await a.waitForLog(/scheduler: started/, 30_000);
    const log = (msg: string): void => opts.log(`kairos: ${msg}`);
    if (background > 0) {
      await seedBackground(a.url, background, log);
      // The scheduler takes the new jobs in and the bulk request's garbage is collected before the measurement.
      await sleep(3000);
    }
    // Settled after the seeding: it is the measured run that should find a quiet machine.
    const before = await opts.settle();
    const figures = await measureKairos(
      {
        url: a.url,
        // Creating the measured jobs is slower on an agent that holds 100k others.
        leadMs: background > 0 ? 2000 + 50 * opts.jobs : 2000,
        // The agent with its spawners (live grandchildren of the bench).
        ownCpuTicks: () => treeCpuTicks(a.pid) + procCpuTicks('self', false),
        missedTicks: a.countLines(MISSED_TICKS),
        logs: () => a.logs,
        log,
      },
      opts.jobs,
      opts.seconds,
      dir,
      before,
    );
    const code = await a.stop();
    agent = null;
    if (code !== 0) opts.log(`kairos: agent exited with ${code}`);
    return figures;
  } finally {
    if (agent) await agent.stop(10_000).catch(() => undefined);
  }
}

function envCount(name: string): number | null {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return null;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be an integer >= 0, got "${raw}"`);
  return n;
}

/** The bare-Node reference side; `opts.settle` runs first. */
export async function runReference(opts: LatenessOptions, dir: string): Promise<ReferenceFigures> {
  const { jobs, seconds } = opts;
  const probeFile = join(dir, 'reference-probe.log');
  const before = await opts.settle();
  const cpuFrom = machineCpu();
  const selfFrom = procCpuTicks('self', false);
  const proc = trackProcess(
    spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'bench', 'reference-spawner.ts'), '--jobs', String(jobs), '--seconds', String(seconds), '--out', probeFile],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timeoutMs = (seconds + 60) * 1000;
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    new Promise<number | string>((resolve) => proc.once('exit', (c, s) => resolve(c ?? s ?? -1))),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (code === 'timeout') {
    proc.kill('SIGKILL');
    throw new Error(`reference spawner did not finish within ${timeoutMs} ms; stderr:\n${stderr}`);
  }
  if (code !== 0) throw new Error(`reference spawner exited with ${code}; stderr:\n${stderr}`);
  let report: ReferenceReport;
  try {
    report = JSON.parse(stdout.trim().split('\n').pop() ?? '') as ReferenceReport;
  } catch {
    throw new Error(`reference spawner printed no report; stdout:\n${stdout}\nstderr:\n${stderr}`);
  }
  const ownTicks = report.cpuTicks + procCpuTicks('self', false) - selfFrom;
  const otherCoresDuring = otherCores(cpuFrom, machineCpu(), ownTicks, cpus().length);
  const probe = probeFigures(probeFile, report.t0, seconds);
  if (probe.observed === 0) throw new Error(`reference spawner: no probe line in the window; stderr:\n${stderr}`);
  if (probe.malformed > 0) opts.log(`reference: ${probe.malformed} malformed probe lines ignored`);
  return {
    before,
    otherCoresDuring,
    expected: jobs * seconds,
    observed: probe.observed,
    start: probe.start,
    dispatch: summarize(report.timerLatenessMs),
    spawnCall: summarize(report.spawnCallLatenessMs),
    failed: report.failed,
  };
}

export async function runLateness(opts: LatenessOptions): Promise<LatenessResult> {
  const background = opts.background ?? envCount('BENCH_LATENESS_BACKGROUND') ?? 100_000;
  const spawners = opts.spawners !== undefined ? opts.spawners : envCount('BENCH_SPAWNERS');
  const dir = tempDir('kairos-bench-lateness-');
  try {
    opts.log(
      `lateness: Kairos, ${opts.jobs} jobs @every 1s for ${opts.seconds} s, ${background} background jobs, ` +
        `--spawners ${spawners === null ? 'default' : spawners}`,
    );
    const kairos = await runKairos(opts, dir, background, spawners);
    // Let the agent's exit and the page cache settle before the reference takes the cores.
    await sleep(2000);
    opts.log(`lateness: reference spawner, ${opts.jobs} jobs every 1 s for ${opts.seconds} s`);
    const reference = await runReference(opts, dir);
    return {
      jobs: opts.jobs,
      seconds: opts.seconds,
      background,
      spawners,
      kairos,
      reference,
      ratio: { start: ratios(kairos.start, reference.start), dispatch: ratios(kairos.dispatch, reference.dispatch) },
    };
  } finally {
    removeDir(dir);
  }
}
