/**
 * `npm run bench`: runs the scenarios one after another (never two at once:
 * they would compete for the cores), prints a markdown summary and writes
 * bench/results/latest.json. See BENCHMARKS.md for what each figure means.
 *
 * Environment:
 *   BENCH_SECONDS        lateness run length per side (default 60)
 *   BENCH_LATENESS_JOBS  jobs in the lateness scenario (default 20)
 *   BENCH_LATENESS_BACKGROUND  job definitions stored beside the lateness jobs, none due during the run (default 100000; 0 = none)
 *   BENCH_SPAWNERS       the lateness agent's --spawners (default: the agent's, one per core; 0 = spawn in the agent)
 *   BENCH_JOBS           job definitions in the memory scenario (default 100000)
 *   BENCH_API_SAMPLE     jobs created through the API first (default 5000)
 *   BENCH_API_BUDGET     seconds the API may take for all jobs before the rest is seeded (default 300)
 *   BENCH_FAILOVERS      leader kills in each cluster scenario, etcd and zookeeper (default 5)
 *   BENCH_APPLY_JOBS     job definitions applied by `kairos apply` in the apply scenario (default 100000)
 *   BENCH_UI_JOBS        jobs stored for the ui scenario (default 100000)
 *   BENCH_UI_SAMPLES     page loads measured per page in the ui scenario (default 5)
 *   BENCH_STARTUP_SAMPLES  agent starts measured in the startup scenario (default 10)
 *   BENCH_CRON_MINUTES   minute boundaries measured in the cron scenario, both sides together (default 6)
 *   BENCH_SCALE          comma list of job counts in the scale scenario (default 1000,10000,100000,1000000)
 *   BENCH_SCALE_CHUNK    jobs per POST /v1/jobs/bulk in the scale scenario (default 50000)
 *   BENCH_SCALE_IDLE     seconds idle after loading, before RSS is read, in the scale scenario (default 3)
 *   BENCH_THROUGHPUT_SECONDS  length of the throughput scenario's measured window, each part (default 60)
 *   BENCH_THROUGHPUT_HTTP_JOBS  http jobs on the etcd cluster in the throughput scenario (default 600; 0 skips that part)
 *   BENCH_THROUGHPUT_PROBE  in-flight limits the throughput reference probes, comma-separated (default 2,4,8,16,32;
 *                        one value fixes it: the 2 s probes are noisy, and the best one is also the agent's --max-parallel)
 *   BENCH_SCENARIOS      comma list of lateness, etcd, zookeeper, memory, reaction, apply, ui, startup, cron, scale, throughput (default all;
 *                        they always run in that order, so the cluster scenarios (etcd, zookeeper) reuse the
 *                        lateness scenario's reference, or without it zookeeper reuses etcd's)
 *   BENCH_REACTION_SAMPLES  samples of each reaction (timeout kill, shutdown, etcd lost; default 5)
 *   BENCH_QUIET_WAIT     seconds to wait, before each measured phase, for the machine to be
 *                        nearly idle (default 0: just record how busy it was)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentError, ROOT } from './lib/agent.js';
import { cleanupAll, installCleanupHandlers } from './lib/cleanup.js';
import { writeCharts } from './lib/charts.js';
import { renderSummary, type SummaryInput } from './lib/summary.js';
import { load1, machineInfo, waitForQuiet, type PhaseConditions } from './lib/system.js';
import { runLateness } from './scenarios/lateness.js';
import { runMemory } from './scenarios/memory.js';
import { CLUSTER_BACKENDS, runCluster, type SharedReference } from './scenarios/cluster.js';
import { runReaction } from './scenarios/reaction.js';
import { runUi } from './scenarios/ui.js';
import { runApply } from './scenarios/apply.js';
import { runStartup } from './scenarios/startup.js';
import { runCronPeer } from './scenarios/cron-peer.js';
import { runScale } from './scenarios/scale.js';
import { drainMs, runThroughput } from './scenarios/throughput.js';

const SCENARIOS = ['lateness', 'etcd', 'zookeeper', 'memory', 'reaction', 'apply', 'ui', 'startup', 'cron', 'scale', 'throughput'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Results extends SummaryInput {
  config: Record<string, number | string>;
}

/** A comma list of integers >= 1 (e.g. BENCH_SCALE=1000,10000). */
function envIntList(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const values = raw.split(',').map((v) => v.trim()).filter((v) => v !== '').map(Number);
  if (values.length === 0 || !values.every((v) => Number.isInteger(v) && v >= 1)) {
    process.stderr.write(`bench: ${name} must be a comma list of integers >= 1, got "${raw}"\n`);
    process.exit(2);
  }
  return values;
}

