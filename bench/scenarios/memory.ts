/**
 * Scenario 2: an agent holding 100k job definitions. Creates them (through the
 * API when that is fast enough, else by seeding the store file), restarts the
 * agent so it loads them all into its scheduler, and measures startup time,
 * idle RSS against an empty Node process, and a first-page job listing.
 */
import { join } from 'node:path';
import { startAgent, api, apiOk, type AgentHandle } from '../lib/agent.js';
import { removeDir, tempDir } from '../lib/cleanup.js';
import { jobDefinition } from '../lib/job-defs.js';
import { summarize, type Summary } from '../lib/stats.js';
import { bareNodeRss, mib, procMemory, sleep, type PhaseConditions, type ProcMemory } from '../lib/system.js';
import { SqliteStore } from '../../src/backends/embedded/sqlite-store.js';
import { ExecutorRegistry } from '../../src/executors/registry.js';
import { ShellExecutor } from '../../src/executors/shell.js';
import { normalizeJobInput } from '../../src/job/schema.js';
import { mergeJob } from '../../src/core/jobs.js';
import type { Job } from '../../src/job/types.js';

export interface MemoryOptions {
  jobs: number;
  /** Jobs created through the API first, to measure its throughput. */
  apiSample: number;
  /** Create everything through the API if the sample projects the whole set within this. */
  apiBudgetSeconds: number;
  concurrency: number;
  idleSeconds: number;
  log: (msg: string) => void;
  settle: () => Promise<PhaseConditions>;
}

export interface MemoryResult {
  jobs: number;
  before: PhaseConditions;
  creation: {
    method: 'api' | 'api sample + store seed';
    concurrency: number;
    apiJobs: number;
    apiSeconds: number;
    apiJobsPerSecond: number;
    apiSampleJobs: number;
    /** The first `apiSampleJobs` only: the rate on a nearly empty store. */
    apiSampleJobsPerSecond: number;
    seededJobs: number;
    seedSeconds: number | null;
  };
  startup: { listeningMs: number; schedulerStartedMs: number; jobsLoaded: number };
  rss: {
    bareNodeMiB: number;
    agentEmptyMiB: number;
    /** After creating all jobs through the API, before the restart (null when seeded). */
    agentAfterApiCreateMiB: number | null;
    agentLoadedIdleMiB: number;
    agentLoadedPeakMiB: number;
    agentAfterListingMiB: number;
    /** (loaded − empty) / jobs × 1024: what one job definition costs the agent, KiB. */
    perJobKiB: number;
  };
  listFirstPage: { requests: number; firstMs: number; ms: Summary; total: number | null };
}

