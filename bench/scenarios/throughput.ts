/**
 * Scenario 10: throughput, executions per second, each stored in the history.
 *
 * (1) One agent, embedded store, shell executor `/bin/true`, offered more than it can do (jobs
 *     `@every 1s` = 1.2 × the reference's rate), against a bare Node process spawning `/bin/true`
 *     as fast as it can, measured first in the same run.
 * (2) Three agents on a 3-member etcd cluster, `http` jobs against a local server that answers at
 *     once (no spawn cost): executions per second, and every execution recorded once (no tick
 *     twice) and seen once by the server.
 */
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { AgentError, api, apiOk, ROOT, startAgent, type AgentHandle } from '../lib/agent.js';
import { removeDir, tempDir, trackProcess } from '../lib/cleanup.js';
import { agreedLeader, startCluster, stopCluster, until, waitForMembers, type Cluster } from '../lib/cluster.js';
import { startHttpSink, type HttpSink } from '../lib/http-sink.js';
import type { SpawnRateProbe, SpawnRateReport } from '../lib/spawn-rate.js';
import { ratio } from '../lib/stats.js';
import { machineCpu, mib, otherCores, procCpuTicks, procMemory, sleep, ownTreeCpuTicks, type PhaseConditions } from '../lib/system.js';
import {
  createJobs,
  historyFigures,
  phaseMs,
  readHistories,
  throughWindow,
  windowed,
  type ExecutionRecord,
  type HistoryFigures,
} from '../lib/throughput-window.js';
import { SqliteStore } from '../../src/backends/embedded/sqlite-store.js';
import { MISSED_TICKS } from './lateness.js';

export interface ThroughputOptions {
  seconds: number;
  /** Jobs of part (2); 0 skips it. */
  httpJobs: number;
  /** The reference's in-flight limits to probe (the best is used, and is the agent's --max-parallel). */
  probe?: number[];
  log: (msg: string) => void;
  settle: () => Promise<PhaseConditions>;
}

interface Side {
  before: PhaseConditions;
  /** Cores' worth of CPU other processes used during the measured window (see otherCores). */
  otherCoresDuring: number;
}

export interface ThroughputReference extends Side {
  /** Short runs at several in-flight limits; the best one is measured. */
  probes: SpawnRateProbe[];
  concurrency: number;
  completed: number;
  failed: number;
  /** `/bin/true` exits per second. */
  rate: number;
}

export interface ThroughputSingle extends Side, HistoryFigures {
  /** The agent's --max-parallel: the reference's in-flight limit. */
  maxParallel: number;
  /** Kairos rate ÷ reference rate (target ≥ 0.9). */
  ratio: number | null;
  /** The agent's process: max over the window, and at its end. */
  rssMaxMiB: number;
  rssEndMiB: number;
  /** The agent with its helper processes and running jobs, summed: max over the window. */
  treeRssMaxMiB: number;
}

export interface ThroughputCluster extends Side, HistoryFigures {
  etcdVersion: string;
  agents: string[];
  /** Counted executions per agent. */
  perAgent: Record<string, number>;
  /** Whether every run had finished (no request for a while, nothing busy) before the records were read, and after how long. */
  drained: boolean;
  drainSeconds: number;
  /** Requests the local server saw, all ticks. */
  requests: number;
  /** Σ over jobs of |requests − finished records|, all ticks: 0 when every execution reached the server once. */
  requestMismatch: number;
  jobsMismatched: number;
  /** Per agent, max over the window: its process, and its process tree summed. */
  rssMaxMiB: Record<string, number>;
  treeRssMaxMiB: Record<string, number>;
}

export interface ThroughputResult {
  seconds: number;
  reference: ThroughputReference;
  single: ThroughputSingle;
  cluster: ThroughputCluster | null;
}

