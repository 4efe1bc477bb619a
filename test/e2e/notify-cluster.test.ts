/**
 * On a 3-agent etcd cluster every agent is configured to notify; a failed
 * group that ran on all three (with a retry each) is notified once, by the
 * agent whose compare-and-set applied the group.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, eventually, shellJob, type AgentHandle, finishedRun } from '../helpers/agent.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { agreedLeader, randomKeyspace, startClusterAgent } from '../helpers/cluster.js';
import { httpSink, type HttpSink } from '../helpers/sinks.js';
import type { Execution } from '../../src/job/types.js';

let etcd: EtcdCluster;
let slack: HttpSink;
const agents: AgentHandle[] = [];
const keyspace = randomKeyspace();

const jobOf = (body: string): string => /^Kairos job ([^\s:]+)/.exec((JSON.parse(body) as { text: string }).text)?.[1] ?? '';

before(async () => {
  slack = await httpSink();
  etcd = await startEtcd(3);
  const common = { endpoints: etcd.endpoints, keyspace, tags: { role: 'x' }, extra: ['--slack-webhook-url', `${slack.url}/slack`] };
  for (const name of ['n1', 'n2', 'n3']) agents.push(await startClusterAgent({ ...common, name }));
  await agreedLeader(agents);
});

after(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGTERM').catch(() => undefined)));
  await etcd?.stop();
  await slack?.close();
});

test('a failed group run on three agents, with retries, is notified once', async () => {
  const a = agents[0] as AgentHandle;
  await eventually('three members', async () => ((await api<unknown[]>(a.url, 'GET', '/v1/members')).body.length === 3 ? true : undefined));
  assert.equal((await api(a.url, 'POST', '/v1/jobs', shellJob('everywhere', 'echo boom; exit 1', { tags: { role: 'x' }, retries: 1 }))).status, 201);
  assert.equal((await api(a.url, 'POST', '/v1/jobs/everywhere/run')).status, 202);
  const runs = await eventually('six finished attempts (3 agents × 2)', async () => {
    const list = (await api<Execution[]>(a.url, 'GET', '/v1/jobs/everywhere/executions')).body;
    return list.length === 6 && list.every((e) => finishedRun(e)) ? list : undefined;
  });
  assert.deepEqual([...new Set(runs.map((e) => e.node_name))].sort(), ['n1', 'n2', 'n3']);
  await slack.waitFor('the failure notice', (hits) => hits.some((h) => jobOf(h.body) === 'everywhere'));
  // A marker afterwards: once its notice is in, any duplicate of the first would be too.
  assert.equal((await api(a.url, 'POST', '/v1/jobs', shellJob('marker', 'true', { tags: { role: 'x:1' }, notify_on: 'always' }))).status, 201);
  assert.equal((await api(a.url, 'POST', '/v1/jobs/marker/run')).status, 202);
  await slack.waitFor('the marker notice', (hits) => hits.some((h) => jobOf(h.body) === 'marker'));
  assert.equal(slack.items.filter((h) => jobOf(h.body) === 'everywhere').length, 1);
  // The record sits on one execution only: the one that closed the group.
  const withRecords = await eventually('the notification record', async () => {
    const list = (await api<Execution[]>(a.url, 'GET', '/v1/jobs/everywhere/executions')).body.filter((e) => (e.notifications ?? []).length > 0);
    return list.length === 1 && list[0]?.notifications?.[0]?.status === 'sent' ? list : undefined;
  });
  assert.equal(withRecords[0]?.attempt, 2);
  // Counted once cluster-wide.
  let groups = 0;
  for (const agent of agents) {
    const text = await (await fetch(`${agent.url}/metrics`)).text();
    const m = /^kairos_job_groups_finished_total\{[^}]*job_name="everywhere"[^}]*\} (\d+)$/m.exec(text);
    groups += m ? Number(m[1]) : 0;
  }
  assert.equal(groups, 1);
  // n1 started first and saw the two others join.
  const first = await (await fetch(`${a.url}/metrics`)).text();
  assert.match(first, /^kairos_member_events_total\{[^}]*event="join"[^}]*\} [2-9]/m);
  assert.match(first, /^kairos_members\{[^}]*\} 3$/m);
});