async function createViaApi(url: string, from: number, to: number, startsAt: string, concurrency: number): Promise<number> {
  let next = from;
  const t = performance.now();
  const worker = async (): Promise<void> => {
    while (next < to) {
      const i = next++;
      await apiOk(url, 'POST', '/v1/jobs', jobDefinition(i, startsAt), 201);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (performance.now() - t) / 1000;
}

/** The stored form the API would produce for the same definitions, written in one transaction. */
async function seedStore(dbFile: string, from: number, to: number, startsAt: string): Promise<number> {
  const executors = new ExecutorRegistry();
  executors.register(new ShellExecutor());
  const now = new Date().toISOString();
  const jobs: Job[] = [];
  for (let i = from; i < to; i++) jobs.push(mergeJob(null, normalizeJobInput(jobDefinition(i, startsAt), executors), now));
  const store = SqliteStore.open(dbFile);
  try {
    const t = performance.now();
    await store.putJobs(jobs);
    return (performance.now() - t) / 1000;
  } finally {
    await store.close();
  }
}

export async function runMemory(opts: MemoryOptions): Promise<MemoryResult> {
  const dir = tempDir('kairos-bench-memory-');
  const dataDir = join(dir, 'data');
  const startsAt = new Date(Date.now() + 24 * 3600_000).toISOString();
  let agent: AgentHandle | null = null;
  const before = await opts.settle();
  try {
    const bare = await bareNodeRss();
    opts.log(`memory: bare node RSS ${mib(bare.rssKiB)} MiB`);

    agent = await startAgent({ dataDir });
    await agent.waitForLog(/scheduler: started/, 30_000);
    await sleep(opts.idleSeconds * 1000);
    const empty = procMemory(agent.pid);
    opts.log(`memory: empty agent RSS ${mib(empty.rssKiB)} MiB`);

    const sample = Math.min(opts.apiSample, opts.jobs);
    const sampleSeconds = await createViaApi(agent.url, 0, sample, startsAt, opts.concurrency);
    const sampleRate = sample / sampleSeconds;
    const projected = (opts.jobs - sample) / sampleRate;
    opts.log(`memory: ${sample} jobs via API in ${sampleSeconds.toFixed(1)} s (${sampleRate.toFixed(0)} jobs/s); rest projected ${projected.toFixed(0)} s`);

    let apiJobs = sample;
    let apiSeconds = sampleSeconds;
    let seedSeconds: number | null = null;
    let afterApi: ProcMemory | null = null;
    if (projected <= opts.apiBudgetSeconds) {
      apiSeconds += await createViaApi(agent.url, sample, opts.jobs, startsAt, opts.concurrency);
      apiJobs = opts.jobs;
      opts.log(`memory: ${opts.jobs} jobs via API in ${apiSeconds.toFixed(1)} s (${(apiJobs / apiSeconds).toFixed(0)} jobs/s)`);
      afterApi = procMemory(agent.pid);
    }
    const stopCode = await agent.stop(60_000);
    agent = null;
    if (stopCode !== 0) throw new Error(`agent exited with ${stopCode} after job creation`);
    if (apiJobs < opts.jobs) {
      seedSeconds = await seedStore(join(dataDir, 'kairos.db'), apiJobs, opts.jobs, startsAt);
      opts.log(`memory: seeded ${opts.jobs - apiJobs} jobs with putJobs in ${seedSeconds.toFixed(1)} s`);
    }

    agent = await startAgent({ dataDir, readyTimeoutMs: 120_000 });
    const listening = await agent.waitForLog(/api: HTTP server listening/, 1000);
    const started = await agent.waitForLog(/scheduler: started/, 300_000);
    const jobsLoaded = Number(/jobs=(\d+)/.exec(started.line)?.[1] ?? Number.NaN);
    if (jobsLoaded !== opts.jobs) throw new Error(`scheduler loaded ${jobsLoaded} jobs, expected ${opts.jobs}: ${started.line}`);
    const startup = {
      listeningMs: Math.round(listening.at - agent.spawnedAt),
      schedulerStartedMs: Math.round(started.at - agent.spawnedAt),
      jobsLoaded,
    };
    opts.log(`memory: restart loaded ${jobsLoaded} jobs; scheduler started after ${startup.schedulerStartedMs} ms`);
    await sleep(opts.idleSeconds * 1000);
    const loaded = procMemory(agent.pid);
    opts.log(`memory: loaded agent RSS ${mib(loaded.rssKiB)} MiB (peak ${mib(loaded.hwmKiB)} MiB)`);

    const times: number[] = [];
    let total: number | null = null;
    const requests = 11;
    for (let n = 0; n < requests; n++) {
      const t = performance.now();
      const res = await api<unknown[]>(agent.url, 'GET', '/v1/jobs?_start=0&_end=50');
      times.push(performance.now() - t);
      if (res.status !== 200 || !Array.isArray(res.body) || res.body.length !== 50) {
        throw new Error(`GET /v1/jobs?_start=0&_end=50: HTTP ${res.status}, ${Array.isArray(res.body) ? res.body.length : 'no'} items`);
      }
      total = Number(res.headers.get('x-total-count'));
    }
    const afterList = procMemory(agent.pid);
    const stopped = await agent.stop(60_000);
    agent = null;
    if (stopped !== 0) opts.log(`memory: agent exited with ${stopped}`);

    return {
      jobs: opts.jobs,
      before,
      creation: {
        method: apiJobs === opts.jobs ? 'api' : 'api sample + store seed',
        concurrency: opts.concurrency,
        apiJobs,
        apiSeconds,
        apiJobsPerSecond: apiJobs / apiSeconds,
        apiSampleJobs: sample,
        apiSampleJobsPerSecond: sampleRate,
        seededJobs: opts.jobs - apiJobs,
        seedSeconds,
      },
      startup,
      rss: {
        bareNodeMiB: mib(bare.rssKiB),
        agentEmptyMiB: mib(empty.rssKiB),
        agentAfterApiCreateMiB: afterApi ? mib(afterApi.rssKiB) : null,
        agentLoadedIdleMiB: mib(loaded.rssKiB),
        agentLoadedPeakMiB: mib(loaded.hwmKiB),
        agentAfterListingMiB: mib(afterList.rssKiB),
        perJobKiB: Math.round(((loaded.rssKiB - empty.rssKiB) / opts.jobs) * 100) / 100,
      },
      // The first request also pays for JIT warm-up of the listing path, so it is reported apart.
      listFirstPage: { requests, firstMs: times[0] as number, ms: summarize(times.slice(1)), total },
    };
  } finally {
    if (agent) await agent.stop(10_000).catch(() => undefined);
    removeDir(dir);
  }
}
