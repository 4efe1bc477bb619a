/**
 * Scenario 3: a cluster on a real 3-member backend — etcd (scenario `etcd`) or a ZooKeeper ensemble
 * (scenario `zookeeper`), the same steps on both — with three server agents (leader candidates, no
 * worker tag) and one non-server agent tagged role=worker that runs every job.
 *
 * (a) Lateness: scenario 1's measurement with the jobs on the worker. Here dispatch crosses the
 *     backend: the leader commits the tick with its execution records, the worker picks them up
 *     through its assignment watch, and only then spawns.
 * (b) Failover: while a `@every 1s` job (catch_up all) runs on the worker, the leader is SIGKILLed
 *     N times; per kill, kill → new leader and kill → next dispatch, then the killed agent is
 *     restarted under its name. Afterwards the job's execution history must hold every tick of the
 *     window exactly once.
 */
import { cpus } from 'node:os';
import { AgentError, api, apiOk, type AgentHandle } from '../lib/agent.js';
import { removeDir, tempDir } from '../lib/cleanup.js';
import {
  agreedLeader,
  leaderSeenBy,
  startCluster as startBackendCluster,
  stopCluster,
  until,
  waitForMembers as waitForMembersVia,
  type Cluster,
} from '../lib/cluster.js';
import type { ClusterBackend } from '../../test/helpers/backend-servers.js';
import { summarize, type Summary } from '../lib/stats.js';
import { machineCpu, otherCores, ownTreeCpuTicks, sleep, type PhaseConditions } from '../lib/system.js';
import {
  MISSED_TICKS,
  measureKairos,
  ratios,
  runReference,
  type KairosFigures,
  type LatenessResult,
  type Ratios,
  type ReferenceFigures,
} from './lateness.js';

/** The bench's own list: test/helpers' CLUSTER_BACKENDS follows KAIROS_TEST_BACKEND, BENCH_SCENARIOS chooses here. */
export const CLUSTER_BACKENDS: readonly ClusterBackend[] = ['etcd', 'zookeeper'];
const BACKEND_NAMES: Record<ClusterBackend, string> = { etcd: 'etcd', zookeeper: 'ZooKeeper' };
export const backendName = (b: ClusterBackend): string => BACKEND_NAMES[b];

const MEMBERS = 3;
const SERVERS = ['s1', 's2', 's3'] as const;
const WORKER = 'w1';
const WORKER_TAGS = { role: 'worker' };
/**
 * The lease TTL of test/helpers/cluster.ts: what a dead leader costs is bounded by it. On ZooKeeper
 * it is the session timeout, which the ensemble grants because its tickTime is 500 ms (ZooKeeper
 * clamps session timeouts to 2–20 × tickTime).
 */
const LEASE_TTL_S = 2;
/**
 * The agents' --dispatch-lead (the default, set explicitly here): a leader dispatches a tick this
 * long before it is due, so after a kill the dead leader's last dispatches may still run.
 */
const DISPATCH_LEAD_MS = 500;
const TICKER = 'failover-ticker';
/** After a kill, each surviving agent's /v1/leader is polled this often: the election figure's resolution. */
const LEADER_POLL_MS = 50;
/** The dispatch figure comes from the record's started_at; polling only bounds when we see it. */
const EXECUTIONS_POLL_MS = 100;
/** Per kill: election, dispatch, restart and rejoin are each bounded by this. */
const STEP_TIMEOUT_MS = 30_000;

export interface ClusterOptions {
  backend: ClusterBackend;
  jobs: number;
  seconds: number;
  failovers: number;
  log: (msg: string) => void;
  settle: () => Promise<PhaseConditions>;
  /** Scenario 1's result when it ran in the same bench: its reference is reused, its figures shown beside. */
  lateness?: LatenessResult;
  /**
   * Without scenario 1: the reference another cluster scenario of this bench measured (the etcd
   * one's, for ZooKeeper), reused when it covered the same jobs and seconds.
   */
  reference?: SharedReference;
}

export interface SharedReference {
  jobs: number;
  seconds: number;
  figures: ReferenceFigures;
  from: ReferenceFrom;
}

export type ReferenceFrom = 'lateness scenario' | `${ClusterBackend} scenario`;

