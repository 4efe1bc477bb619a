/**
 * Bounded soak: one agent on the embedded store and a 3-agent cluster on etcd
 * each run 20 `@every 1s` jobs of `true` (one agent per tick in the cluster)
 * plus a stream of run-nows, for KAIROS_SOAK_MINUTES (default 1; 10 for a long
 * run). From /proc, after a warm-up and again at the end: each agent's RSS,
 * its open file descriptors, and its child processes (and zombies among them).
 * Each agent also preloads test/helpers/heap-probe.mjs, which forces a full
 * GC every 10 s and logs the live heap. Asserted: live heap after GC
 * < start + 16 MiB (the leak check), RSS < start + 64 MiB (without the forced
 * GCs, RSS of the etcd agents drifted up to +82 MiB in 10 minutes with a flat
 * live heap: V8 growing lazily, not retained objects; see docs/reliability.md;
 * RSS is taken when the load ends, before the wind-down),
 * fds <= start + 10, and once the jobs are disabled and nothing runs, no child
 * process and no zombie is left. The soak's length is the one fixed wait (the load must
 * last a known time). Prints `FAULT-FIGURES {...}`.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, eventually, removeDir, ROOT, startAgent, type AgentHandle } from '../helpers/agent.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { randomKeyspace } from '../helpers/cluster.js';
import type { Execution, Job } from '../../src/job/types.js';

const MINUTES = Number(process.env.KAIROS_SOAK_MINUTES ?? 1);
const JOBS = 20;
const RSS_BOUND = 64 * 1024 * 1024;
const HEAP_BOUND_MIB = 16;
const PROBE = { NODE_OPTIONS: `--import ${join(ROOT, 'test', 'helpers', 'heap-probe.mjs')}` };
const FD_BOUND = 10;
const RUN_NOW_EVERY_MS = 300;

let etcd: EtcdCluster | undefined;
const agents: AgentHandle[] = [];
/** Names of `agents`, index for index (cluster agents register in the order they come up). */
const agentNames: string[] = [];

after(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGKILL', 10_000).catch(() => undefined)));
  await etcd?.stop();
  for (const a of agents) removeDir(a.dataDir);
});

interface Sample {
  rss: number;
  fds: number;
  children: number;
  zombies: number;
}

/** Processes by parent: pid → its children with their state. */
function childrenOf(): Map<number, { pid: number; state: string }[]> {
  const out = new Map<number, { pid: number; state: string }[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // After the parenthesised command name: state, ppid, ...
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const list = out.get(Number(ppid)) ?? [];
    list.push({ pid: Number(entry), state: state ?? '' });
    out.set(Number(ppid), list);
  }
  return out;
}

function isSpawner(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('spawner-main');
  } catch {
    return false;
  }
}

/**
 * The agent's own figures, and the job processes it left: its children, except its spawner
 * processes (--spawners), which stay for the agent's life; their children are jobs, counted.
 */
function sample(pid: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  const tree = childrenOf();
  const jobs: { pid: number; state: string }[] = [];
  for (const child of tree.get(pid) ?? []) {
    if (child.state !== 'Z' && isSpawner(child.pid)) jobs.push(...(tree.get(child.pid) ?? []));
    else jobs.push(child);
  }
  return { rss, fds, children: jobs.length, zombies: jobs.filter((j) => j.state === 'Z').length };
}

const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

