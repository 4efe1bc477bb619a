/**
 * Scenario 8: Debian's `cron` (Vixie cron, `cron -f` in the foreground) beside Kairos, same run.
 * 100 entries in a file under /etc/cron.d and 100 Kairos jobs (one embedded agent, created in one
 * bulk request), each appending `<id> <epoch-ns>` to its side's file. So that the two never spawn
 * at the same instant, they take alternate minutes: cron even minutes (`*\/2 * * * *`), Kairos odd
 * minutes at second 0 (`0 1-59/2 * * * *`). Lateness of a run = the time `date` printed − the
 * minute boundary it belongs to. Memory: VmRSS of the scheduler process itself (cron's daemon, the
 * agent's node process; not the job shells), sampled every second, against a bare `node` process.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { apiOk, startAgent, type AgentHandle } from '../lib/agent.js';
import { onCleanup, removeDir, tempDir, trackProcess } from '../lib/cleanup.js';
import { shellQuote } from '../lib/lateness-probe.js';
import { summarize, type Summary } from '../lib/stats.js';
import { bareNodeRss, machineCpu, mib, otherCores, procCpuTicks, procMemory, sleep, type PhaseConditions } from '../lib/system.js';

export interface CronPeerOptions {
  /** Entries on each side (default 100). */
  entries: number;
  /** Minute boundaries in the measured window, both sides together (BENCH_CRON_MINUTES). */
  minutes: number;
  log: (msg: string) => void;
  settle: () => Promise<PhaseConditions>;
}

export interface CronPeerSide {
  schedule: string;
  /** Which minutes of the hour this side runs in. */
  minutes: 'even' | 'odd';
  /** Its minute boundaries inside the window. */
  boundaries: number;
  expected: number;
  /** Distinct (entry, boundary) runs seen in the window. */
  observed: number;
  missing: number;
  /** Extra lines for an (entry, boundary) already seen. */
  duplicates: number;
  /** Lines in the window at a boundary of the other side's parity (expected: none). */
  offSchedule: number;
  /** ms after the minute boundary at which `date` ran in the job. */
  lateness: Summary;
  rss: {
    /** VmRSS when the window opened, MiB. */
    atStartMiB: number | null;
    /** Largest VmRSS sampled during the window, MiB. */
    maxMiB: number | null;
    samples: number;
  };
}

export interface CronPeerResult {
  entries: number;
  minutes: number;
  cronVersion: string;
  /** First and last minute boundary measured. */
  window: { first: string; last: string };
  before: PhaseConditions;
  /** Cores' worth of CPU other processes used during the window (see otherCores). */
  otherCoresDuring: number;
  cron: CronPeerSide;
  kairos: CronPeerSide;
  /** RSS of a bare `node` process that does nothing, MiB: what any Node program costs. */
  bareNodeMiB: number | null;
}

const CRON_BIN = '/usr/sbin/cron';
const CRON_SCHEDULE = '*/2 * * * *';
const KAIROS_SCHEDULE = '0 1-59/2 * * * *';
const MINUTE = 60_000;
/** After the last boundary: 100 shells started at once take a second or two here. */
const GRACE_MS = 30_000;


function run(cmd: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 16 * 2 ** 20 },
      (err, stdout, stderr) => resolve({ ok: err === null, output: `${stdout}${stderr}${err ? `\n${err.message}` : ''}` }),
    );
  });
}

async function ensureCron(log: (msg: string) => void): Promise<string> {
  if (!existsSync(CRON_BIN)) {
    log('cron: not installed; apt-get install -y cron');
    let r = await run('apt-get', ['install', '-y', '-q', 'cron'], 180_000);
    if (!r.ok) {
      log('cron: install failed; apt-get update, then once more');
      await run('apt-get', ['update', '-q'], 120_000);
      r = await run('apt-get', ['install', '-y', '-q', 'cron'], 180_000);
    }
    if (!r.ok || !existsSync(CRON_BIN)) {
      throw new Error(`cron scenario: could not install Debian's cron (apt-get install -y cron):\n${r.output.slice(-2000)}`);
    }
  }
  const v = await run('dpkg-query', ['-W', '-f=${Version}', 'cron'], 10_000);
  return v.ok ? v.output.trim() : 'unknown';
}

/** Cron daemons already running on the machine (pid and name), from /proc. */
function runningCronDaemons(): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (/^(cron|crond|busybox-crond|fcron|cronie)$/.test(comm)) found.push(`${comm} (pid ${entry})`);
    } catch {
      // Exited between the listing and the read.
    }
  }
  return found;
}