export interface KillFigures {
  killed: string;
  newLeader: string;
  /** Where in the job's 1 s period the kill fell (ticks are on whole seconds); spread on purpose. */
  killPhaseMs: number;
  /** kill → first /v1/leader answer from a surviving agent naming another agent. */
  electionMs: number;
  /** kill → started_at of the first execution scheduled after the kill. */
  dispatchMs: number;
  firstTickAfterKill: string;
  firstTickTrigger: string;
  /** restart → the agent follows the leader and a live agent lists it alive. */
  rejoinMs: number;
}

export interface TickCheck {
  historyLimit: number;
  records: number;
  ticks: number;
  first: string;
  last: string;
  /** Records beyond one per scheduled_at. */
  duplicates: number;
  /** Whole seconds between the first and the last tick with no record. */
  lost: number;
  /** scheduled_at values off the job's whole-second phase. */
  offPhase: number;
  /** Ticks the new leaders ran late through catch_up. */
  catchup: number;
  failed: number;
  notOnWorker: number;
}

export interface ClusterResult {
  backend: ClusterBackend;
  /** The backend's servers: how many, and the version they report. */
  servers: { members: number; version: string };
  agents: { servers: string[]; worker: string; leaseTtlSeconds: number };
  lateness: {
    jobs: number;
    seconds: number;
    cluster: KairosFigures;
    /** Scenario 1's single embedded agent, when it ran in the same bench. */
    embedded: KairosFigures | null;
    reference: ReferenceFigures;
    referenceFrom: ReferenceFrom;
    ratio: { start: Ratios; dispatch: Ratios };
  };
  failover: {
    before: PhaseConditions;
    /** Cores' worth of CPU other processes used from the first kill to the last rejoin. */
    otherCoresDuring: number;
    pollMs: { leader: number; executions: number };
    kills: KillFigures[];
    election: Summary;
    dispatch: Summary;
    ticks: TickCheck;
  };
}

interface ExecutionRecord {
  scheduled_at: string;
  started_at: string;
  finished_at: string | null;
  success: boolean;
  node_name: string;
  trigger: string;
}

async function executions(agent: AgentHandle, end: number): Promise<ExecutionRecord[]> {
  const r = await api<ExecutionRecord[]>(agent.url, 'GET', `/v1/jobs/${TICKER}/executions?offset=0&limit=${end}`, undefined, 10_000);
  if (r.status !== 200) throw new Error(`executions of ${TICKER}: HTTP ${r.status}`);
  return r.body;
}

/** A finished execution scheduled at or after `fromMs` (its started_at is the worker's by then). */
async function finishedTickFrom(agent: AgentHandle, fromMs: number, what: string): Promise<ExecutionRecord> {
  return until(
    what,
    async () => (await executions(agent, 50)).find((e) => e.finished_at !== null && e.trigger !== 'retry' && Date.parse(e.scheduled_at) >= fromMs),
    STEP_TIMEOUT_MS,
    EXECUTIONS_POLL_MS,
  );
}

/** Every tick between the first and the last record exactly once, from the execution history. */
export function checkTicks(records: readonly ExecutionRecord[], historyLimit: number, worker: string): TickCheck {
  const runs = records.filter((e) => e.trigger !== 'retry');
  const perTick = new Map<number, number>();
  for (const e of runs) {
    const t = Date.parse(e.scheduled_at);
    perTick.set(t, (perTick.get(t) ?? 0) + 1);
  }
  const ticks = [...perTick.keys()].sort((a, b) => a - b);
  let lost = 0;
  for (let i = 1; i < ticks.length; i++) {
    lost += Math.max(0, Math.round(((ticks[i] as number) - (ticks[i - 1] as number)) / 1000) - 1);
  }
  const iso = (t: number | undefined): string => (t === undefined ? '' : new Date(t).toISOString());
  return {
    historyLimit,
    records: records.length,
    ticks: ticks.length,
    first: iso(ticks[0]),
    last: iso(ticks[ticks.length - 1]),
    duplicates: runs.length - ticks.length,
    lost,
    offPhase: ticks.filter((t) => t % 1000 !== 0).length,
    catchup: runs.filter((e) => e.trigger === 'catchup').length,
    failed: runs.filter((e) => !e.success).length,
    notOnWorker: runs.filter((e) => e.node_name !== worker).length,
  };
}

