/**
 * kill -9 storm on a 3-member etcd and 3 agents, under a stream of job writes.
 * Several concurrent writers POST jobs through the API of whichever agents are
 * up (bounded count; each 2xx-acknowledged name is recorded), while an
 * `@every 1s` job (one agent per tick, catch_up "all") runs. Faults, each
 * followed by waiting for fresh acknowledged writes (an event, not a sleep):
 *   1. kill -9 a follower agent, restart it;
 *   2. kill -9 each etcd member in turn, restart it (quorum kept);
 *   3. kill -9 the leader agent, restart it;
 *   4. kill -9 two etcd members (quorum lost) until writes are refused, restart both.
 * The sequence runs KAIROS_STORM_ROUNDS times (default 2). Afterwards: every
 * acknowledged job is present exactly as acknowledged (GET each), every
 * execution seen finished before a fault (snapshots before the storm and
 * before every fault) is unchanged, and no tick was dispatched twice.
 * Prints `FAULT-FIGURES {...}`.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, eventually, removeDir, tempDir, type AgentHandle } from '../helpers/agent.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { randomKeyspace, startClusterAgent } from '../helpers/cluster.js';
import type { Execution, Job } from '../../src/job/types.js';

const WRITERS = 3;
const MAX_WRITES = 6000;
const PROGRESS = 20;
/** Rounds of the fault sequence below (7 faults each). */
const ROUNDS = Number(process.env.KAIROS_STORM_ROUNDS ?? 2);

let etcd: EtcdCluster | undefined;
const live = new Map<string, AgentHandle>();
const everStarted: AgentHandle[] = [];
const dir = tempDir('kairos-storm-');

after(async () => {
  await Promise.all(everStarted.map((a) => a.stop('SIGKILL', 10_000).catch(() => undefined)));
  await etcd?.stop();
  for (const a of everStarted) removeDir(a.dataDir);
  removeDir(dir);
});

async function post(a: AgentHandle, body: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${a.url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // text
  }
  return { status: res.status, body: parsed };
}