test(`soak for ${MINUTES} min: no growth in RSS or fds, no leftover children or zombies`, { timeout: (MINUTES * 60 + 240) * 1000 }, async (t) => {
  const solo = await startAgent({ env: PROBE });
  agents.push(solo);
  agentNames.push('embedded');
  await solo.waitForLog(/Cluster leadership acquired/);
  etcd = await startEtcd(1);
  const e = etcd;
  const keyspace = randomKeyspace();
  // As startClusterAgent, plus the heap probe.
  // allSettled: every agent that does start is registered (and killed in `after`) even if another fails.
  const settled = await Promise.allSettled(['c1', 'c2', 'c3'].map(async (name) => {
    const a = await startAgent({
      env: PROBE,
      args: ['--backend', 'etcd', '--backend-machine', e.endpoints.join(','), '--keyspace', keyspace, '--node-name', name, '--lease-ttl', '2s', '--tag', 'role=any'],
    });
    agents.push(a);
    agentNames.push(name);
    return a;
  }));
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  const cluster = settled.map((r) => (r as PromiseFulfilledResult<AgentHandle>).value);
  await eventually('a cluster leader', async () => (await api(cluster[0]!.url, 'GET', '/v1/leader')).status === 200, 30_000);

  const sides = [
    { name: 'embedded', entry: solo, agents: [solo], tags: null as Record<string, string> | null },
    { name: 'etcd', entry: cluster[0]!, agents: cluster, tags: { role: 'any:1' } as Record<string, string> | null },
  ];
  for (const side of sides) {
    for (let i = 0; i < JOBS; i++) {
      const r = await api(side.entry.url, 'POST', '/v1/jobs', {
        name: `soak-${i}`,
        schedule: '@every 1s',
        tags: side.tags,
        executor: 'shell',
        executor_config: { command: 'true' },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const r = await api(side.entry.url, 'POST', '/v1/jobs', {
      name: 'soak-now',
      schedule: '@manually',
      tags: side.tags,
      executor: 'shell',
      executor_config: { command: 'true' },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }

  const executionsRun = async (): Promise<number> => {
    let n = 0;
    for (const side of sides) {
      const r = await api<Job[]>(side.entry.url, 'GET', '/v1/jobs');
      for (const j of r.body) n += j.success_count + j.error_count;
    }
    return n;
  };
  /** The live heap (MiB) from the next probe line each agent logs from now on. */
  const freshHeap = async (): Promise<number[]> => {
    const marks = agents.map((a) => a.logs.length);
    return Promise.all(agents.map((a, i) => eventually('a heap probe line', async () => {
      const line = a.logs.slice(marks[i]).find((l) => l.startsWith('HEAPPROBE'));
      return line ? Number(/heapUsed=([\d.]+)/.exec(line)?.[1]) : undefined;
    }, 30_000, 200)));
  };
  // Warm-up: every job has run a few times everywhere before the first sample.
  await eventually('warm-up executions', async () => (await executionsRun()) >= 2 * JOBS * 5, 120_000, 500);
  const heapStart = await freshHeap();
  const start = agents.map((a) => sample(a.proc.pid as number));
  const startedRuns = await executionsRun();

  // The load: scheduled jobs run by themselves; run-nows paced on top, until the soak ends.
  let runNows = 0;
  let runNowRefused = 0;
  const deadline = Date.now() + MINUTES * 60_000;
  let peakRss = start.map((s) => s.rss);
  /** RSS of each agent at every whole minute of the soak (the trend a leak would show). */
  const byMinute: number[][] = [];
  /** The live heap after the latest forced GC (heap probe), per agent, every minute. */
  const heapByMinute: (number | null)[][] = [];
  const heapAfterGc = (a: AgentHandle): number | null => {
    for (let k = a.logs.length - 1; k >= 0; k--) {
      const m = /HEAPPROBE heapUsed=([\d.]+)/.exec(a.logs[k] as string);
      if (m) return Number(m[1]);
    }
    return null;
  };
  const soakStart = Date.now();
  while (Date.now() < deadline) {
    if (Date.now() - soakStart >= (byMinute.length + 1) * 60_000) {
      byMinute.push(agents.map((a) => mib(sample(a.proc.pid as number).rss)));
      heapByMinute.push(agents.map(heapAfterGc));
    }
    await Promise.all(sides.map(async (side) => {
      const r = await api(side.entry.url, 'POST', '/v1/jobs/soak-now/run');
      if (r.status === 202) runNows++;
      else runNowRefused++;
    }));
    peakRss = agents.map((a, i) => Math.max(peakRss[i] as number, sample(a.proc.pid as number).rss));
    await new Promise((r) => setTimeout(r, RUN_NOW_EVERY_MS));
  }
  const runsDuringSoak = (await executionsRun()) - startedRuns;
  // RSS growth is judged over the load itself: the wind-down below (40 toggles, every agent asked
  // for its busy list) once left one etcd agent's RSS 47 MiB above its soak peak with a flat live
  // heap (allocator high-water, not a leak; reported as rss_mib_after_wind_down).
  const loadEnd = agents.map((a) => sample(a.proc.pid as number));

  // Stop the load and wait until nothing runs anywhere.
  for (const side of sides) {
    for (let i = 0; i < JOBS; i++) assert.equal((await api(side.entry.url, 'POST', `/v1/jobs/soak-${i}/toggle`)).status, 200);
  }
  for (const [i, a] of agents.entries()) {
    let left: Execution[] = [];
    await eventually('nothing running', async () => {
      left = (await api<Execution[]>(a.url, 'GET', '/v1/busy')).body;
      return left.length === 0;
    }, 60_000).catch((err: Error) => {
      // What stayed "running", and what the agent said about it: the cause, not just the symptom.
      const ids = left.map((e) => e.id);
      const said = agents.flatMap((b, k) => b.logs.filter((l) => ids.some((id) => l.includes(id))).map((l) => `${agentNames[k]}: ${l}`));
      throw new Error(`${err.message} on ${agentNames[i]}; still running: ${JSON.stringify(left.map(({ output: _, ...e }) => e))}\n${said.slice(-40).join('\n')}`);
    });
  }
  const end = await eventually('no child processes left', async () => {
    const s = agents.map((a) => sample(a.proc.pid as number));
    return s.every((x) => x.children === 0) ? s : undefined;
  }, 20_000).catch(() => agents.map((a) => sample(a.proc.pid as number)));
  const totalRuns = await executionsRun();
  const heapEnd = await freshHeap();

  const names = agentNames;
  const figures = {
    test: 'soak',
    minutes: MINUTES,
    executions_run: totalRuns,
    executions_during_soak: runsDuringSoak,
    run_nows: runNows,
    run_nows_refused: runNowRefused,
    agents: Object.fromEntries(names.map((n, i) => [n, {
      heap_mib_start: heapStart[i],
      heap_mib_end: heapEnd[i],
      rss_mib_start: mib(start[i]!.rss),
      rss_mib_peak: mib(peakRss[i]!),
      rss_mib_end: mib(loadEnd[i]!.rss),
      rss_mib_after_wind_down: mib(end[i]!.rss),
      fds_start: start[i]!.fds,
      fds_end: end[i]!.fds,
      children_end: end[i]!.children,
      zombies_end: end[i]!.zombies,
      ...(byMinute.length > 1 ? { rss_mib_by_minute: byMinute.map((m) => m[i]) } : {}),
      ...(heapByMinute.some((m) => m[i] !== null) ? { heap_mib_after_gc_by_minute: heapByMinute.map((m) => m[i]) } : {}),
    }])),
  };
  process.stdout.write(`FAULT-FIGURES ${JSON.stringify(figures)}\n`);

  assert.ok(runsDuringSoak >= MINUTES * 60 * JOBS, `the soak ran ${runsDuringSoak} executions`);
  names.forEach((n, i) => {
    const s = start[i] as Sample;
    const e = end[i] as Sample;
    const l = loadEnd[i] as Sample;
    assert.ok((heapEnd[i] as number) < (heapStart[i] as number) + HEAP_BOUND_MIB, `${n}: live heap ${heapStart[i]} MiB → ${heapEnd[i]} MiB (bound +${HEAP_BOUND_MIB} MiB)`);
    assert.ok(l.rss < s.rss + RSS_BOUND, `${n}: RSS ${mib(s.rss)} MiB → ${mib(l.rss)} MiB over the soak (bound +${mib(RSS_BOUND)} MiB)`);
    assert.ok(e.fds <= s.fds + FD_BOUND, `${n}: fds ${s.fds} → ${e.fds} (bound +${FD_BOUND})`);
    assert.equal(e.children, 0, `${n}: no child process left`);
    assert.equal(e.zombies, 0, `${n}: no zombie left`);
  });
  t.diagnostic(`executions: ${totalRuns} in all, ${runsDuringSoak} during the ${MINUTES} min soak; run-nows ${runNows}`);
});