/**
 * What a restarted server agent logs once it takes part in the election again: on etcd it names the
 * leader it follows; ZooKeeper's election has every candidate watch only its predecessor, so an
 * agent only logs that it runs (and the scenario then waits for its /v1/leader to name the leader).
 */
const REJOINED: Record<ClusterBackend, RegExp> = {
  etcd: /agent: following leader|agent: Cluster leadership acquired/,
  zookeeper: /agent: Running for election|agent: Cluster leadership acquired/,
};

/** The scenario's agents: three leader candidates and the worker, which alone carries the worker tag. */
function startCluster(backend: ClusterBackend, dir: string, log: (msg: string) => void): Promise<Cluster> {
  return startBackendCluster(backend, dir, log, {
    members: MEMBERS,
    args: ['--lease-ttl', `${LEASE_TTL_S}s`, '--dispatch-lead', `${DISPATCH_LEAD_MS}ms`],
    agent: (name) => (name === WORKER ? { server: false, tags: WORKER_TAGS } : { server: true }),
  });
}

const workerOf = (cluster: Cluster): AgentHandle => cluster.get(WORKER);

async function waitForMembers(cluster: Cluster, names: readonly string[]): Promise<void> {
  await waitForMembersVia(workerOf(cluster), names, STEP_TIMEOUT_MS);
}

async function runClusterLateness(cluster: Cluster, opts: ClusterOptions, dir: string): Promise<KairosFigures> {
  const before = await opts.settle();
  const missed = cluster.live().map((a) => a.countLines(MISSED_TICKS));
  const figures = await measureKairos(
    {
      url: workerOf(cluster).url,
      tags: WORKER_TAGS,
      // One backend transaction per job, and the leader's scheduler learns of them through a watch.
      leadMs: 3000,
      ownCpuTicks: ownTreeCpuTicks,
      missedTicks: () => missed.reduce((n, count) => n + count(), 0),
      logs: () => cluster.logs(),
      log: (msg) => opts.log(`${opts.backend} lateness: ${msg}`),
    },
    opts.jobs,
    opts.seconds,
    dir,
    before,
  );
  for (let j = 0; j < opts.jobs; j++) await apiOk(workerOf(cluster).url, 'DELETE', `/v1/jobs/lateness-${j}`, undefined, 200);
  return figures;
}

/**
 * kill → the first /v1/leader answer from a survivor naming another agent. Each survivor is polled
 * on its own, staggered, so some request goes out every LEADER_POLL_MS / survivors ms.
 */
async function firstOtherLeader(survivors: AgentHandle[], killed: string, killedAt: number): Promise<{ name: string; ms: number }> {
  let found: { name: string; ms: number } | undefined;
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  const watch = async (agent: AgentHandle, offsetMs: number): Promise<void> => {
    await sleep(offsetMs);
    while (!found && Date.now() < deadline) {
      const name = await leaderSeenBy(agent);
      if (name !== undefined && name !== killed) found ??= { name, ms: Date.now() - killedAt };
      else await sleep(LEADER_POLL_MS);
    }
  };
  await Promise.all(survivors.map((a, i) => watch(a, (i * LEADER_POLL_MS) / survivors.length)));
  if (!found) throw new Error(`no new leader within ${STEP_TIMEOUT_MS} ms of killing ${killed}`);
  return found;
}

/** Kill `round` of `rounds`: evenly over the second, from 100 ms after a tick. */
function killPhaseMs(round: number, rounds: number): number {
  return (100 + Math.round(((round - 1) * 1000) / rounds)) % 1000;
}

