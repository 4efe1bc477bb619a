/**
 * Scenario 9: the scale curve of one agent (embedded store) at N jobs each (default 1k, 10k, 100k,
 * 1M), every N on a fresh data dir: creation through POST /v1/jobs/bulk in chunks, RSS right
 * after, the store's size on disk, a restart timed to `scheduler: started` (all N jobs loaded),
 * idle and peak RSS, then the latency of a page of GET /v1/jobs, of GET /v1/jobs/NAME and of a
 * filtered listing (`q=`, which reads every job: the slow path). Reference: a bare Node process.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, api, postBulk, type AgentHandle } from '../lib/agent.js';
import { removeDir, tempDir } from '../lib/cleanup.js';
import { jobDefinition } from '../lib/job-defs.js';
import { summarize } from '../lib/stats.js';
import { bareNodeRss, mib, procMemory, sleep, type PhaseConditions } from '../lib/system.js';

export interface ScaleOptions {
  /** Job counts, one point each, in this order. */
  sizes: number[];
  /** Jobs per POST /v1/jobs/bulk (its body limit is 128 MiB, ~300k of these jobs). */
  chunk: number;
  /** Seconds idle after `scheduler: started` before RSS is read. */
  idleSeconds: number;
  log: (msg: string) => void;
  settle: () => Promise<PhaseConditions>;
}

export interface ScalePoint {
  jobs: number;
  /** POST /v1/jobs/bulk requests, sent one after another. */
  chunks: number;
  /** All chunks, first request to last answer. */
  createSeconds: number;
  createSecondsPer100k: number;
  /** The first and last chunk: each bulk request reads every stored job, so later ones cost more. */
  firstChunkSeconds: number;
  lastChunkSeconds: number;
  rssAfterCreateMiB: number;
  /** Every file in the data dir after a clean stop (SQLite file, -wal, -shm). */
  storeBytes: number;
  storeMiB: number;
  /** Restart on the same store: spawn → `api: HTTP server listening`. */
  listeningMs: number;
  /** Restart: spawn → `scheduler: started` (all jobs loaded; the count is checked). */
  schedulerStartedMs: number;
  idleRssMiB: number;
  /** VmHWM when idle RSS is read: the peak of the restart and load. */
  peakRssMiB: number;
  /** GET /v1/jobs?_start=0&_end=50, after one warm-up. */
  listRequests: number;
  listP50Ms: number | null;
  listP99Ms: number | null;
  listMaxMs: number | null;
  /** GET /v1/jobs/NAME of pseudo-random existing jobs, after one warm-up. */
  getRequests: number;
  getP50Ms: number | null;
  getP99Ms: number | null;
  getMaxMs: number | null;
  /** GET /v1/jobs?_start=0&_end=50&q=… (no warm-up): filtered in memory after reading every job. */
  filteredQuery: string;
  filteredMatches: number;
  filteredRequests: number;
  filteredP50Ms: number | null;
  filteredMaxMs: number | null;
  /** After all the requests above (the filtered ones hold every job in memory for a moment). */
  rssAfterQueriesMiB: number;
  peakAfterQueriesMiB: number;
}

export interface ScaleResult {
  bareNodeMiB: number;
  chunk: number;
  idleSeconds: number;
  before: PhaseConditions;
  points: ScalePoint[];
}

const LIST_REQUESTS = 30;
const GET_REQUESTS = 50;
const FILTERED_REQUESTS = 3;
/** Matches the ids 000420–000429 in the name (`team-task-000420`) and nothing in the display name: 10 jobs from N = 430. */
const FILTER = '-00042';

/** NaN (no samples) as null, rounded to 0.1 ms. */
const msOrNull = (v: number): number | null => (Number.isFinite(v) ? Math.round(v * 10) / 10 : null);
const sec = (v: number): number => Math.round(v * 100) / 100;

/** Sum of the sizes of every file under `dir`. */
function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += dirBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

/** Deterministic pseudo-random integers in [0, n) (mulberry32), so runs ask for the same names. */
function randomIndexes(seed: number, n: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await f();
  return { ms: performance.now() - t, value };
}