function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) {
    process.stderr.write(`bench: ${name} must be an integer >= ${min}, got "${raw}"\n`);
    process.exit(2);
  }
  return v;
}

const log = (msg: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

async function main(): Promise<void> {
  installCleanupHandlers();
  const seconds = envInt('BENCH_SECONDS', 60);
  const latenessJobs = envInt('BENCH_LATENESS_JOBS', 20);
  const latenessBackground = envInt('BENCH_LATENESS_BACKGROUND', 100_000, 0);
  const spawners = process.env.BENCH_SPAWNERS ? envInt('BENCH_SPAWNERS', 0, 0) : null;
  const jobs = envInt('BENCH_JOBS', 100_000);
  const apiSample = envInt('BENCH_API_SAMPLE', 5000);
  const apiBudget = envInt('BENCH_API_BUDGET', 300, 0);
  const quietWait = envInt('BENCH_QUIET_WAIT', 0, 0);
  const failovers = envInt('BENCH_FAILOVERS', 5);
  const reactionSamples = envInt('BENCH_REACTION_SAMPLES', 5);
  const startupSamples = envInt('BENCH_STARTUP_SAMPLES', 10);
  const cronMinutes = envInt('BENCH_CRON_MINUTES', 6);
  const scaleSizes = envIntList('BENCH_SCALE', [1000, 10_000, 100_000, 1_000_000]);
  const scaleChunk = envInt('BENCH_SCALE_CHUNK', 50_000);
  if (scaleChunk > 250_000) {
    // POST /v1/jobs/bulk takes at most 128 MiB of body: ~300k of these jobs.
    process.stderr.write(`bench: BENCH_SCALE_CHUNK must be at most 250000 (the bulk endpoint's body limit), got ${scaleChunk}\n`);
    process.exit(2);
  }
  const scaleIdle = envInt('BENCH_SCALE_IDLE', 3, 0);
  const throughputSeconds = envInt('BENCH_THROUGHPUT_SECONDS', 60);
  const throughputHttpJobs = envInt('BENCH_THROUGHPUT_HTTP_JOBS', 600, 0);
  const throughputProbe = (process.env.BENCH_THROUGHPUT_PROBE ?? '').split(',').filter((x) => x.trim() !== '').map(Number);
  if (throughputProbe.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`BENCH_THROUGHPUT_PROBE: positive integers, comma-separated; got "${process.env.BENCH_THROUGHPUT_PROBE}"`);
  const settle = async (): Promise<PhaseConditions> => ({
    cpuBusy: await waitForQuiet(quietWait * 1000, 0.2, log),
    load1: load1(),
  });
  const scenarios = new Set<Scenario>();
  for (const raw of (process.env.BENCH_SCENARIOS || SCENARIOS.join(',')).split(',')) {
    const s = raw.trim();
    if (s === '') continue;
    if (!SCENARIOS.some((known) => known === s)) {
      process.stderr.write(`bench: unknown scenario "${s}" (use ${SCENARIOS.join(', ')})\n`);
      process.exit(2);
    }
    scenarios.add(s as Scenario);
  }
  if (scenarios.size === 0) {
    process.stderr.write('bench: BENCH_SCENARIOS names no scenario\n');
    process.exit(2);
  }

  // Every wait inside is bounded too; this is the backstop for anything that isn't.
  // etcd, zookeeper: ~30 s of bounded steps per kill in the worst case, several times over; one
  // reference side between them unless the lateness scenario ran (zookeeper reuses etcd's);
  // ZooKeeper's JVMs may take up to 120 s to serve on a busy machine.
  const clusterScenarios = CLUSTER_BACKENDS.filter((b) => scenarios.has(b));
  const clusterReference = clusterScenarios.length > 0 && !scenarios.has('lateness');
  const phases =
    (scenarios.has('lateness') ? 2 : 0) +
    (scenarios.has('memory') ? 1 : 0) +
    (scenarios.has('scale') ? 1 : 0) +
    (scenarios.has('throughput') ? (throughputHttpJobs > 0 ? 3 : 2) : 0) +
    clusterScenarios.length * 2 +
    (clusterReference ? 1 : 0);
  const budgetSeconds =
    phases * (quietWait + 10) +
    // Seeding the background jobs took 14–38 s per 100k here.
    (scenarios.has('lateness') ? 2 * seconds + 180 + Math.ceil(latenessBackground / 100_000) * 120 : 0) +
    (scenarios.has('memory') ? apiBudget + 900 : 0) +
    clusterScenarios.length * (seconds + 400 + failovers * 200) +
    (scenarios.has('zookeeper') ? 120 : 0) +
    (clusterReference ? seconds + 90 : 0) +
    // reaction: three bounded loops of short runs (30 s waits at most each).
    (scenarios.has('reaction') ? 120 + reactionSamples * 3 * 30 : 0) +
    (scenarios.has('ui') ? 900 : 0) +
    (scenarios.has('apply') ? 900 : 0) +
    (scenarios.has('startup') ? 20 * startupSamples : 0) +
    // cron: apt-get install (bounded 2 × 180 s + update), up to a minute to the first boundary, 30 s grace.
    (scenarios.has('cron') ? cronMinutes * 60 + 660 + quietWait : 0) +
    // scale, per N: two starts and stops, idle, requests (~120 s), and creation, load and the
    // filtered listings, which grow with N: 300 s per 100k jobs is several times the targets.
    (scenarios.has('scale') ? 30 + scaleSizes.reduce((s, n) => s + 120 + scaleIdle + Math.ceil((n / 100_000) * 300), 0) : 0) +
    // throughput: the reference's probes and window, the agent's window and stop (300 s at most),
    // then the cluster's start, window, drain (drainMs at most), reading and stop.
    (scenarios.has('throughput') ? 2 * throughputSeconds + 420 + (throughputHttpJobs > 0 ? throughputSeconds + drainMs(throughputSeconds) / 1000 + 300 : 0) : 0);
  const watchdog = setTimeout(() => {
    log(`watchdog: the bench ran longer than ${budgetSeconds} s; stopping`);
    cleanupAll();
    process.exit(1);
  }, budgetSeconds * 1000);
  watchdog.unref();

  const started = performance.now();
  const results: Results = {
    machine: machineInfo(),
    config: {
      seconds,
      latenessJobs,
      latenessBackground,
      spawners: spawners ?? 'default',
      jobs,
      apiSample,
      apiBudget,
      quietWait,
      failovers,
      scenarios: SCENARIOS.filter((s) => scenarios.has(s)).join(','),
      ...(scenarios.has('scale') ? { scale: scaleSizes.join(','), scaleChunk, scaleIdle } : {}),
      ...(scenarios.has('throughput') ? { throughputSeconds, throughputHttpJobs } : {}),
    },
  };
  log(`machine: ${results.machine.nproc} × ${results.machine.cpuModel}, ${results.machine.memTotalMiB} MiB, node ${results.machine.node}`);

  if (scenarios.has('lateness')) {
    results.lateness = await runLateness({ jobs: latenessJobs, seconds, log, settle, background: latenessBackground, spawners });
  }
  // Without the lateness scenario, the first cluster scenario measures the reference and the next reuses it.
  let sharedReference: SharedReference | undefined;
  for (const backend of clusterScenarios) {
    const r = await runCluster({ backend, jobs: latenessJobs, seconds, failovers, log, settle, lateness: results.lateness, reference: sharedReference });
    results[backend] = r;
    sharedReference ??= { jobs: r.lateness.jobs, seconds: r.lateness.seconds, figures: r.lateness.reference, from: r.lateness.referenceFrom };
  }
  const clusters = CLUSTER_BACKENDS.flatMap((b) => results[b] ?? []);
  if (scenarios.has('memory')) {
    results.memory = await runMemory({ jobs, apiSample, apiBudgetSeconds: apiBudget, concurrency: 8, idleSeconds: 5, log, settle });
  }
  if (scenarios.has('reaction')) {
    results.reaction = await runReaction({ samples: reactionSamples, log });
  }
  if (scenarios.has('apply')) {
    results.apply = await runApply({ jobs: envInt('BENCH_APPLY_JOBS', 100_000), log });
  }
  if (scenarios.has('ui')) {
    results.ui = await runUi({ jobs: envInt('BENCH_UI_JOBS', 100_000), executions: 100, samples: envInt('BENCH_UI_SAMPLES', 5), log });
  }
  if (scenarios.has('startup')) {
    results.startup = await runStartup({ samples: startupSamples, log });
  }
  if (scenarios.has('cron')) {
    results.cron = await runCronPeer({ entries: 100, minutes: cronMinutes, log, settle });
  }
  if (scenarios.has('scale')) {
    results.scale = await runScale({ sizes: scaleSizes, chunk: scaleChunk, idleSeconds: scaleIdle, log, settle });
  }
  if (scenarios.has('throughput')) {
    results.throughput = await runThroughput({ seconds: throughputSeconds, httpJobs: throughputHttpJobs, ...(throughputProbe.length > 0 ? { probe: throughputProbe } : {}), log, settle });
  }
  results.durationSeconds = Math.round((performance.now() - started) / 1000);

  process.stdout.write(`${renderSummary(results)}\n`);

  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  log(`results written to ${join(dir, 'latest.json')}`);
  log(`charts written: ${writeCharts(results, dir).map((f) => f.slice(dir.length + 1)).join(', ') || 'none'}`);
  clearTimeout(watchdog);
  const failed = clusters.filter(({ failover: { ticks: t } }) => t.duplicates > 0 || t.lost > 0 || t.offPhase > 0);
  const failures = failed.map(
    ({ backend, failover: { ticks: t } }) => `${backend} failover: ${t.duplicates} duplicated, ${t.lost} lost, ${t.offPhase} off-phase ticks (expected none)`,
  );
  const tp = results.throughput;
  // Runs still in flight make the request count differ without anything being wrong: only a drained cluster is judged on it.
  if (tp && (tp.single.duplicates > 0 || (tp.cluster && (tp.cluster.duplicates > 0 || (tp.cluster.drained && tp.cluster.requestMismatch > 0))))) {
    failures.push(
      `throughput: ${tp.single.duplicates} duplicated records on the single agent` +
        (tp.cluster ? `, ${tp.cluster.duplicates} on the cluster, ${tp.cluster.requestMismatch} requests off the records (expected none)` : ''),
    );
  }
  if (failures.length > 0) throw new Error(failures.join('; '));
}

main().then(
  () => {
    cleanupAll();
    process.exit(0);
  },
  (err: unknown) => {
    if (err instanceof AgentError) {
      process.stderr.write(`bench: ${err.message}\n--- agent log ---\n${err.logs.join('\n')}\n--- end of agent log ---\n`);
    } else {
      process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    cleanupAll();
    process.exit(1);
  },
);