async function killLeader(cluster: Cluster, opts: ClusterOptions, round: number): Promise<KillFigures> {
  const leaderName = await agreedLeader(cluster.live());
  const leader = cluster.agents.get(leaderName);
  if (!leader || leaderName === WORKER) throw new Error(`unexpected leader "${leaderName}"`);
  const survivors = cluster.live().filter((a) => a !== leader);
  const worker = workerOf(cluster);

  // Spread the kills over the job's second: where a kill falls decides how long until the next
  // tick, so kills always right after a tick (where the previous round's wait ends) would bias it.
  const phase = killPhaseMs(round, opts.failovers);
  let killAt = Math.floor(Date.now() / 1000) * 1000 + phase;
  if (killAt < Date.now() + 50) killAt += 1000;
  await sleep(killAt - Date.now());
  const killedAt = Date.now();
  leader.proc.kill('SIGKILL');
  cluster.agents.delete(leaderName);
  // The job ticks on whole seconds (starts_at was one). The first tick only a new leader can
  // dispatch: the dead one dispatched every tick due within DISPATCH_LEAD_MS of its death.
  const firstTick = Math.floor((killedAt + DISPATCH_LEAD_MS) / 1000) * 1000 + 1000;

  const election = firstOtherLeader(survivors, leaderName, killedAt);
  const dispatch = until(
    `the tick of ${new Date(firstTick).toISOString()} after killing ${leaderName}`,
    async () => (await executions(worker, 50)).find((e) => e.trigger !== 'retry' && e.finished_at !== null && Date.parse(e.scheduled_at) === firstTick),
    STEP_TIMEOUT_MS,
    EXECUTIONS_POLL_MS,
  );
  const [elected, first] = await Promise.all([election, dispatch]);
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([leader.exited, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 10_000)))]);
  clearTimeout(timer);
  if (exit === 'timeout') throw new Error(`${leaderName} did not exit within 10 s of SIGKILL`);
  if (!SERVERS.some((s) => s === elected.name) || elected.name === leaderName) {
    throw new Error(`after killing ${leaderName}, /v1/leader named "${elected.name}"`);
  }

  const restartedAt = performance.now();
  const restarted = await cluster.start(leaderName);
  await restarted.waitForLog(REJOINED[cluster.backend], STEP_TIMEOUT_MS);
  if (cluster.backend === 'zookeeper') {
    await until(
      `${leaderName} to name a leader after its restart`,
      async () => ((await leaderSeenBy(restarted)) !== undefined ? true : undefined),
      STEP_TIMEOUT_MS,
      100,
    );
  }
  await waitForMembers(cluster, [leaderName]);
  const rejoinMs = Math.round(performance.now() - restartedAt);
  const figures: KillFigures = {
    killed: leaderName,
    newLeader: elected.name,
    killPhaseMs: killedAt % 1000,
    electionMs: elected.ms,
    dispatchMs: Date.parse(first.started_at) - killedAt,
    firstTickAfterKill: first.scheduled_at,
    firstTickTrigger: first.trigger,
    rejoinMs,
  };
  opts.log(
    `${opts.backend} failover ${round}: killed ${leaderName} → ${elected.name} leads after ${figures.electionMs} ms; ` +
      `next dispatch after ${figures.dispatchMs} ms (${first.trigger}); ${leaderName} rejoined in ${rejoinMs} ms`,
  );
  // Back to steady state before the next kill: everyone agrees and ticks run on time again.
  await agreedLeader(cluster.live());
  await finishedTickFrom(worker, Date.now() + 1000, 'a tick after the rejoin');
  return figures;
}