async function measurePoint(n: number, o: ScaleOptions): Promise<ScalePoint> {
  const dir = tempDir(`kairos-bench-scale-${n}-`);
  const dataDir = join(dir, 'data');
  // A day ahead: the scheduler parses and holds every job, none fires during the measurement.
  const startsAt = new Date(Date.now() + 24 * 3600_000).toISOString();
  let agent: AgentHandle | null = null;
  const step = (what: string): void => o.log(`scale ${n}: ${what}`);
  try {
    agent = await startAgent({ dataDir });
    await agent.waitForLog(/scheduler: started/, 30_000);

    // Creation: chunks one after another, each its own bulk request (one transaction each).
    const createUrl = agent.url;
    const chunks = Math.ceil(n / o.chunk);
    const chunkSeconds: number[] = [];
    let filteredMatches = 0;
    let createSeconds = 0;
    for (let from = 0; from < n; from += o.chunk) {
      const parts: string[] = [];
      for (let i = from; i < Math.min(n, from + o.chunk); i++) {
        const def = jobDefinition(i, startsAt);
        if (def.name.includes(FILTER) || def.displayname.includes(FILTER)) filteredMatches++;
        parts.push(JSON.stringify(def));
      }
      // `detail: "diff"` as `kairos apply` sends it: the answer names the jobs, no definitions.
      const body = `{"jobs":[${parts.join(',')}],"prune":null,"dry_run":false,"detail":"diff"}`;
      const { ms } = await timed(() => postBulk(createUrl, body, 600_000));
      chunkSeconds.push(ms / 1000);
      createSeconds += ms / 1000;
      if (chunks > 1) step(`chunk ${chunkSeconds.length}/${chunks}: ${from + parts.length} jobs stored (${(ms / 1000).toFixed(1)} s)`);
    }
    const afterCreate = procMemory(agent.pid);
    const createSecondsPer100k = createSeconds * (100_000 / n);
    step(`created in ${createSeconds.toFixed(1)} s (${createSecondsPer100k.toFixed(1)} s per 100k); RSS ${mib(afterCreate.rssKiB)} MiB`);
    const count = await api(agent.url, 'GET', '/v1/jobs?_start=0&_end=1', undefined, 120_000);
    if (Number(count.headers.get('x-total-count')) !== n) {
      throw new Error(`scale ${n}: the agent holds ${count.headers.get('x-total-count')} jobs after creation, expected ${n}`);
    }

    const stopCode = await agent.stop(300_000);
    agent = null;
    if (stopCode !== 0) throw new Error(`scale ${n}: agent exited with ${stopCode} after job creation (expected 0)`);
    const storeBytes = dirBytes(dataDir);
    step(`store on disk ${mib(storeBytes / 1024)} MiB`);

    // Restart on the same store: the HTTP listener comes first, then every job is loaded.
    agent = await startAgent({ dataDir, readyTimeoutMs: 120_000 });
    const listening = await agent.waitForLog(/api: HTTP server listening/, 1000);
    const started = await agent.waitForLog(/scheduler: started/, 600_000);
    const jobsLoaded = Number(/jobs=(\d+)/.exec(started.line)?.[1] ?? Number.NaN);
    if (jobsLoaded !== n) throw new Error(`scale ${n}: scheduler loaded ${jobsLoaded} jobs, expected ${n}: ${started.line}`);
    const listeningMs = Math.round(listening.at - agent.spawnedAt);
    const schedulerStartedMs = Math.round(started.at - agent.spawnedAt);
    step(`restart: listening after ${listeningMs} ms, scheduler started after ${schedulerStartedMs} ms`);
    await sleep(o.idleSeconds * 1000);
    const idle = procMemory(agent.pid);
    step(`idle RSS ${mib(idle.rssKiB)} MiB (peak ${mib(idle.hwmKiB)} MiB)`);

    const url = agent.url;
    const page = Math.min(50, n);
    const listOnce = async (): Promise<number> => {
      const { ms, value: res } = await timed(() => api<unknown[]>(url, 'GET', '/v1/jobs?_start=0&_end=50', undefined, 60_000));
      if (res.status !== 200 || !Array.isArray(res.body) || res.body.length !== page) {
        throw new Error(`scale ${n}: GET /v1/jobs?_start=0&_end=50: HTTP ${res.status}, ${Array.isArray(res.body) ? res.body.length : 'no'} items (expected ${page})`);
      }
      return ms;
    };
    await listOnce();
    const list: number[] = [];
    for (let k = 0; k < LIST_REQUESTS; k++) list.push(await listOnce());

    const pick = randomIndexes(n, n);
    const getOnce = async (): Promise<number> => {
      const name = jobDefinition(pick(), startsAt).name;
      const { ms, value: res } = await timed(() => api<{ name?: string }>(url, 'GET', `/v1/jobs/${encodeURIComponent(name)}`, undefined, 60_000));
      if (res.status !== 200 || res.body?.name !== name) {
        throw new Error(`scale ${n}: GET /v1/jobs/${name}: HTTP ${res.status}, ${JSON.stringify(res.body).slice(0, 200)}`);
      }
      return ms;
    };
    await getOnce();
    const get: number[] = [];
    for (let k = 0; k < GET_REQUESTS; k++) get.push(await getOnce());

    const filteredPath = `/v1/jobs?_start=0&_end=50&q=${encodeURIComponent(FILTER)}`;
    const filtered: number[] = [];
    for (let k = 0; k < FILTERED_REQUESTS; k++) {
      const { ms, value: res } = await timed(() => api<unknown[]>(url, 'GET', filteredPath, undefined, 300_000));
      const total = Number(res.headers.get('x-total-count'));
      if (res.status !== 200 || !Array.isArray(res.body) || res.body.length !== Math.min(50, filteredMatches) || total !== filteredMatches) {
        throw new Error(
          `scale ${n}: GET ${filteredPath}: HTTP ${res.status}, ${Array.isArray(res.body) ? res.body.length : 'no'} items, ` +
            `X-Total-Count ${total} (expected ${filteredMatches})`,
        );
      }
      filtered.push(ms);
    }
    const afterQueries = procMemory(agent.pid);
    const l = summarize(list);
    const g = summarize(get);
    const f = summarize(filtered);
    step(
      `list page p50 ${l.p50.toFixed(1)} / p99 ${l.p99.toFixed(1)} ms; get p50 ${g.p50.toFixed(1)} / p99 ${g.p99.toFixed(1)} ms; ` +
        `filtered p50 ${f.p50.toFixed(1)} / max ${f.max.toFixed(1)} ms; RSS after ${mib(afterQueries.rssKiB)} MiB (peak ${mib(afterQueries.hwmKiB)} MiB)`,
    );

    const stopped = await agent.stop(300_000);
    agent = null;
    if (stopped !== 0) throw new Error(`scale ${n}: agent exited with ${stopped} after the measurements (expected 0)`);

    return {
      jobs: n,
      chunks,
      createSeconds: sec(createSeconds),
      createSecondsPer100k: sec(createSecondsPer100k),
      firstChunkSeconds: sec(chunkSeconds[0] ?? Number.NaN),
      lastChunkSeconds: sec(chunkSeconds[chunkSeconds.length - 1] ?? Number.NaN),
      rssAfterCreateMiB: mib(afterCreate.rssKiB),
      storeBytes,
      storeMiB: mib(storeBytes / 1024),
      listeningMs,
      schedulerStartedMs,
      idleRssMiB: mib(idle.rssKiB),
      peakRssMiB: mib(idle.hwmKiB),
      listRequests: l.n,
      listP50Ms: msOrNull(l.p50),
      listP99Ms: msOrNull(l.p99),
      listMaxMs: msOrNull(l.max),
      getRequests: g.n,
      getP50Ms: msOrNull(g.p50),
      getP99Ms: msOrNull(g.p99),
      getMaxMs: msOrNull(g.max),
      filteredQuery: FILTER,
      filteredMatches,
      filteredRequests: f.n,
      filteredP50Ms: msOrNull(f.p50),
      filteredMaxMs: msOrNull(f.max),
      rssAfterQueriesMiB: mib(afterQueries.rssKiB),
      peakAfterQueriesMiB: mib(afterQueries.hwmKiB),
    };
  } finally {
    if (agent) await agent.stop(30_000).catch(() => undefined);
    removeDir(dir);
  }
}

export async function runScale(o: ScaleOptions): Promise<ScaleResult> {
  const before = await o.settle();
  const bare = await bareNodeRss();
  o.log(`scale: bare node RSS ${mib(bare.rssKiB)} MiB; sizes ${o.sizes.join(', ')} jobs, ${o.chunk} per bulk request`);
  const points: ScalePoint[] = [];
  for (const n of o.sizes) points.push(await measurePoint(n, o));
  return { bareNodeMiB: mib(bare.rssKiB), chunk: o.chunk, idleSeconds: o.idleSeconds, before, points };
}