/** Offered load of part (1), × the reference's rate: more than the agent can do, so the figure is its ceiling. */
const OVERLOAD = 1.2;
const MAX_JOBS = 2000;
/** In-flight limits the reference tries, PROBE_SECONDS each. */
const PROBE = [2, 4, 8, 16, 32];
const PROBE_SECONDS = 2;
const AGENTS = ['a1', 'a2', 'a3'] as const;
/** After the window: how long the local server must see no request before the records are read. */
const QUIET_MS = 5000;
/** How long the cluster may take to finish what it dispatched in the window. */
export const drainMs = (seconds: number): number => Math.max(120, 5 * seconds) * 1000;
const TAG = 'throughput';
/** The bare-Node spawner (bench/lib/spawn-rate.ts) in its own process; `settle` first. */
async function runReference(o: ThroughputOptions): Promise<ThroughputReference> {
  const before = await o.settle();
  const cpuFrom = machineCpu();
  const selfFrom = procCpuTicks('self', false);
  const probe = o.probe ?? PROBE;
  const args = ['--seconds', String(o.seconds), '--probe', probe.join(','), '--probe-seconds', String(PROBE_SECONDS)];
  const proc = trackProcess(
    spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'lib', 'spawn-rate.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timeoutMs = (o.seconds + probe.length * PROBE_SECONDS + 60) * 1000;
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    new Promise<number | string>((resolve) => proc.once('exit', (c, s) => resolve(c ?? s ?? -1))),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (code === 'timeout') proc.kill('SIGKILL');
  if (code !== 0) throw new Error(`spawn-rate reference ${code === 'timeout' ? `did not finish within ${timeoutMs} ms` : `exited with ${code}`}; stderr:\n${stderr}`);
  let r: SpawnRateReport;
  try {
    r = JSON.parse(stdout.trim().split('\n').pop() ?? '') as SpawnRateReport;
  } catch {
    throw new Error(`spawn-rate reference printed no report; stdout:\n${stdout}\nstderr:\n${stderr}`);
  }
  const otherCoresDuring = otherCores(cpuFrom, machineCpu(), r.cpuTicks + procCpuTicks('self', false) - selfFrom, cpus().length);
  return { before, otherCoresDuring, probes: r.probes, concurrency: r.concurrency, completed: r.completed, failed: r.failed, rate: r.rate };
}

async function runSingle(o: ThroughputOptions, reference: ThroughputReference, dir: string): Promise<ThroughputSingle> {
  const jobs = Math.min(MAX_JOBS, Math.ceil(OVERLOAD * reference.rate));
  const names = Array.from({ length: jobs }, (_, i) => `throughput-${i}`);
  const dataDir = join(dir, 'single');
  const before = await o.settle();
  // The reference's in-flight limit. Without one the agent starts every dispatched run at once; offered more
  // than it can finish, thousands of children are then in flight and reaping them slows everything down.
  // A short shutdown deadline so that the stop after the window, which ends what still runs, is bounded.
  const maxParallel = reference.concurrency;
  const a = await startAgent({ dataDir, args: ['--max-parallel', String(maxParallel), '--shutdown-timeout', '10s'] });
  let agent: AgentHandle | null = a;
  try {
    await a.waitForLog(/scheduler: started/, 30_000);
    const missed = a.countLines(MISSED_TICKS);
    const defs = (t0: number): Record<string, unknown>[] =>
      names.map((name, i) => ({ name, ...windowed(t0, o.seconds, phaseMs(i, jobs)), executor: 'shell', executor_config: { command: '/bin/true' } }));
    const t0 = await createJobs(a.url, defs, 3000);
    o.log(`throughput: ${jobs} jobs /bin/true @every 1s (${OVERLOAD} × the reference), ticks from ${new Date(t0).toISOString()} for ${o.seconds} s`);
    const window = await throughWindow(t0, o.seconds, [a.pid], ownTreeCpuTicks);
    const rssEndKiB = procMemory(a.pid).rssKiB;
    // Stopped at once: what it had not finished in the window is not counted, and the store is then read whole without competing with it.
    // Runs still queued for a slot are each recorded failed on the way out: that takes a while when thousands wait.
    const code = await a.stop(300_000);
    agent = null;
    if (code !== 0) throw new AgentError(`throughput: agent exited with ${code}`, a.logs);
    const store = SqliteStore.open(join(dataDir, 'kairos.db'));
    const records = new Map<string, ExecutionRecord[]>();
    let skipped = 0;
    try {
      for (const name of names) records.set(name, (await store.listExecutions(name)).items);
      for (const job of await store.listJobs()) skipped += job.skip_count;
    } finally {
      await store.close();
    }
    const h = historyFigures(records, t0, o.seconds, 'finished_at');
    if (h.executions === 0) throw new AgentError('throughput: no execution finished in the window', a.logs);
    const { counted: _counted, ...figures } = h;
    return {
      before,
      otherCoresDuring: window.otherCoresDuring,
      ...figures,
      skipped,
      missedTicksLogged: missed(),
      ratio: ratio(h.rate, reference.rate),
      maxParallel,
      rssMaxMiB: mib(window.rssMaxKiB[0] ?? 0),
      rssEndMiB: mib(rssEndKiB),
      treeRssMaxMiB: mib(window.treeRssMaxKiB[0] ?? 0),
    };
  } catch (err) {
    // run.ts prints an AgentError's logs: the agent's are what explains a failed step.
    if (!(err instanceof AgentError)) throw new AgentError(err instanceof Error ? err.message : String(err), a.logs);
    throw err;
  } finally {
    if (agent) await agent.stop(10_000).catch(() => undefined);
  }
}

async function runCluster(o: ThroughputOptions, dir: string): Promise<ThroughputCluster> {
  const sink: HttpSink = await startHttpSink();
  let cluster: Cluster | null = null;
  try {
    // Every agent a leader candidate and a runner; each job is pinned to one agent by its tag, a third each.
    const c = await startCluster('etcd', join(dir, 'cluster'), o.log, { members: 3, args: [], agent: (name) => ({ server: true, tags: { [TAG]: name } }) });
    cluster = c;
    for (const name of AGENTS) await c.start(name);
    await agreedLeader(c.live());
    await waitForMembers(c.get(AGENTS[0]), AGENTS, 30_000);
    const missed = c.live().map((a) => a.countLines(MISSED_TICKS));
    const names = Array.from({ length: o.httpJobs }, (_, i) => `throughput-http-${i}`);
    const defs = (t0: number): Record<string, unknown>[] =>
      names.map((name, i) => ({
        name,
        ...windowed(t0, o.seconds, phaseMs(i, o.httpJobs)),
        tags: { [TAG]: AGENTS[i % AGENTS.length] },
        executor: 'http',
        executor_config: { method: 'GET', url: `${sink.url}/${name}`, expectCode: '200', timeout: '10' },
      }));
    const before = await o.settle();
    // One etcd transaction per 128 operations, then the leader learns of the jobs through its watch.
    const t0 = await createJobs(c.get(AGENTS[0]).url, defs, 5000);
    o.log(`throughput etcd: ${o.httpJobs} http jobs @every 1s on ${AGENTS.join(', ')}, ticks from ${new Date(t0).toISOString()} for ${o.seconds} s`);
    const agents = AGENTS.map((n) => c.get(n));
    const window = await throughWindow(t0, o.seconds, agents.map((a) => a.pid), ownTreeCpuTicks);
    // The jobs have expired: wait for the last runs, so that records and requests are compared whole. An empty
    // /v1/busy (every running record in the cluster) is not enough alone: a dispatch retried after a store
    // timeout may still land, so the server must also have seen no request for QUIET_MS.
    // A cluster far behind may take minutes: past the bound the figures are still read and printed, the
    // comparison flagged as not drained (it then counts requests of runs still in flight).
    let seen = -1;
    let seenAt = Date.now();
    const drainStarted = Date.now();
    const drained = await until(
      'the last http executions to finish',
      async () => {
        if (sink.total() !== seen) [seen, seenAt] = [sink.total(), Date.now()];
        if (Date.now() - seenAt < QUIET_MS) return undefined;
        const busy = await Promise.all(agents.map((a) => api<unknown[]>(a.url, 'GET', '/v1/busy', undefined, 10_000)));
        return busy.every((b) => b.status === 200 && Array.isArray(b.body) && b.body.length === 0) ? true : undefined;
      },
      drainMs(o.seconds),
      500,
    ).catch((err: unknown) => {
      o.log(`throughput etcd: ${err instanceof Error ? err.message : String(err)}; reading the histories anyway`);
      return false;
    });
    const drainSeconds = Math.round((Date.now() - drainStarted) / 1000);
    const records = await readHistories(c.get(AGENTS[0]).url, names);
    const h = historyFigures(records, t0, o.seconds, 'started_at');
    let requestMismatch = 0;
    let jobsMismatched = 0;
    for (const [name, list] of records) {
      const finished = list.filter((e) => e.finished_at !== null);
      const seen = sink.counts.get(`/${name}`) ?? 0;
      const diff = Math.abs(seen - finished.length);
      requestMismatch += diff;
      if (diff > 0 && ++jobsMismatched <= 3) {
        // What a mismatch is made of: the job's failed or unusual records say where it came from.
        const odd = list.filter((e) => e.finished_at === null || !e.success || e.attempt > 1 || e.trigger !== 'schedule');
        o.log(`throughput etcd: ${name}: ${seen} requests, ${list.length} records, ${finished.length} finished; unfinished, failed, retried or not scheduled: ${odd.slice(0, 5).map((e) => `${e.id} ${e.trigger} attempt ${e.attempt} ${e.finished_at === null ? 'unfinished' : e.success ? 'ok' : 'failed'} on ${e.node_name} ${JSON.stringify(e.output.slice(0, 120))}`).join('; ')}`);
      }
    }
    const listed = await apiOk<{ name: string; skip_count: number }[]>(c.get(AGENTS[0]).url, 'GET', `/v1/jobs?_start=0&_end=${o.httpJobs + 10}`, undefined, 200);
    const perAgent: Record<string, number> = Object.fromEntries(AGENTS.map((n) => [n, 0]));
    for (const e of h.counted) perAgent[e.node_name] = (perAgent[e.node_name] ?? 0) + 1;
    const { counted: _counted, ...figures } = h;
    return {
      before,
      otherCoresDuring: window.otherCoresDuring,
      ...figures,
      skipped: listed.body.filter((j) => j.name.startsWith('throughput-http-')).reduce((n, j) => n + j.skip_count, 0),
      missedTicksLogged: missed.reduce((n, count) => n + count(), 0),
      etcdVersion: c.servers.version,
      agents: [...AGENTS],
      perAgent,
      drained,
      drainSeconds,
      requests: sink.total(),
      requestMismatch,
      jobsMismatched,
      rssMaxMiB: Object.fromEntries(AGENTS.map((n, i) => [n, mib(window.rssMaxKiB[i] ?? 0)])),
      treeRssMaxMiB: Object.fromEntries(AGENTS.map((n, i) => [n, mib(window.treeRssMaxKiB[i] ?? 0)])),
    };
  } catch (err) {
    // run.ts prints an AgentError's logs: the agents' are what explains a failed step.
    if (cluster && !(err instanceof AgentError)) throw new AgentError(err instanceof Error ? err.message : String(err), cluster.logs());
    throw err;
  } finally {
    if (cluster) await stopCluster(cluster, o.log).catch((err: unknown) => o.log(`throughput etcd: teardown: ${String(err)}`));
    await sink.close();
  }
}

export async function runThroughput(o: ThroughputOptions): Promise<ThroughputResult> {
  const dir = tempDir('kairos-bench-throughput-');
  try {
    o.log(`throughput: reference, /bin/true as fast as one Node process spawns it (probing ${(o.probe ?? PROBE).join(', ')} in flight), ${o.seconds} s`);
    const reference = await runReference(o);
    o.log(`throughput: reference ${reference.rate.toFixed(1)} spawns/s with ${reference.concurrency} in flight`);
    // Let the page cache and the reaped children settle before the agent takes the cores.
    await sleep(2000);
    const single = await runSingle(o, reference, dir);
    o.log(`throughput: single agent ${single.rate} executions/s (${single.ratio?.toFixed(2) ?? 'n/a'} × the reference)`);
    let cluster: ThroughputCluster | null = null;
    if (o.httpJobs > 0) {
      cluster = await runCluster(o, dir);
      o.log(`throughput etcd: ${cluster.rate} executions/s; ${cluster.duplicates} duplicated, request mismatch ${cluster.requestMismatch}`);
    }
    return { seconds: o.seconds, reference, single, cluster };
  } finally {
    removeDir(dir);
  }
}
