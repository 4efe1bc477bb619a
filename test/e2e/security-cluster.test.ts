/**
 * Tokens and the audit log on an etcd cluster: a token made through one agent
 * (or by `kairos token create` straight into etcd) is accepted by every agent,
 * a revoke applies everywhere, and every agent shows the same audit log.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { api, BIN, eventually, ROOT, shellJob, type AgentHandle } from '../helpers/agent.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { agreedLeader, randomKeyspace, startClusterAgent } from '../helpers/cluster.js';

let etcd: EtcdCluster;
const agents: AgentHandle[] = [];
const keyspace = randomKeyspace();
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

before(async () => {
  etcd = await startEtcd(1);
  for (const name of ['s1', 's2']) agents.push(await startClusterAgent({ endpoints: etcd.endpoints, keyspace, name }));
  await agreedLeader(agents);
});

after(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGTERM').catch(() => undefined)));
  await etcd?.stop();
});

test('tokens and the audit log are the same from every agent of an etcd cluster', async () => {
  const [s1, s2] = agents as [AgentHandle, AgentHandle];
  const res = spawnSync(
    process.execPath,
    [BIN, 'token', 'create', '--name', 'ops', '--role', 'admin', '--backend', 'etcd', '--backend-machine', etcd.endpoints.join(','), '--keyspace', keyspace],
    { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(res.status, 0, res.stderr);
  const ops = bearer(res.stdout.trim());
  // Each agent re-reads the token list within about a second.
  for (const a of agents) {
    await eventually(`${a.url} to require tokens`, async () => (await api(a.url, 'GET', '/v1/jobs')).status === 401);
    assert.equal((await api(a.url, 'GET', '/v1/jobs', undefined, ops)).status, 200);
  }
  const made = await api<{ token: string }>(s1.url, 'POST', '/v1/tokens', { name: 'dev', role: 'admin' }, ops);
  assert.equal(made.status, 201);
  const dev = bearer(made.body.token);
  assert.equal((await api(s2.url, 'POST', '/v1/jobs', shellJob('shared', 'echo 1'), dev)).status, 201);
  assert.equal((await api(s1.url, 'POST', '/v1/jobs', shellJob('shared', 'echo 2'), ops)).status, 201);
  assert.equal((await api(s2.url, 'DELETE', '/v1/jobs/shared', undefined, dev)).status, 200);

  const views = await Promise.all(agents.map((a) => api<{ id: string; actor: string; action: string }[]>(a.url, 'GET', '/v1/audit?job=shared', undefined, ops)));
  assert.deepEqual(views[0]?.body.map((e) => `${e.actor} ${e.action}`), ['dev job.delete', 'ops job.update', 'dev job.create']);
  assert.deepEqual(views[0]?.body, views[1]?.body, 'both agents show the same entries');
  const all = await Promise.all(agents.map((a) => api<{ id: string }[]>(a.url, 'GET', '/v1/audit', undefined, ops)));
  assert.deepEqual(all[0]?.body, all[1]?.body);

  assert.equal((await api(s2.url, 'DELETE', '/v1/tokens/dev', undefined, ops)).status, 200);
  for (const a of agents) {
    await eventually(`${a.url} to refuse the revoked token`, async () => (await api(a.url, 'GET', '/v1/jobs', undefined, dev)).status === 401);
  }
});
