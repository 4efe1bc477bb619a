/**
 * Capacity-aware placement through real agents: runs that declare `resources` go only where they
 * fit beside what already runs, wait (visible, with the reason) while nothing fits, and a shell
 * run that outgrows its declared memory is killed with a clear reason. On the cluster, the runs
 * that waited start past their jobs' start SLO: each such breach is notified once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { api, eventually, finishedRun, removeDir, shellJob, startAgent, tempDir, type AgentHandle } from '../helpers/agent.js';
import { startBackendServers, type BackendServers } from '../helpers/backend-servers.js';
import { agreedLeader, randomKeyspace, startClusterAgent } from '../helpers/cluster.js';
import type { Execution, Job } from '../../src/job/types.js';
import type { Member, QueuedRun } from '../../src/cluster/types.js';
import { httpSink, type HttpSink } from '../helpers/sinks.js';

const PAYLOAD = '{"job":"{{.JobName}}","success":{{.Success}},"node":"{{.NodeName}}","output":{{printf "%q" .Output}}}';

/** Most CPUs in use at one moment on `node`, from the recorded start and finish of each run. */
function peakCpu(runs: Execution[], node: string, cpuOf: (e: Execution) => number): number {
  const events = runs
    .filter((e) => e.node_name === node)
    .flatMap((e) => [[Date.parse(e.started_at), cpuOf(e)], [Date.parse(e.finished_at as string), -cpuOf(e)]] as [number, number][]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of events) peak = Math.max(peak, (now += d));
  return peak;
}

describe('capacity on one agent', () => {
  let agent: AgentHandle | undefined;
  const dir = tempDir();
  before(async () => {
    agent = await startAgent({ dataDir: join(dir, 'data'), args: ['--capacity-cpu', '2', '--capacity-memory', '1Gi', '--slot', 'gpu=1'] });
  });
  after(async () => {
    await agent?.stop('SIGTERM').catch(() => undefined);
    removeDir(dir);
  });

  test('resources are validated at save, and what no agent could ever hold is refused naming resources', async () => {
    const url = agent!.url;
    const self = (await api<Member[]>(url, 'GET', '/v1/members')).body[0];
    assert.deepEqual(self?.capacity, { cpu: 2, memory: 2 ** 30, slots: { gpu: 1 } });
    const bad = await api<{ field: string; message: string }>(url, 'POST', '/v1/jobs', shellJob('r', 'true', { resources: { cpu: 'lots' } }));
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'resources.cpu');
    const never = await api<{ field: string; message: string }>(url, 'POST', '/v1/jobs', shellJob('r', 'true', { tags: {}, resources: { cpu: 8 } }));
    assert.equal(never.status, 400, JSON.stringify(never.body));
    assert.equal(never.body.field, 'resources');
    assert.match(never.body.message, /can hold cpu 8 \(test-node: cpu 2, memory 1024 MiB, gpu 1\)/);
    const ok = await api<Job>(url, 'POST', '/v1/jobs', shellJob('r', 'true', { resources: { cpu: '500m', memory: '256Mi', slots: { gpu: 1 } } }));
    assert.equal(ok.status, 201);
    assert.deepEqual(ok.body.resources, { cpu: 0.5, memory: '256Mi', slots: { gpu: 1 } });
  });

  test('run-now with no room left is refused with what is missing; a run over its declared memory is killed with the reason', async () => {
    const url = agent!.url;
    await api(url, 'POST', '/v1/jobs', shellJob('gpu-hog', 'sleep 10', { schedule: '@manually', resources: { slots: { gpu: 1 } } }));
    assert.equal((await api(url, 'POST', '/v1/jobs/gpu-hog/run')).status, 202);
    await eventually('gpu-hog running', async () => ((await api<Execution[]>(url, 'GET', '/v1/busy')).body.some((e) => e.job_name === 'gpu-hog') ? true : undefined));
    const refused = await api<{ code: string; message: string }>(url, 'POST', '/v1/jobs/r/run');
    assert.equal(refused.status, 409);
    assert.match(refused.body.message, /no agent has room for cpu 0\.5, memory 256 MiB, gpu 1 \(test-node: slot gpu: 0 of 1 free, needs 1\)/);
    const skips = await api<{ code: string }[]>(url, 'GET', '/v1/jobs/r/skips');
    assert.equal(skips.body[0]?.code, 'no_capacity');

    // A scheduled tick waits for room, but not past its job's starting_deadline: then it is a skip, with the reason.
    await api(url, 'POST', '/v1/jobs', shellJob('gpu-tick', 'true', { schedule: '* * * * * *', starting_deadline: '1s', resources: { slots: { gpu: 1 } } }));
    const waited = await eventually('a tick skipped past its deadline', async () => {
      const r = await api<{ code: string; reason: string }[]>(url, 'GET', '/v1/jobs/gpu-tick/skips');
      return r.body.find((s) => s.code === 'starting_deadline');
    }, 15_000, 200);
    assert.match(waited.reason, /no agent had room within the starting_deadline 1s \(no agent has room for gpu 1 \(test-node: slot gpu: 0 of 1 free, needs 1\)\)/);
    assert.equal((await api(url, 'POST', '/v1/jobs/gpu-tick/toggle')).status, 200);
    assert.deepEqual((await api<Execution[]>(url, 'GET', '/v1/jobs/gpu-tick/executions')).body, [], 'none ran while the gpu was taken');

    const alloc = `node -e 'const b = Buffer.alloc(300 * 1024 * 1024, 1); setInterval(() => b[0]++, 1000)'`;
    await api(url, 'POST', '/v1/jobs', shellJob('greedy', alloc, { schedule: '@manually', resources: { memory: '100Mi' }, executor_config: { command: alloc, shell: 'true', timeout: '60s' } }));
    assert.equal((await api(url, 'POST', '/v1/jobs/greedy/run')).status, 202);
    const run = await eventually('greedy to be stopped', async () => (await api<Execution[]>(url, 'GET', '/v1/jobs/greedy/executions')).body.find((e) => finishedRun(e)), 30_000);
    assert.equal(run.success, false);
    assert.match(run.output, /memory limit exceeded: .* used > (100 MB|104857600 bytes) limit\. Job was killed\./);
  });
});