async function stopProcess(proc: ChildProcess, timeoutMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  if (await Promise.race([exited.then(() => true), sleep(timeoutMs).then(() => false)])) return;
  proc.kill('SIGKILL');
  await Promise.race([exited, sleep(5000)]);
}

interface Sampler {
  samples: number;
  maxKiB: number | null;
  atStartKiB: number | null;
}

function sample(pid: number, s: Sampler): void {
  try {
    const kib = procMemory(pid).rssKiB;
    s.samples++;
    s.maxKiB = Math.max(s.maxKiB ?? 0, kib);
    s.atStartKiB ??= kib;
  } catch {
    // Gone: the side's figures say how many samples were taken.
  }
}

/** The lines `<id> <epoch-ns>` of a side's file: when each run's `date` ran (ms, µs precision), and its minute boundary. */
function runLines(file: string): { id: string; ms: number; boundary: number }[] {
  const out: { id: string; ms: number; boundary: number }[] = [];
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  for (const raw of text.split('\n')) {
    const [id, ns] = raw.trim().split(/\s+/);
    if (id === undefined || ns === undefined || !/^\d+$/.test(ns)) continue;
    // BigInt first: epoch nanoseconds exceed 2^53.
    const ms = Number(BigInt(ns) / 1000n) / 1000;
    out.push({ id, ms, boundary: Math.floor(ms / MINUTE) * MINUTE });
  }
  return out;
}

/** Per (id, boundary) the first run; lateness from the boundary. */
function sideFigures(
  file: string,
  schedule: string,
  parity: 0 | 1,
  boundaries: number[],
  entries: number,
  rss: Sampler,
): CronPeerSide {
  const inWindow = new Set(boundaries);
  const mine = boundaries.filter((b) => new Date(b).getMinutes() % 2 === parity);
  const seen = new Set<string>();
  const lateness: number[] = [];
  let duplicates = 0;
  let offSchedule = 0;
  for (const { id, ms, boundary } of runLines(file)) {
    if (!inWindow.has(boundary)) continue;
    if (new Date(boundary).getMinutes() % 2 !== parity) {
      offSchedule++;
      continue;
    }
    const key = `${id} ${boundary}`;
    if (seen.has(key)) {
      duplicates++;
      continue;
    }
    seen.add(key);
    lateness.push(ms - boundary);
  }
  const expected = mine.length * entries;
  return {
    schedule,
    minutes: parity === 0 ? 'even' : 'odd',
    boundaries: mine.length,
    expected,
    observed: seen.size,
    missing: Math.max(0, expected - seen.size),
    duplicates,
    offSchedule,
    lateness: summarize(lateness),
    rss: {
      atStartMiB: rss.atStartKiB === null ? null : mib(rss.atStartKiB),
      maxMiB: rss.maxKiB === null ? null : mib(rss.maxKiB),
      samples: rss.samples,
    },
  };
}

function countLines(file: string, boundaries: Set<number>): number {
  return runLines(file).filter((l) => boundaries.has(l.boundary)).length;
}

