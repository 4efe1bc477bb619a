/**
 * Scenario 4: how fast Kairos reacts to what ends a run or cuts off its store.
 * These were bounds inside tests once ("< 2 s", "< 5 s"); tests now assert only
 * events and order, and the figures live here:
 * - a job's `timeout` (300 ms) → the run recorded finished (its stored finished_at − started_at);
 * - SIGINT with a run in progress and `--shutdown-timeout 500ms` → the agent has exited;
 * - etcd SIGKILLed → a store call rejects with "etcd unavailable" (call deadline 2 s).
 */
import { api, apiOk, startAgent } from '../lib/agent.js';
import { removeDir, tempDir } from '../lib/cleanup.js';
import { startBenchEtcd } from '../lib/etcd.js';
import { summarize, type Summary } from '../lib/stats.js';
import { sleep } from '../lib/system.js';
import { EtcdStore } from '../../src/backends/etcd/etcd-store.js';
import type { Execution } from '../../src/job/types.js';

export interface ReactionOptions {
  samples: number;
  log: (msg: string) => void;
}

export interface ReactionResult {
  samples: number;
  /** finished_at − started_at of a `sleep 30` run with `timeout: 300ms` (ms). */
  timeoutKill: Summary;
  /** SIGINT → exit, one `sleep 30` running, `--shutdown-timeout 500ms` (ms). */
  shutdown: Summary;
  /** etcd member SIGKILLed → getJob rejected (ms). */
  etcdDown: Summary;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`reaction: timed out waiting for ${what}`);
    await sleep(20);
  }
}

const job = (name: string, config: Record<string, string>): Record<string, unknown> => ({
  name,
  schedule: '@manually',
  executor: 'shell',
  executor_config: { command: 'sleep 30', ...config },
});

export async function runReaction(o: ReactionOptions): Promise<ReactionResult> {
  const timeoutKill: number[] = [];
  const shutdown: number[] = [];
  const etcdDown: number[] = [];

  o.log('reaction: job timeout');
  const dir = tempDir('kairos-bench-reaction-');
  const agent = await startAgent({ dataDir: dir });
  try {
    await apiOk(agent.url, 'POST', '/v1/jobs', job('timeout', { timeout: '300ms' }), 201);
    for (let i = 0; i < o.samples; i++) {
      await apiOk(agent.url, 'POST', '/v1/jobs/timeout/run?force=true', undefined, 202);
      const done = await until(`timeout run ${i + 1}`, async () => {
        const r = await api<Execution[]>(agent.url, 'GET', '/v1/jobs/timeout/executions');
        const finished = r.body.filter((e) => e.finished_at !== null);
        return finished.length > i ? finished[0] : undefined;
      });
      timeoutKill.push(Date.parse(done.finished_at as string) - Date.parse(done.started_at));
    }
  } finally {
    await agent.stop();
    removeDir(dir);
  }

  o.log('reaction: shutdown deadline');
  for (let i = 0; i < o.samples; i++) {
    const d = tempDir('kairos-bench-reaction-');
    const a = await startAgent({ dataDir: d, args: ['--shutdown-timeout', '500ms'] });
    try {
      await apiOk(a.url, 'POST', '/v1/jobs', job('stuck', {}), 201);
      await apiOk(a.url, 'POST', '/v1/jobs/stuck/run', undefined, 202);
      await until('the run to start', async () => ((await api<Execution[]>(a.url, 'GET', '/v1/busy')).body.length > 0 ? true : undefined));
      const t0 = performance.now();
      a.proc.kill('SIGINT');
      await a.exited;
      shutdown.push(performance.now() - t0);
    } finally {
      await a.stop().catch(() => undefined);
      removeDir(d);
    }
  }

  o.log('reaction: etcd lost');
  const etcd = await startBenchEtcd(1);
  const store = await EtcdStore.connect({ endpoints: etcd.endpoints, keyspace: 'kairos-bench-reaction' });
  try {
    for (let i = 0; i < o.samples; i++) {
      await until('etcd to answer', async () => ((await store.ping().then(() => true, () => false)) ? true : undefined));
      await etcd.stopMember(0, true);
      const t0 = performance.now();
      await store.getJob('a').then(
        () => {
          throw new Error('reaction: getJob succeeded with etcd down');
        },
        () => undefined,
      );
      etcdDown.push(performance.now() - t0);
      await etcd.startMember(0);
    }
  } finally {
    await store.close();
    await etcd.stop();
  }
  return { samples: o.samples, timeoutKill: summarize(timeoutKill), shutdown: summarize(shutdown), etcdDown: summarize(etcdDown) };
}