describe('capacity across agents (etcd)', () => {
  let servers: BackendServers | undefined;
  let http: HttpSink | undefined;
  const agents: AgentHandle[] = [];
  before(async () => {
    servers = await startBackendServers('etcd', 3);
    http = await httpSink();
    const notify = ['--webhook-endpoint', `${http.url}/hook`, '--webhook-payload', PAYLOAD, '--webhook-headers', 'Content-Type: application/json'];
    const common = { backend: 'etcd' as const, endpoints: servers.endpoints, keyspace: randomKeyspace() };
    agents.push(await startClusterAgent({ ...common, name: 'small', tags: { role: 'w' }, extra: ['--capacity-cpu', '2', ...notify] }));
    agents.push(await startClusterAgent({ ...common, name: 'large', tags: { role: 'w' }, extra: ['--capacity-cpu', '4', ...notify] }));
    agents.push(await startClusterAgent({ ...common, name: 'other', tags: { role: 'x' }, extra: notify }));
    await agreedLeader(agents);
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.stop('SIGTERM').catch(() => undefined)));
    await servers?.stop();
    await http?.close();
  });

  test('5 runs needing 2 CPUs on agents with 2 and 4: never past either, the rest queued with the reason, then run', async () => {
    const url = agents[0]!.url;
    await eventually('all three members', async () => ((await api<Member[]>(url, 'GET', '/v1/members')).body.length === 3 ? true : undefined));
    // Due together every 20 s; each takes 3 s, so 3 fit at once and 2 wait.
    const names = ['c1', 'c2', 'c3', 'c4', 'c5'];
    for (const n of names) {
      const r = await api(url, 'POST', '/v1/jobs', shellJob(n, 'sleep 3', { schedule: '*/20 * * * * *', tags: { role: 'w:1' }, resources: { cpu: 2 }, max_start_delay: '2s' }));
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const queued = await eventually('two runs queued for capacity', async () => {
      const q = await api<QueuedRun[]>(url, 'GET', '/v1/queue');
      return q.body.length === 2 ? q.body : undefined;
    }, 40_000, 100);
    for (const q of queued) assert.match(q.reason, /no agent has room for cpu 2 \((small|large): cpu 0 of (2|4) free, needs 2; (small|large): cpu 0 of (2|4) free, needs 2\)/);
    const tick = queued[0]!.scheduled_at;
    // Every run of that tick, the queued ones too, ends up run once.
    const runs = await eventually('all five runs of the tick finished', async () => {
      const all: Execution[] = [];
      for (const n of names) all.push(...(await api<Execution[]>(url, 'GET', `/v1/jobs/${n}/executions`)).body.filter((e) => e.scheduled_at === tick));
      return all.length === 5 && all.every((e) => finishedRun(e)) ? all : undefined;
    }, 30_000, 200);
    for (const n of names) await api(url, 'POST', `/v1/jobs/${n}/toggle`);
    assert.ok(runs.every((e) => e.success), JSON.stringify(runs.map((e) => [e.job_name, e.node_name, e.success])));
    assert.deepEqual(new Set(runs.map((e) => e.node_name)), new Set(['small', 'large']), 'only agents with role w');
    assert.ok(peakCpu(runs, 'small', () => 2) <= 2, 'small never past 2 CPUs');
    assert.ok(peakCpu(runs, 'large', () => 2) <= 4, 'large never past 4 CPUs');
    assert.equal(peakCpu(runs, 'large', () => 2), 4, 'large was used to its capacity');
    // The queued ones started only after a run ended.
    const firstEnd = Math.min(...runs.map((e) => Date.parse(e.finished_at as string)));
    assert.equal(runs.filter((e) => Date.parse(e.started_at) >= firstEnd - 50).length, 2);
    assert.deepEqual((await api<QueuedRun[]>(url, 'GET', '/v1/queue')).body, []);

    // The two that waited started about 3 s after their tick, past the 2 s SLO: one notice each,
    // from the agent that ran it; the three on time, none.
    const late = runs.filter((e) => Date.parse(e.started_at) - Date.parse(e.scheduled_at) > 2000);
    assert.equal(late.length, 2, JSON.stringify(runs.map((e) => [e.job_name, Date.parse(e.started_at) - Date.parse(e.scheduled_at)])));
    const notices = await http!.waitFor('two late-start notices', (items) => items.filter((h) => /late by/.test(h.body)).length >= 2);
    const lateNotices = notices.filter((h) => /late by/.test(h.body)).map((h) => JSON.parse(h.body) as { job: string; node: string });
    assert.deepEqual(lateNotices.map((n) => n.job).sort(), late.map((e) => e.job_name).sort());
    assert.deepEqual(lateNotices.map((n) => `${n.job}@${n.node}`).sort(), late.map((e) => `${e.job_name}@${e.node_name}`).sort());
  });

  test('a run that outgrows its declared memory is killed on the agent running it, with the reason', async () => {
    const url = agents[2]!.url; // asked through an agent that does not run it
    const alloc = `node -e 'const b = Buffer.alloc(300 * 1024 * 1024, 1); setInterval(() => b[0]++, 1000)'`;
    const job = shellJob('greedy', alloc, { schedule: '@manually', tags: { role: 'w:1' }, resources: { memory: '100Mi' }, executor_config: { command: alloc, shell: 'true', timeout: '60s' } });
    assert.equal((await api(url, 'POST', '/v1/jobs', job)).status, 201);
    assert.equal((await api(url, 'POST', '/v1/jobs/greedy/run')).status, 202);
    const run = await eventually('greedy to be stopped', async () => (await api<Execution[]>(url, 'GET', '/v1/jobs/greedy/executions')).body.find((e) => finishedRun(e)), 30_000);
    assert.equal(run.success, false);
    assert.ok(['small', 'large'].includes(run.node_name));
    assert.match(run.output, /memory limit exceeded: .* used > (100 MB|104857600 bytes) limit\. Job was killed\./);
  });
});