async function runFailover(cluster: Cluster, opts: ClusterOptions): Promise<ClusterResult['failover']> {
  const before = await opts.settle();
  const worker = workerOf(cluster);
  // Generous: each kill round is bounded to a few STEP_TIMEOUT_MS, and a truncated history
  // would hide exactly the ticks around the first kills.
  const historyLimit = opts.failovers * 200 + 300;
  const startsAt = Math.ceil((Date.now() + 2000) / 1000) * 1000;
  await apiOk(worker.url, 'POST', '/v1/jobs', {
    name: TICKER,
    schedule: '@every 1s',
    catch_up: 'all',
    tags: WORKER_TAGS,
    executor: 'shell',
    executor_config: { command: 'true', shell: 'true' },
    starts_at: new Date(startsAt).toISOString(),
    history_limit: historyLimit,
  }, 201);
  await finishedTickFrom(worker, startsAt + 2000, 'the first ticks of the failover job');

  const cpuFrom = machineCpu();
  const ownFrom = ownTreeCpuTicks();
  const kills: KillFigures[] = [];
  for (let i = 1; i <= opts.failovers; i++) kills.push(await killLeader(cluster, opts, i));
  const otherCoresDuring = otherCores(cpuFrom, machineCpu(), ownTreeCpuTicks() - ownFrom, cpus().length);

  await finishedTickFrom(worker, Date.now() + 2000, 'ticks after the last failover');
  await apiOk(worker.url, 'POST', `/v1/jobs/${TICKER}/toggle`, undefined, 200);
  await until(
    `no ${TICKER} execution running`,
    async () => {
      const r = await apiOk<{ job_name: string }[]>(worker.url, 'GET', '/v1/busy', undefined, 200);
      return r.body.every((e) => e.job_name !== TICKER) ? true : undefined;
    },
    STEP_TIMEOUT_MS,
    200,
  );
  const records = await executions(worker, historyLimit + 100);
  const ticks = checkTicks(records, historyLimit, WORKER);
  const firstKillTick = Date.parse(kills[0]?.firstTickAfterKill ?? '');
  if (!(Date.parse(ticks.first) < firstKillTick - 1000)) {
    throw new Error(`the history of ${TICKER} starts at ${ticks.first}, after the first kill: raise its history_limit`);
  }
  opts.log(`${opts.backend} failover: ${ticks.ticks} ticks checked, ${ticks.duplicates} duplicated, ${ticks.lost} lost`);
  return {
    before,
    otherCoresDuring,
    pollMs: { leader: LEADER_POLL_MS, executions: EXECUTIONS_POLL_MS },
    kills,
    election: summarize(kills.map((k) => k.electionMs)),
    dispatch: summarize(kills.map((k) => k.dispatchMs)),
    ticks,
  };
}

export async function runCluster(opts: ClusterOptions): Promise<ClusterResult> {
  const b = opts.backend;
  const dir = tempDir(`kairos-bench-${b}-`);
  let cluster: Cluster | null = null;
  try {
    opts.log(`${b}: ${MEMBERS} ${backendName(b)} members, servers ${SERVERS.join(', ')}, worker ${WORKER}`);
    const c = await startCluster(b, dir, opts.log);
    cluster = c;
    for (const name of [...SERVERS, WORKER]) await c.start(name);
    await agreedLeader(c.live());
    await waitForMembers(c, [...SERVERS, WORKER]);

    opts.log(`${b} lateness: ${opts.jobs} jobs @every 1s on ${WORKER} for ${opts.seconds} s`);
    const clusterFigures = await runClusterLateness(c, opts, dir);
    opts.log(`${b} failover: ${opts.failovers} leader kills (lease TTL ${LEASE_TTL_S} s)`);
    const failover = await runFailover(c, opts);
    cluster = null;
    await stopCluster(c, opts.log);

    let reference: ReferenceFigures;
    let referenceFrom: ReferenceFrom;
    if (opts.lateness && opts.lateness.jobs === opts.jobs && opts.lateness.seconds === opts.seconds) {
      reference = opts.lateness.reference;
      referenceFrom = 'lateness scenario';
    } else if (opts.reference && opts.reference.jobs === opts.jobs && opts.reference.seconds === opts.seconds) {
      reference = opts.reference.figures;
      referenceFrom = opts.reference.from;
    } else {
      await sleep(2000);
      opts.log(`${b}: reference spawner, ${opts.jobs} jobs every 1 s for ${opts.seconds} s`);
      reference = await runReference(opts, dir);
      referenceFrom = `${b} scenario`;
    }
    return {
      backend: b,
      servers: { members: MEMBERS, version: c.servers.version },
      agents: { servers: [...SERVERS], worker: WORKER, leaseTtlSeconds: LEASE_TTL_S },
      lateness: {
        jobs: opts.jobs,
        seconds: opts.seconds,
        cluster: clusterFigures,
        embedded: opts.lateness?.kairos ?? null,
        reference,
        referenceFrom,
        ratio: { start: ratios(clusterFigures.start, reference.start), dispatch: ratios(clusterFigures.dispatch, reference.dispatch) },
      },
      failover,
    };
  } catch (err) {
    // run.ts prints an AgentError's logs: here the agents' are what explains a failed step.
    if (cluster && !(err instanceof AgentError)) throw new AgentError(err instanceof Error ? err.message : String(err), cluster.logs());
    throw err;
  } finally {
    if (cluster) await stopCluster(cluster, opts.log).catch((err: unknown) => opts.log(`${b}: teardown: ${String(err)}`));
    removeDir(dir);
  }
}
