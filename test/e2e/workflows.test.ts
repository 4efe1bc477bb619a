/**
 * Fan-in workflows (`depends_on`) through real agents: a diamond A, B → C → D on one agent
 * (embedded store) and on a 3-agent cluster with the leader killed mid-way (etcd, then
 * ZooKeeper): C runs once per window, only after both A and B succeeded in it, D once per C.
 * Also: cycles and mixed forms refused, a schedule as window, the workflow graph.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, eventually, finishedRun, removeDir, shellJob, startAgent, tempDir, type AgentHandle } from '../helpers/agent.js';
import { kairosOk } from '../helpers/cli.js';
import { CLUSTER_BACKENDS, startBackendServers, type BackendServers, type ClusterBackend } from '../helpers/backend-servers.js';
import { agreedLeader, randomKeyspace, startClusterAgent } from '../helpers/cluster.js';
import type { Execution, Job } from '../../src/job/types.js';
import type { WorkflowGraph } from '../../src/core/workflow.js';
import { groupStatus } from '../../src/job/group-status.js';

const EVERY_2S = '*/2 * * * * *';

async function executions(url: string, job: string): Promise<Execution[]> {
  const r = await api<Execution[]>(url, 'GET', `/v1/jobs/${job}/executions`);
  assert.equal(r.status, 200, `executions of ${job}`);
  return r.body;
}

/** Scheduled times of the finished, successful groups of a job. */
async function succeededTicks(url: string, job: string): Promise<Set<string>> {
  const byGroup = new Map<number, Execution[]>();
  for (const e of await executions(url, job)) byGroup.set(e.group, [...(byGroup.get(e.group) ?? []), e]);
  const out = new Set<string>();
  for (const g of byGroup.values()) {
    // Every member finished (an untagged job runs on every agent) and the group succeeded.
    if (g.every((e) => finishedRun(e)) && groupStatus(g) === 'success') out.add((g[0] as Execution).scheduled_at);
  }
  return out;
}

/**
 * The diamond's invariants from the recorded history: C and D ran at most once per window, C only
 * in windows where A and B both succeeded, D only in windows where C succeeded; and every window
 * in which A and B both succeeded (from C's first run on) has its C run.
 */
async function checkDiamond(url: string, names = { a: 'a', b: 'b', c: 'c', d: 'd' }): Promise<{ c: number; d: number }> {
  const [a, b, c] = await Promise.all([succeededTicks(url, names.a), succeededTicks(url, names.b), succeededTicks(url, names.c)]);
  // One group per window (its members: one per agent the job runs on).
  const firstOfGroup = (list: Execution[]): Execution[] => [...new Map(list.map((e) => [e.group, e])).values()];
  const cRuns = firstOfGroup(await executions(url, names.c));
  const dRuns = firstOfGroup(await executions(url, names.d));
  for (const [what, runs] of [[names.c, cRuns], [names.d, dRuns]] as const) {
    const keys = runs.map((e) => e.scheduled_at);
    assert.equal(new Set(keys).size, keys.length, `${what} ran twice in a window: ${keys.sort().join(', ')}`);
    for (const e of runs) assert.equal(e.trigger, 'workflow');
  }
  for (const e of cRuns) {
    assert.ok(a.has(e.scheduled_at) && b.has(e.scheduled_at), `${names.c} ran for ${e.scheduled_at} without both parents' success`);
  }
  for (const e of dRuns) assert.ok(c.has(e.scheduled_at), `${names.d} ran for ${e.scheduled_at} without ${names.c}'s success`);
  const firstC = cRuns.map((e) => e.scheduled_at).sort()[0];
  const cKeys = new Set(cRuns.map((e) => e.scheduled_at));
  const owed = [...a].filter((k) => b.has(k) && firstC !== undefined && k >= firstC && !cKeys.has(k));
  assert.deepEqual(owed, [], `windows where both parents succeeded but ${names.c} never ran`);
  return { c: cRuns.length, d: dRuns.length };
}

/** Stop the parents' ticks and wait until nothing of the workflow runs any more. */
async function quiesce(url: string, jobs: string[], parents: string[]): Promise<void> {
  for (const p of parents) {
    const j = await api<Job>(url, 'GET', `/v1/jobs/${p}`);
    if (!j.body.disabled) assert.equal((await api(url, 'POST', `/v1/jobs/${p}/toggle`)).status, 200);
  }
  await eventually('the workflow to settle', async () => {
    const busy = await api<Execution[]>(url, 'GET', '/v1/busy');
    if (busy.body.some((e) => jobs.includes(e.job_name))) return undefined;
    // Settled twice in a row a moment apart: a last child may be dispatched right after its parent.
    await new Promise((r) => setTimeout(r, 300));
    const again = await api<Execution[]>(url, 'GET', '/v1/busy');
    return again.body.some((e) => jobs.includes(e.job_name)) ? undefined : true;
  }, 30_000, 200);
}

