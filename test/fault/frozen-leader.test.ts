/**
 * A frozen leader (SIGSTOP: a GC pause, a stalled VM, a debugger) outlives its
 * lease while an `@every 1s` job (catch_up "all") runs on a worker. Another
 * agent becomes leader; then the old one is resumed (SIGCONT) with its timers
 * overdue, so it may try to dispatch before it notices anything. Asserted:
 * it notices and steps down (its log shows leadership lost, /v1/isleader on it
 * answers 404, it follows the new leader) and every tick of the window ran
 * exactly once. Two freezes; every wait has a deadline.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { api, eventually, removeDir, tempDir, type AgentHandle } from '../helpers/agent.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { randomKeyspace, startClusterAgent } from '../helpers/cluster.js';
import type { Execution } from '../../src/job/types.js';
import { assertEveryTickOnce, tickerJob, ticksIn } from '../helpers/ticks.js';

const FREEZES = 2;

let etcd: EtcdCluster | undefined;
const agents = new Map<string, AgentHandle>();
const dir = tempDir('kairos-frozen-');

after(async () => {
  for (const a of agents.values()) a.proc.kill('SIGCONT');
  await Promise.all([...agents.values()].map((a) => a.stop('SIGKILL', 10_000).catch(() => undefined)));
  await etcd?.stop();
  for (const a of agents.values()) removeDir(a.dataDir);
  removeDir(dir);
});

/** GET with a deadline: a frozen agent accepts connections but never answers. */
async function get<T>(a: AgentHandle, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${a.url}${path}`, { signal: AbortSignal.timeout(3000) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

async function agreed(list: AgentHandle[], not?: string): Promise<string> {
  return eventually(`agents to agree on a leader${not ? ` other than ${not}` : ''}`, async () => {
    const names = await Promise.all(list.map(async (a) => {
      const r = await get<{ Name?: string }>(a, '/v1/leader');
      return r.status === 200 ? r.body.Name : undefined;
    }));
    return names[0] && names[0] !== not && names.every((n) => n === names[0]) ? names[0] : undefined;
  }, 20_000, 100);
}

test(`leader frozen past its lease ${FREEZES} times: it steps down on resume; every tick exactly once`, async (t) => {
  etcd = await startEtcd(1);
  const common = { endpoints: etcd.endpoints, keyspace: randomKeyspace() };
  // allSettled: every agent that does start is registered (and killed in `after`) even if another fails.
  const started = await Promise.allSettled(['s1', 's2', 's3'].map(async (name) => agents.set(name, await startClusterAgent({ ...common, name }))));
  for (const r of started) if (r.status === 'rejected') throw r.reason;
  const worker = await startClusterAgent({ ...common, name: 'worker', server: false, tags: { role: 'worker' } });
  agents.set('worker', worker);
  const servers = ['s1', 's2', 's3'].map((n) => agents.get(n) as AgentHandle);
  const nameOf = (a: AgentHandle): string => [...agents.entries()].find(([, h]) => h === a)?.[0] ?? '?';
  await agreed([...servers, worker]);

  const file = join(dir, 'ticks.log');
  const created = await api(worker.url, 'POST', '/v1/jobs', tickerJob(file));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await eventually('the first ticks', async () => ticksIn(file).length >= 3, 20_000);

  for (let round = 1; round <= FREEZES; round++) {
    const oldName = await agreed([...servers, worker]);
    const old = agents.get(oldName) as AgentHandle;
    const others = [...servers.filter((a) => a !== old), worker];
    const mark = old.logs.length;
    const frozenAt = Date.now();
    old.proc.kill('SIGSTOP');
    let newName: string;
    try {
      // The lease expires while it is frozen; another server wins the election and dispatches.
      newName = await agreed(others, oldName);
      await eventually('a dispatch by the new leader', async () => ticksIn(file).some((x) => x > frozenAt), 30_000, 50);
    } finally {
      old.proc.kill('SIGCONT');
    }
    const lost = await eventually(`${oldName} to log leadership lost`, async () => old.logs.slice(mark).find((l) => /Cluster leadership lost/.test(l)), 15_000, 50);
    assert.ok(lost);
    await eventually(`${oldName} to answer /v1/isleader 404`, async () => (await get(old, '/v1/isleader')).status === 404, 15_000);
    assert.equal(await agreed([...servers, worker]), newName, `${oldName} follows ${newName}`);
    assert.ok(!old.logs.slice(mark).some((l) => /Cluster leadership acquired/.test(l)), `${oldName} did not lead again`);
    const tried = old.logs.slice(mark).filter((l) => /dispatch failed/.test(l)).length;
    t.diagnostic(`round ${round}: froze ${oldName}, ${newName} took over; dispatch attempts refused on resume: ${tried}; ${nameOf(old)} step-down: ${lost.slice(0, 24)}`);
  }

  const settledUntil = Date.now();
  await eventually('ticks up to the end of the window', async () => {
    const ts = ticksIn(file);
    return ts.length > 0 && Math.max(...ts) >= settledUntil;
  }, 30_000);
  assert.equal((await api(worker.url, 'POST', '/v1/jobs/ticker/toggle')).status, 200);
  await eventually('no ticker execution running', async () => {
    const r = await api<Execution[]>(worker.url, 'GET', '/v1/busy');
    return r.body.every((e) => e.job_name !== 'ticker');
  });

  const sorted = assertEveryTickOnce(ticksIn(file));
  t.diagnostic(`ticks checked: ${sorted.length}`);
});
