/**
 * The backend (etcd, then ZooKeeper) goes away under a running cluster agent:
 * the agent keeps running and finishes its work, steps down, reports degraded
 * health, and when the backend returns it records the result, leads again and
 * schedules again, with no restart.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, eventually, type AgentHandle, finishedRun } from '../helpers/agent.js';
import { CLUSTER_BACKENDS, startBackendServers, type BackendServers } from '../helpers/backend-servers.js';
import { randomKeyspace, startClusterAgent } from '../helpers/cluster.js';
import type { Execution } from '../../src/job/types.js';

let servers: BackendServers | undefined;
let agent: AgentHandle | undefined;

after(async () => {
  await agent?.stop('SIGKILL').catch(() => undefined);
  await servers?.stop();
});

/** What the API says while the backend is away. */
const UNAVAILABLE = { etcd: /etcd unavailable/, zookeeper: /zookeeper unavailable/ };

for (const backend of CLUSTER_BACKENDS) test(`a ${backend} outage: keep running, step down, degrade, then resume without restart`, async () => {
  servers = await startBackendServers(backend, 1);
  agent = await startClusterAgent({ backend, endpoints: servers.endpoints, keyspace: randomKeyspace(), name: 'solo' });
  const a = agent;
  const backendServers = servers;
  await a.waitForLog(/Cluster leadership acquired/);

  const created = await api(a.url, 'POST', '/v1/jobs', {
    name: 'long',
    schedule: '@manually',
    executor: 'shell',
    executor_config: { command: 'sleep 4; echo survived', shell: 'true' },
  });
  assert.equal(created.status, 201);
  assert.equal((await api(a.url, 'POST', '/v1/jobs/long/run')).status, 202);
  await eventually('long to be running', async () => {
    const r = await api<Execution[]>(a.url, 'GET', '/v1/busy');
    return r.body.length === 1 ? true : undefined;
  });

  await backendServers.stopMember(0, true);
  const degraded = await eventually('health to report degraded', async () => {
    const r = await api<{ status: string; checks: Record<string, string> }>(a.url, 'GET', '/health');
    return r.status === 503 ? r.body : undefined;
  }, 15_000);
  assert.equal(degraded.status, 'degraded');
  assert.match(degraded.checks.store ?? '', /unreachable/);
  const refused = await api<{ error: string }>(a.url, 'GET', '/v1/jobs');
  assert.equal(refused.status, 503, 'API reads answer 503 while the backend is away, not 500');
  assert.match(refused.body.error, UNAVAILABLE[backend]);
  await a.waitForLog(/Cluster leadership lost/, 15_000);
  // The run finishes while the backend is down; its result waits for the store.
  await a.waitForLog(/store write failed; retrying/, 15_000);
  assert.equal(a.proc.exitCode, null, 'the agent is still running');

  await backendServers.startMember(0);
  await eventually('health to recover', async () => ((await api(a.url, 'GET', '/health')).status === 200 ? true : undefined), 20_000);
  const acquired = await eventually('leadership to be acquired again', async () => {
    const n = a.logs.filter((l) => /Cluster leadership acquired/.test(l)).length;
    return n >= 2 ? n : undefined;
  }, 20_000);
  assert.ok(acquired >= 2);
  const [run] = await eventually('the run recorded after the backend returned', async () => {
    const r = await api<Execution[]>(a.url, 'GET', '/v1/jobs/long/executions');
    const done = r.body.filter((e) => finishedRun(e));
    return done.length === 1 ? done : undefined;
  }, 20_000);
  assert.equal(run?.success, true, run?.output);
  assert.match(run?.output ?? '', /survived/);

  // Scheduling works again.
  await api(a.url, 'POST', '/v1/jobs', {
    name: 'after',
    schedule: '@every 1s',
    executor: 'shell',
    executor_config: { command: 'echo back', shell: 'true' },
  });
  await eventually('a scheduled run after recovery', async () => {
    const r = await api<Execution[]>(a.url, 'GET', '/v1/jobs/after/executions');
    return r.body.some((e) => finishedRun(e) && e.success) ? true : undefined;
  }, 20_000);
  assert.ok(!a.logs.some((l) => /unhandled rejection/i.test(l)), 'no unhandled rejections');
  await a.stop('SIGTERM');
  await backendServers.stop();
  agent = undefined;
  servers = undefined;
});