describe('fan-in on one agent', () => {
  let agent: AgentHandle | undefined;
  const dir = tempDir();
  const flag = join(dir, 'b-fails');

  before(async () => {
    agent = await startAgent({ dataDir: join(dir, 'data') });
  });
  after(async () => {
    await agent?.stop('SIGTERM').catch(() => undefined);
    removeDir(dir);
  });

  test('refused at save: a cycle (named), both parent forms, a missing parent; a parent with fan-in children is not deleted', async () => {
    const url = agent!.url;
    for (const n of ['r1', 'r2']) assert.equal((await api(url, 'POST', '/v1/jobs', shellJob(n, 'true', { schedule: '@every 1h' }))).status, 201);
    assert.equal((await api(url, 'POST', '/v1/jobs', shellJob('f1', 'true', { schedule: '', depends_on: ['r1', 'r2'] }))).status, 201);
    assert.equal((await api(url, 'POST', '/v1/jobs', shellJob('f2', 'true', { schedule: '', depends_on: ['f1'] }))).status, 201);
    const cycle = await api<{ field: string; message: string; code: string }>(url, 'POST', '/v1/jobs', shellJob('r1', 'true', { schedule: '@every 1h', depends_on: ['f2'] }));
    assert.equal(cycle.status, 400);
    assert.equal(cycle.body.field, 'depends_on');
    assert.equal(cycle.body.message, 'depends_on would create a cycle: r1 -> f2 -> f1 -> r1');
    const both = await api<{ field: string }>(url, 'POST', '/v1/jobs', shellJob('x', 'true', { schedule: '', parent_job: 'r1', depends_on: ['r2'] }));
    assert.equal(both.status, 400);
    assert.equal(both.body.field, 'depends_on');
    const missing = await api<{ field: string; code: string; message: string }>(url, 'POST', '/v1/jobs', shellJob('x', 'true', { schedule: '', depends_on: ['r1', 'nope'] }));
    assert.equal(missing.status, 404);
    assert.deepEqual([missing.body.code, missing.body.field], ['KAIROS_PARENT_NOT_FOUND', 'depends_on']);
    assert.match(missing.body.message, /"nope"/);
    // The bulk endpoint refuses a cycle that closes inside the request, naming it.
    const bulk = await api<{ errors: { name: string; field: string; message: string }[] }>(url, 'POST', '/v1/jobs/bulk', {
      jobs: [shellJob('k1', 'true', { schedule: '', depends_on: ['k2'] }), shellJob('k2', 'true', { schedule: '', depends_on: ['r1', 'k1'] })],
    });
    assert.equal(bulk.status, 400);
    assert.ok(bulk.body.errors.some((e) => e.field === 'depends_on' && /cycle: k1 -> k2 -> k1/.test(e.message)), JSON.stringify(bulk.body));
    // Links: each parent lists its fan-in child; a parent can't go while it has one; the child's delete unlinks.
    assert.deepEqual((await api<Job>(url, 'GET', '/v1/jobs/r2')).body.dependent_jobs, ['f1']);
    const del = await api<{ code: string }>(url, 'DELETE', '/v1/jobs/r2');
    assert.equal(del.status, 409);
    assert.equal(del.body.code, 'KAIROS_JOB_HAS_DEPENDENTS');
    assert.equal((await api(url, 'DELETE', '/v1/jobs/f2')).status, 200);
    assert.equal((await api(url, 'PUT', '/v1/jobs/f1', shellJob('f1', 'true', { schedule: '', depends_on: ['r1'] }))).status, 201);
    assert.equal((await api<Job>(url, 'GET', '/v1/jobs/r2')).body.dependent_jobs, null);
    assert.equal((await api<Job>(url, 'GET', '/v1/jobs/f1')).body.next, null);
    for (const n of ['f1', 'r1', 'r2']) assert.equal((await api(url, 'DELETE', `/v1/jobs/${n}`)).status, 200);
  });

  test('a diamond: C once per tick after both A and B succeeded, D after C; a failed B holds C (blocked in the graph)', async () => {
    const url = agent!.url;
    await api(url, 'POST', '/v1/jobs', shellJob('a', 'echo a', { schedule: EVERY_2S }));
    await api(url, 'POST', '/v1/jobs', shellJob('b', `test ! -f ${flag}`, { schedule: EVERY_2S, executor_config: { command: `test ! -f ${flag}`, shell: 'true' } }));
    assert.equal((await api(url, 'POST', '/v1/jobs', shellJob('c', 'echo "c $KAIROS_SCHEDULED_AT"', { schedule: '', depends_on: ['a', 'b'], executor_config: { command: 'echo "c $KAIROS_SCHEDULED_AT"', shell: 'true' } }))).status, 201);
    assert.equal((await api(url, 'POST', '/v1/jobs', shellJob('d', 'echo d', { schedule: '', depends_on: ['c'] }))).status, 201);
    const twoD = await eventually('two runs of d', async () => {
      const runs = (await executions(url, 'd')).filter((e) => finishedRun(e) && e.success);
      return runs.length >= 2 ? runs : undefined;
    });
    // The child's run carries the window (the parents' tick) as its scheduled time, in its environment too.
    const cRun = (await executions(url, 'c')).find((e) => e.scheduled_at === twoD[0]?.scheduled_at);
    assert.match(cRun?.output ?? '', new RegExp(`c ${twoD[0]?.scheduled_at.slice(0, 19)}`));

    writeFileSync(flag, '');
    const failed = await eventually('a failed run of b', async () => (await executions(url, 'b')).find((e) => finishedRun(e) && !e.success));
    // a's run for that tick has finished, and a later tick of both has too: c had every chance to run.
    await eventually('a later tick of a and b finished', async () => {
      const later = (await executions(url, 'b')).filter((e) => finishedRun(e) && e.scheduled_at > failed.scheduled_at);
      const a = (await succeededTicks(url, 'a'));
      return later.length > 0 && a.has(failed.scheduled_at) ? true : undefined;
    });
    assert.ok(!(await executions(url, 'c')).some((e) => e.scheduled_at === failed.scheduled_at), 'c ran although b failed');
    const graph = await api<WorkflowGraph>(url, 'GET', `/v1/jobs/c/workflow?run=${encodeURIComponent(failed.scheduled_at)}`);
    assert.equal(graph.status, 200);
    assert.equal(graph.body.run, failed.scheduled_at);
    const state = Object.fromEntries(graph.body.nodes.map((n) => [n.job, n.state]));
    assert.deepEqual(state, { a: 'succeeded', b: 'failed', c: 'blocked', d: 'blocked' });
    assert.deepEqual(graph.body.nodes.map((n) => n.job), ['a', 'b', 'c', 'd']);
    assert.deepEqual(graph.body.edges.map((e) => `${e.from}>${e.to}`).sort(), ['a>c', 'b>c', 'c>d']);
    const ok = await api<WorkflowGraph>(url, 'GET', `/v1/jobs/a/workflow?run=${encodeURIComponent(twoD[0]!.scheduled_at)}`);
    assert.deepEqual(ok.body.nodes.map((n) => n.state), ['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    assert.equal(ok.body.nodes.find((n) => n.job === 'c')?.key, twoD[0]!.scheduled_at);
    assert.equal((await api(url, 'GET', '/v1/jobs/c/workflow?run=yesterday')).status, 400);

    await quiesce(url, ['a', 'b', 'c', 'd'], ['a', 'b']);
    const counts = await checkDiamond(url);
    assert.ok(counts.c >= 2 && counts.d >= 2, JSON.stringify(counts));

    // The CLI shows the same run: one row per job, parents first, with what each waits on.
    const cli = await kairosOk(['jobs', 'workflow', 'd', '--run', failed.scheduled_at, '--address', url]);
    assert.match(cli.stderr, new RegExp(`Run ${failed.scheduled_at}`));
    const rows = cli.stdout.trim().split('\n').map((l) => l.split(/\s+/));
    assert.deepEqual(rows.map((r) => r.slice(0, 3)), [['JOB', 'STATE', 'AFTER'], ['a', 'succeeded', '-'], ['b', 'failed', '-'], ['c', 'blocked', 'a,b'], ['d', 'blocked', 'c']]);
    const json = JSON.parse((await kairosOk(['jobs', 'workflow', 'd', '-o', 'json', '--address', url])).stdout) as WorkflowGraph;
    assert.equal(json.run, json.runs[0]);
  });

  test('a schedule on a fan-in job draws its windows: one run per window however often the parents succeed', async () => {
    const url = agent!.url;
    assert.ok(existsSync(flag));
    await api(url, 'POST', '/v1/jobs', shellJob('p1', 'true', { schedule: EVERY_2S }));
    await api(url, 'POST', '/v1/jobs', shellJob('p2', 'true', { schedule: '*/3 * * * * *' }));
    const daily = await api<Job>(url, 'POST', '/v1/jobs', shellJob('daily', 'true', { schedule: '0 0 * * *', timezone: 'UTC', depends_on: ['p1', 'p2'] }));
    assert.equal(daily.status, 201);
    assert.equal(daily.body.next, null, 'a fan-in job has no time of its own');
    const [run] = await eventually('the daily window to run', async () => {
      const runs = await executions(url, 'daily');
      return runs.length > 0 ? runs : undefined;
    });
    const today = `${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`;
    assert.equal(run?.scheduled_at, today);
    const seen = (await succeededTicks(url, 'p1')).size;
    await eventually('three more successes of p1 and two of p2', async () => {
      const [s1, s2] = [(await succeededTicks(url, 'p1')).size, (await succeededTicks(url, 'p2')).size];
      return s1 >= seen + 3 && s2 >= 3 ? true : undefined;
    });
    await quiesce(url, ['p1', 'p2', 'daily'], ['p1', 'p2']);
    assert.equal((await executions(url, 'daily')).length, 1);
  });
});

function clusterSuite(backend: ClusterBackend): void {
  describe(`fan-in through a leader kill (${backend})`, () => {
    let servers: BackendServers | undefined;
    const agents: AgentHandle[] = [];

    before(async () => {
      servers = await startBackendServers(backend, 3);
      const common = { backend, endpoints: servers.endpoints, keyspace: randomKeyspace() };
      for (const name of ['w1', 'w2', 'w3']) agents.push(await startClusterAgent({ ...common, name, tags: { zone: name } }));
      await agreedLeader(agents);
    });
    after(async () => {
      await Promise.all(agents.map((a) => a.stop('SIGTERM').catch(() => undefined)));
      await servers?.stop();
    });

    test('C runs once per window after both A and B, D after C, with the leader killed mid-way', async () => {
      const url = () => (agents.find((a) => a.proc.exitCode === null && a.proc.signalCode === null) as AgentHandle).url;
      // A and B run on an agent that does not lead, so their successes (and C's windows) are decided
      // there: a window must run whichever agent decides it. C and D run on every agent.
      const first = await agreedLeader(agents);
      const pinned = ['w1', 'w2', 'w3'].find((n) => n !== first) as string;
      await api(url(), 'POST', '/v1/jobs', shellJob('a', 'sleep 0.3', { schedule: EVERY_2S, tags: { zone: pinned } }));
      await api(url(), 'POST', '/v1/jobs', shellJob('b', 'sleep 0.6', { schedule: EVERY_2S, tags: { zone: pinned } }));
      await api(url(), 'POST', '/v1/jobs', shellJob('c', 'true', { schedule: '', depends_on: ['a', 'b'] }));
      await api(url(), 'POST', '/v1/jobs', shellJob('d', 'true', { schedule: '', depends_on: ['c'] }));
      // Through another agent: the loop is refused, named.
      const loop = await api<{ field: string; message: string }>(agents[2]!.url, 'POST', '/v1/jobs', shellJob('a', 'sleep 0.3', { schedule: EVERY_2S, tags: { zone: pinned }, depends_on: ['d'] }));
      assert.equal(loop.status, 400);
      assert.deepEqual([loop.body.field, loop.body.message], ['depends_on', 'depends_on would create a cycle: a -> d -> c -> a']);
      await eventually('two runs of d', async () => ((await succeededTicks(url(), 'd')).size >= 2 ? true : undefined), 40_000);
      const leader = await agreedLeader(agents);
      assert.notEqual(leader, pinned, 'the parents\' agent is not the one killed');
      const victim = agents[['w1', 'w2', 'w3'].indexOf(leader)];
      assert.ok(victim, `leader ${leader}`);
      victim.proc.kill('SIGKILL');
      await victim.exited;
      agents.splice(agents.indexOf(victim), 1);
      const killedAt = new Date().toISOString();
      await agreedLeader(agents, 30_000);
      await eventually('two windows of c after the kill', async () => {
        const c = await succeededTicks(url(), 'c');
        return [...c].filter((k) => k > killedAt).length >= 2 ? true : undefined;
      }, 60_000);
      await quiesce(url(), ['a', 'b', 'c', 'd'], ['a', 'b']);
      const counts = await checkDiamond(url());
      assert.ok(counts.c >= 4, JSON.stringify(counts));
    });
  });
}

for (const backend of CLUSTER_BACKENDS) clusterSuite(backend);