test('kill -9 storm (agents and etcd members, with and without quorum) loses no acknowledged write', async (t) => {
  etcd = await startEtcd(3);
  const e = etcd;
  const common = { endpoints: e.endpoints, keyspace: randomKeyspace(), tags: { role: 'any' } };
  const start = async (name: string): Promise<AgentHandle> => {
    const a = await startClusterAgent({ ...common, name });
    everStarted.push(a);
    live.set(name, a);
    return a;
  };
  // allSettled: every agent that does start is registered (and killed in `after`) even if another fails.
  for (const r of await Promise.allSettled(['a1', 'a2', 'a3'].map(start))) if (r.status === 'rejected') throw r.reason;
  const anyAgent = (): AgentHandle => live.values().next().value as AgentHandle;
  const leaderName = async (): Promise<string> =>
    eventually('a leader', async () => {
      const r = await api<{ Name?: string }>(anyAgent().url, 'GET', '/v1/leader');
      return r.status === 200 && r.body.Name && live.has(r.body.Name) ? r.body.Name : undefined;
    }, 30_000);
  await leaderName();

  const created = await api(anyAgent().url, 'POST', '/v1/jobs', {
    name: 'tick',
    schedule: '@every 1s',
    catch_up: 'all',
    tags: { role: 'any:1' },
    history_limit: 100_000,
    executor: 'shell',
    executor_config: { command: 'echo tick' },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const tickExecutions = async (): Promise<Execution[]> => {
    const r = await api<Execution[]>(anyAgent().url, 'GET', '/v1/jobs/tick/executions');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const finishedBefore = new Map<string, Execution>();
  await eventually('5 tick executions finished before the storm', async () => {
    for (const x of await tickExecutions()) if (x.finished_at !== null) finishedBefore.set(x.id, x);
    return finishedBefore.size >= 5;
  }, 30_000, 200);

  // The write stream.
  const acked = new Map<string, Job>();
  const statuses: Record<string, number> = {};
  let issued = 0;
  let stormOver = false;
  const writer = async (w: number): Promise<void> => {
    while (!stormOver && issued < MAX_WRITES) {
      const agents = [...live.values()];
      const a = agents[Math.floor(Math.random() * agents.length)];
      if (!a) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const n = issued++;
      const name = `storm-w${w}-${n}`;
      const body = {
        name,
        schedule: '@manually',
        executor: 'shell',
        executor_config: { command: `echo ${name}` },
        metadata: { n: String(n) },
        owner: 'storm-test',
      };
      try {
        const res = await post(a, body);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status >= 200 && res.status < 300) acked.set(name, res.body as Job);
      } catch {
        // The agent died (or hung) mid-request: outcome unknown, which is allowed.
        statuses.error = (statuses.error ?? 0) + 1;
      }
    }
  };
  const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
  const progress = async (what: string): Promise<void> => {
    const target = acked.size + PROGRESS;
    await eventually(`${PROGRESS} more acknowledged writes ${what}`, async () => acked.size >= target, 60_000, 50);
  };

  let faults = 0;
  const log: string[] = [];
  const killAgent = async (name: string): Promise<void> => {
    const a = live.get(name) as AgentHandle;
    live.delete(name);
    a.proc.kill('SIGKILL');
    await a.exited;
    faults++;
    log.push(`kill -9 agent ${name}`);
  };
  /** Executions seen finished now: each must survive every later fault unchanged. */
  const snapshot = async (): Promise<void> => {
    for (const x of await tickExecutions()) if (x.finished_at !== null && !finishedBefore.has(x.id)) finishedBefore.set(x.id, x);
  };
  try {
    await progress('before the first fault');
    for (let round = 1; round <= ROUNDS; round++) {
      // 1. A follower agent.
      const leader1 = await leaderName();
      const follower = [...live.keys()].find((n) => n !== leader1) as string;
      await snapshot();
      await killAgent(follower);
      await progress(`with ${follower} dead`);
      await start(follower);
      await progress(`after restarting ${follower}`);

      // 2. Each etcd member in turn: quorum kept.
      for (let i = 0; i < 3; i++) {
        await snapshot();
        await e.stopMember(i, true);
        faults++;
        log.push(`kill -9 etcd member ${i}`);
        await progress(`with etcd member ${i} dead`);
        await e.startMember(i);
        await progress(`after restarting etcd member ${i}`);
      }

      // 3. The leader agent.
      const leader2 = await leaderName();
      await snapshot();
      await killAgent(leader2);
      await progress(`with the leader ${leader2} dead`);
      await start(leader2);
      await progress(`after restarting ${leader2}`);

      // 4. Quorum lost: two members down until writes are refused, then back.
      const refusedBefore = Object.entries(statuses).filter(([s]) => s !== '201').reduce((n, [, c]) => n + c, 0);
      await snapshot();
      await e.stopMember(0, true);
      await e.stopMember(1, true);
      faults += 2;
      log.push('kill -9 etcd members 0 and 1 (quorum lost)');
      await eventually('writes refused without quorum', async () => {
        const refused = Object.entries(statuses).filter(([s]) => s !== '201').reduce((n, [, c]) => n + c, 0);
        return refused >= refusedBefore + 2 * WRITERS;
      }, 60_000, 50);
      await Promise.all([e.startMember(0), e.startMember(1)]);
      await progress('after quorum returned');
    }
  } finally {
    stormOver = true;
    await Promise.all(writers);
  }

  // Let every agent settle, then check.
  for (const a of live.values()) {
    await eventually('agent healthy', async () => (await api(a.url, 'GET', '/health')).status === 200, 60_000);
  }
  let losses = 0;
  const lossDetails: string[] = [];
  const names = [...acked.keys()];
  const checker = async (): Promise<void> => {
    for (let name = names.pop(); name !== undefined; name = names.pop()) {
      const r = await api<Job>(anyAgent().url, 'GET', `/v1/jobs/${name}`);
      if (r.status !== 200) {
        losses++;
        lossDetails.push(`${name}: ${r.status}`);
      } else {
        try {
          assert.deepEqual(r.body, acked.get(name));
        } catch {
          losses++;
          lossDetails.push(`${name}: changed`);
        }
      }
    }
  };
  await Promise.all([checker(), checker(), checker(), checker()]);

  const after = await tickExecutions();
  const byId = new Map(after.map((x) => [x.id, x]));
  for (const [id, x] of finishedBefore) {
    try {
      assert.deepEqual(byId.get(id), x);
    } catch {
      losses++;
      lossDetails.push(`execution ${id}: ${JSON.stringify(byId.get(id) ?? null)}`);
    }
  }
  // A tick dispatched twice shows as two executions of one group, or one scheduled instant in two groups.
  const perGroup = new Map<number, number>();
  const perInstant = new Map<string, Set<number>>();
  for (const x of after) {
    perGroup.set(x.group, (perGroup.get(x.group) ?? 0) + 1);
    const groups = perInstant.get(x.scheduled_at) ?? new Set<number>();
    groups.add(x.group);
    perInstant.set(x.scheduled_at, groups);
  }
  const duplicates = [...perGroup.values()].filter((c) => c > 1).length + [...perInstant.values()].filter((g) => g.size > 1).length;

  const figures = {
    test: 'storm',
    faults_injected: faults,
    writes_issued: issued,
    writes_acknowledged: acked.size,
    write_statuses: statuses,
    executions_checked: finishedBefore.size,
    ticks_checked: after.length,
    losses_found: losses,
    duplicates_found: duplicates,
  };
  process.stdout.write(`FAULT-FIGURES ${JSON.stringify(figures)}\n`);
  t.diagnostic(`faults: ${log.join('; ')}`);
  assert.deepEqual(lossDetails, [], 'no acknowledged write or finished execution lost');
  assert.equal(duplicates, 0, 'no tick dispatched twice');
  assert.equal(faults, 7 * ROUNDS, 'every planned fault was injected');
});