export async function runCronPeer(o: CronPeerOptions): Promise<CronPeerResult> {
  const cronVersion = await ensureCron(o.log);
  const others = runningCronDaemons();
  if (others.length > 0) {
    throw new Error(
      `cron scenario: a cron daemon is already running (${others.join(', ')}); not starting a second one ` +
        '(both would read /etc/cron.d). Stop it first, or leave `cron` out of BENCH_SCENARIOS.',
    );
  }
  const dir = tempDir('kairos-bench-cron-');
  const cronOut = join(dir, 'cron.log');
  const kairosOut = join(dir, 'kairos.log');
  // run-parts naming (letters, digits, - and _ only), or cron ignores the file.
  const cronFile = `/etc/cron.d/kairos-bench-${process.pid}`;
  const unregister = onCleanup(() => rmSync(cronFile, { force: true }));
  let agent: AgentHandle | null = null;
  let cron: ChildProcess | null = null;
  let timer: NodeJS.Timeout | undefined;
  try {
    const bareNode = await bareNodeRss().then((m) => mib(m.rssKiB), () => null);
    const before = await o.settle();

    o.log(`cron: Kairos agent, ${o.entries} jobs \`${KAIROS_SCHEDULE}\` (odd minutes), one bulk request`);
    const a = await startAgent({ dataDir: join(dir, 'kairos-data') });
    agent = a;
    await a.waitForLog(/scheduler: started/, 30_000);
    const jobs = Array.from({ length: o.entries }, (_, i) => ({
      name: `cron-peer-${String(i).padStart(3, '0')}`,
      schedule: KAIROS_SCHEDULE,
      executor: 'shell',
      executor_config: { command: `echo "k${i} $(date +%s%N)" >> ${shellQuote(kairosOut)}`, shell: 'true' },
    }));
    const bulk = await apiOk<{ created: string[] }>(a.url, 'POST', '/v1/jobs/bulk', { jobs, detail: 'diff' }, 200);
    if (bulk.body.created.length !== o.entries) throw new Error(`bulk create made ${bulk.body.created.length} of ${o.entries} jobs`);

    // In a crontab `%` is a newline unless escaped.
    const lines = Array.from({ length: o.entries }, (_, i) => `${CRON_SCHEDULE} root echo "c${i} $(date +\\%s\\%N)" >> ${shellQuote(cronOut)}`);
    writeFileSync(cronFile, `# Kairos bench (bench/scenarios/cron-peer.ts, pid ${process.pid}); removed when the bench exits\n${lines.join('\n')}\n`);
    // cron ignores files writable by group or others.
    chmodSync(cronFile, 0o644);
    o.log(`cron: Debian cron ${cronVersion}, \`cron -f\`, ${o.entries} entries \`${CRON_SCHEDULE}\` (even minutes) in ${cronFile}`);
    const c = trackProcess(spawn(CRON_BIN, ['-f'], { stdio: ['ignore', 'ignore', 'pipe'] }));
    cron = c;
    let cronStderr = '';
    c.stderr?.on('data', (chunk: Buffer) => (cronStderr += chunk.toString()));
    await sleep(1000);
    if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) {
      throw new Error(`cron -f exited at once (${c.exitCode ?? c.signalCode}): ${cronStderr.trim() || 'no output'}`);
    }
    const cronPid = c.pid;

    // The window: the next minute boundary at least 5 s away, then `minutes` boundaries in all.
    const first = Math.ceil((Date.now() + 5000) / MINUTE) * MINUTE;
    const boundaries = Array.from({ length: o.minutes }, (_, i) => first + i * MINUTE);
    const last = boundaries[boundaries.length - 1] as number;
    const boundarySet = new Set(boundaries);
    o.log(`cron: measuring ${o.minutes} minute boundaries, ${new Date(first).toISOString()} to ${new Date(last).toISOString()}`);

    const cronRss: Sampler = { samples: 0, maxKiB: null, atStartKiB: null };
    const kairosRss: Sampler = { samples: 0, maxKiB: null, atStartKiB: null };
    await sleep(first - 1000 - Date.now());
    const cpuFrom = machineCpu();
    // Both daemons with the job shells they reaped, and this process's sampling.
    const ownTicks = (): number => procCpuTicks(cronPid) + procCpuTicks(a.pid) + procCpuTicks('self', false);
    const ownFrom = ownTicks();
    const tick = (): void => {
      sample(cronPid, cronRss);
      sample(a.pid, kairosRss);
    };
    tick();
    timer = setInterval(tick, 1000);

    // Until every expected run is in, or the grace after the last boundary is over.
    const expectedLines = o.entries * o.minutes;
    const deadline = last + GRACE_MS;
    await sleep(last + 2000 - Date.now());
    while (Date.now() < deadline && countLines(cronOut, boundarySet) + countLines(kairosOut, boundarySet) < expectedLines) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`cron exited during the run (${c.exitCode ?? c.signalCode}): ${cronStderr.trim()}`);
      await sleep(1000);
    }
    clearInterval(timer);
    timer = undefined;
    tick();
    const otherCoresDuring = otherCores(cpuFrom, machineCpu(), ownTicks() - ownFrom, cpus().length);

    const result: CronPeerResult = {
      entries: o.entries,
      minutes: o.minutes,
      cronVersion,
      window: { first: new Date(first).toISOString(), last: new Date(last).toISOString() },
      before,
      otherCoresDuring,
      cron: sideFigures(cronOut, CRON_SCHEDULE, 0, boundaries, o.entries, cronRss),
      kairos: sideFigures(kairosOut, KAIROS_SCHEDULE, 1, boundaries, o.entries, kairosRss),
      bareNodeMiB: bareNode,
    };
    const p = (s: CronPeerSide): string =>
      `${s.observed}/${s.expected} runs, p50 ${Math.round(s.lateness.p50)} ms, p99 ${Math.round(s.lateness.p99)} ms, RSS max ${s.rss.maxMiB} MiB`;
    o.log(`cron: Debian cron ${p(result.cron)}; Kairos ${p(result.kairos)}`);
    return result;
  } finally {
    if (timer) clearInterval(timer);
    rmSync(cronFile, { force: true });
    unregister();
    if (cron) await stopProcess(cron, 5000);
    if (agent) await agent.stop(10_000).catch(() => undefined);
    removeDir(dir);
  }
}
