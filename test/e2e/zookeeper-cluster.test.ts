/**
 * End-to-end smoke of the ZooKeeper backend: a real 3-member ensemble and two
 * Kairos agents (`--backend zookeeper --lease-ttl 2s`). A job created through
 * the API runs once per tick, and when the leading agent is killed the other
 * takes over scheduling with no tick run twice.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, eventually, shellJob, type AgentHandle } from '../helpers/agent.js';
import { agreedLeader, randomKeyspace, startClusterAgent } from '../helpers/cluster.js';
import { startZookeeper, type ZookeeperEnsemble } from '../helpers/zookeeper.js';
import type { Execution } from '../../src/job/types.js';

let zk: ZookeeperEnsemble | undefined;
const agents: AgentHandle[] = [];
const names = ['z1', 'z2'];

before(async () => {
  zk = await startZookeeper(3);
  const keyspace = randomKeyspace();
  for (const name of names) agents.push(await startClusterAgent({ backend: 'zookeeper', endpoints: zk.endpoints, keyspace, name }));
});

after(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGTERM').catch(() => undefined)));
  await zk?.stopAll();
});

async function executions(agent: AgentHandle, job: string): Promise<Execution[]> {
  const r = await api<Execution[]>(agent.url, 'GET', `/v1/jobs/${job}/executions`);
  assert.equal(r.status, 200);
  return r.body;
}

/**
 * A job without tags runs on every agent (dkron's rule), so a tick is one group of one
 * execution per agent: a tick dispatched twice would show as two groups, or an agent twice.
 */
function assertOncePerTick(runs: Execution[]): void {
  const scheduled = runs.filter((e) => e.trigger === 'schedule' && e.attempt === 1);
  const perAgent = scheduled.map((e) => `${e.scheduled_at} ${e.node_name}`);
  assert.equal(new Set(perAgent).size, perAgent.length, `a tick ran twice on one agent: ${JSON.stringify(perAgent.sort())}`);
  const groups = new Map<string, Set<number>>();
  for (const e of scheduled) groups.set(e.scheduled_at, (groups.get(e.scheduled_at) ?? new Set()).add(e.group));
  for (const [tick, g] of groups) assert.equal(g.size, 1, `tick ${tick} was dispatched ${g.size} times (groups ${[...g].join(', ')})`);
}

void test('zookeeper: two agents agree on one leader, and a job created through the API runs once per tick', async () => {
  const leader = await agreedLeader(agents);
  assert.ok(names.includes(leader));
  const members = await api<{ Name: string }[]>(agents[0]!.url, 'GET', '/v1/members');
  assert.deepEqual(members.body.map((m) => m.Name).sort(), names);

  // No tags: every agent runs each tick.
  const created = await api(agents[1]!.url, 'POST', '/v1/jobs', shellJob('every-second', 'echo tick-$KAIROS_NODE_NAME', { schedule: '@every 1s' }));
  assert.equal(created.status, 201);
  const runs = await eventually('4 finished scheduled runs', async () => {
    const done = (await executions(agents[0]!, 'every-second')).filter((e) => e.finished_at !== null && e.trigger === 'schedule');
    return done.length >= 4 ? done : undefined;
  }, 30_000);
  assert.ok(runs.every((e) => e.success), JSON.stringify(runs.map((e) => e.output)));
  assertOncePerTick(await executions(agents[1]!, 'every-second'));
});

void test('zookeeper: killing the leading agent hands scheduling over; no tick runs twice', async () => {
  const leaderName = await agreedLeader(agents);
  const leader = agents[names.indexOf(leaderName)]!;
  const survivor = agents.find((a) => a !== leader)!;
  const killedAt = Date.now();
  leader.proc.kill('SIGKILL');
  await leader.exited;

  // The killed agent's election node outlives it until its session expires: until then the survivor still names it.
  const next = await eventually('the survivor to lead', async () => {
    const r = await api<{ Name?: string }>(survivor.url, 'GET', '/v1/leader');
    return r.status === 200 && r.body.Name !== leaderName ? r.body.Name : undefined;
  }, 20_000);
  const handover = Date.now() - killedAt;
  // The killed agent's session expires after the TTL (2 s); its successor leads right after.
  assert.ok(handover < 12_000, `handover took ${handover} ms`);

  const after = await eventually('3 scheduled runs dispatched by the new leader', async () => {
    const runs = (await executions(survivor, 'every-second')).filter(
      (e) => e.trigger === 'schedule' && e.finished_at !== null && e.success && Date.parse(e.scheduled_at) > killedAt + handover,
    );
    return runs.length >= 3 ? runs : undefined;
  }, 30_000);
  assert.ok(after.every((e) => names.includes(e.node_name)));
  assertOncePerTick(await executions(survivor, 'every-second'));
  process.stdout.write(`# zookeeper: leadership moved from ${leaderName} to ${next} ${handover} ms after SIGKILL\n`);
});
