/**
 * Chaos: the leader is SIGKILLed again and again while a `@every 1s` job
 * (catch_up "all") appends its scheduled instant to a file. Afterwards every
 * tick of the window must be in the file exactly once, and each failover gap
 * (kill → next dispatch) is measured. Bounded: 10 kills, each step with a deadline.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { api, eventually, removeDir, tempDir, type AgentHandle } from '../helpers/agent.js';
import { CLUSTER_BACKENDS, startBackendServers, type BackendServers } from '../helpers/backend-servers.js';
import { agreedLeader, DISPATCH_LEAD_MS, randomKeyspace, startClusterAgent } from '../helpers/cluster.js';
import { assertEveryTickOnce, tickerJob, ticksIn } from '../helpers/ticks.js';

const KILLS = Number(process.env.KAIROS_CHAOS_KILLS ?? 10);

let backendServers: BackendServers | undefined;
const live = new Map<string, AgentHandle>();
const dir = tempDir('kairos-chaos-');

/** Kills this test's agents and servers; run after each backend's test, failed or not, so a failed one leaves nothing running. */
async function cleanup(): Promise<void> {
  await Promise.all([...live.values()].map((a) => a.stop('SIGKILL').catch(() => undefined)));
  live.clear();
  await backendServers?.stop();
  backendServers = undefined;
}

after(async () => {
  await cleanup();
  removeDir(dir);
});

for (const backend of CLUSTER_BACKENDS) test(`${backend}: leader killed ${KILLS} times: every tick runs exactly once`, async (t) => {
  t.after(cleanup);
  const started = await startBackendServers(backend, 3);
  backendServers = started;
  const keyspace = randomKeyspace();
  const common = { backend, endpoints: started.endpoints, keyspace };
  const start = async (name: string): Promise<AgentHandle> => {
    const a = await startClusterAgent({ ...common, name });
    live.set(name, a);
    return a;
  };
  for (const name of ['s1', 's2', 's3']) await start(name);
  const worker = await startClusterAgent({ ...common, name: 'worker', server: false, tags: { role: 'worker' } });
  live.set('worker', worker);
  const servers = (): AgentHandle[] => ['s1', 's2', 's3'].map((n) => live.get(n)).filter((a): a is AgentHandle => !!a);
  await agreedLeader(servers());

  // One file per backend: the second run's ticks must not be read together with the first's
  // (they have another phase: that was the "off-phase tick" of full runs).
  const file = join(dir, `ticks-${backend}.log`);
  const created = await api(worker.url, 'POST', '/v1/jobs', tickerJob(file));
  assert.equal(created.status, 201);
  await eventually('the first ticks', async () => ticksIn(file).length >= 3, 20_000);

  const gaps: number[] = [];
  for (let i = 0; i < KILLS; i++) {
    const leaderName = await agreedLeader(servers());
    const leader = live.get(leaderName) as AgentHandle;
    const killedAt = Date.now();
    leader.proc.kill('SIGKILL');
    await leader.exited;
    live.delete(leaderName);
    // The next dispatch after the kill: a tick the dead leader could not have dispatched ahead
    // (--dispatch-lead, 500 ms by default), so only a new leader can have sent it.
    await eventually(`a dispatch after killing ${leaderName}`, async () => ticksIn(file).some((t) => t > killedAt + DISPATCH_LEAD_MS), 30_000, 20);
    gaps.push(Date.now() - killedAt);
    const newLeader = await agreedLeader(servers());
    assert.notEqual(newLeader, leaderName);
    await start(leaderName);
  }

  // Let catch-up settle, then freeze the window by disabling the job.
  const settledUntil = Date.now();
  await eventually('ticks up to the end of the window', async () => {
    const ts = ticksIn(file);
    return ts.length > 0 && Math.max(...ts) >= settledUntil ? true : undefined;
  }, 30_000);
  const toggled = await api<{ disabled?: boolean; updated_at?: string }>(worker.url, 'POST', '/v1/jobs/ticker/toggle');
  t.diagnostic(`${backend}: toggle answered ${toggled.status}, disabled ${String(toggled.body.disabled)}, updated_at ${String(toggled.body.updated_at)}, at ${new Date().toISOString()}`);
  await eventually('no execution of ticker running', async () => {
    const r = await api<{ job_name: string }[]>(worker.url, 'GET', '/v1/busy');
    return r.body.every((e) => e.job_name !== 'ticker') ? true : undefined;
  });

  const sorted = assertEveryTickOnce(ticksIn(file));
  gaps.sort((a, b) => a - b);
  const p50 = gaps[Math.floor(gaps.length / 2)];
  t.diagnostic(`${backend}: ticks checked: ${sorted.length}; failover gap (kill → next dispatch) ms: min ${gaps[0]}, p50 ${p50}, max ${gaps[gaps.length - 1]}`);
});
