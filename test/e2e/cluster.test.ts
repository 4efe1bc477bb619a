/**
 * A real 3-member etcd cluster (and, the same cases again, a 3-member
 * ZooKeeper ensemble) and three Kairos agents: membership, one leader, tag
 * targeting (exact and `:N`), forbid and chains across agents, and an agent
 * dying mid-run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { api, eventually, ROOT, shellJob, type AgentHandle, finishedRun } from '../helpers/agent.js';
import { readSse, streamedText } from '../helpers/sse.js';
import { CLUSTER_BACKENDS, startBackendServers, type BackendServers, type ClusterBackend } from '../helpers/backend-servers.js';
import { agreedLeader, randomKeyspace, startClusterAgent } from '../helpers/cluster.js';
import type { Execution, Job } from '../../src/job/types.js';
import type { Member } from '../../src/cluster/types.js';

async function finished(agent: AgentHandle, job: string, count: number, timeoutMs = 20_000): Promise<Execution[]> {
  return eventually(`${count} finished executions of ${job}`, async () => {
    const r = await api<Execution[]>(agent.url, 'GET', `/v1/jobs/${job}/executions`);
    const done = r.body.filter((e) => finishedRun(e));
    return done.length >= count ? done : undefined;
  }, timeoutMs, 100);
}

function clusterSuite(backend: ClusterBackend): void {
  describe(backend, () => {
    let servers: BackendServers | undefined;
    const agents: AgentHandle[] = [];
    const keyspace = randomKeyspace();

    before(async () => {
      servers = await startBackendServers(backend, 3);
      const common = { backend, endpoints: servers.endpoints, keyspace };
      agents.push(await startClusterAgent({ ...common, name: 'a1', tags: { role: 'x', zone: 'a1' } }));
      agents.push(await startClusterAgent({ ...common, name: 'a2', tags: { role: 'x', zone: 'a2' }, extra: ['--max-parallel', '1'] }));
      agents.push(await startClusterAgent({ ...common, name: 'a3', tags: { role: 'x', target: 'cow', zone: 'a3' } }));
      await agreedLeader(agents);
    });

    after(async () => {
      await Promise.all(agents.map((a) => a.stop('SIGTERM').catch(() => undefined)));
      await servers?.stop();
    });

    test('every agent lists all members and agrees on one leader', async () => {
      for (const a of agents) {
        // Each agent registers right after its API is up, so wait for the last one to appear.
        const r = await eventually('all three members listed', async () => {
          const res = await api<Member[]>(a.url, 'GET', '/v1/members');
          return res.body.length === 3 ? res : undefined;
        });
        assert.equal(r.status, 200);
        assert.deepEqual(r.body.map((m) => m.Name).sort(), ['a1', 'a2', 'a3']);
        assert.equal(r.headers.get('x-total-count'), '3');
        assert.ok(r.body.every((m) => m.statusText === 'alive'));
        assert.equal(r.body.find((m) => m.Name === 'a3')?.Tags.target, 'cow');
      }
      const leader = await agreedLeader(agents);
      const isLeader = await Promise.all(agents.map((a) => api(a.url, 'GET', '/v1/isleader')));
      assert.deepEqual(isLeader.map((r) => r.status).filter((s) => s === 200).length, 1);
      const leaderIndex = isLeader.findIndex((r) => r.status === 200);
      assert.equal(['a1', 'a2', 'a3'][leaderIndex], leader);
    });

    test('a job written through one agent is readable and runnable through another', async () => {
      const [a1, a2] = agents as [AgentHandle, AgentHandle];
      const created = await api(a1.url, 'POST', '/v1/jobs', shellJob('shared', 'echo shared-$KAIROS_NODE_NAME', { tags: { zone: 'a2' } }));
      assert.equal(created.status, 201);
      const got = await api<{ name: string }>(a2.url, 'GET', '/v1/jobs/shared');
      assert.equal(got.status, 200);
      assert.equal((await api(a2.url, 'POST', '/v1/jobs/shared/run')).status, 202);
      const [run] = await finished(a1, 'shared', 1);
      assert.equal(run?.node_name, 'a2');
      assert.equal(run?.success, true);
      assert.match(run?.output ?? '', /shared-a2/);
    });

    test('target=cow runs only on the tagged agent', async () => {
      const a1 = agents[0] as AgentHandle;
      await api(a1.url, 'POST', '/v1/jobs', shellJob('cow', 'echo moo', { tags: { target: 'cow' } }));
      for (let i = 0; i < 3; i++) assert.equal((await api(a1.url, 'POST', '/v1/jobs/cow/run')).status, 202);
      const runs = await finished(a1, 'cow', 3);
      assert.deepEqual([...new Set(runs.map((e) => e.node_name))], ['a3']);
    });

    test('"role": "x:2" runs on exactly two distinct agents, one group', async () => {
      const a2 = agents[1] as AgentHandle;
      await api(a2.url, 'POST', '/v1/jobs', shellJob('two', 'echo two', { tags: { role: 'x:2' } }));
      assert.equal((await api(a2.url, 'POST', '/v1/jobs/two/run')).status, 202);
      const runs = await finished(a2, 'two', 2);
      assert.equal(runs.length, 2);
      assert.equal(new Set(runs.map((e) => e.node_name)).size, 2);
      assert.equal(new Set(runs.map((e) => e.group)).size, 1);
      const job = await eventually('job status success', async () => {
        const r = await api<Job>(a2.url, 'GET', '/v1/jobs/two');
        return r.body.status === 'success' ? r.body : undefined;
      });
      assert.equal(job.status, 'success');
    });

    test('a job matching no agent records why', async () => {
      const a1 = agents[0] as AgentHandle;
      await api(a1.url, 'POST', '/v1/jobs', shellJob('nowhere', 'true', { tags: { target: 'pig' } }));
      const r = await api<{ error: string }>(a1.url, 'POST', '/v1/jobs/nowhere/run');
      assert.equal(r.status, 409);
      assert.match(r.body.error, /no agent matches/);
      const job = await api<Job>(a1.url, 'GET', '/v1/jobs/nowhere');
      assert.equal(job.body.skip_count, 1);
    });

    test('concurrency forbid holds across agents', async () => {
      const [a1, a2, a3] = agents as [AgentHandle, AgentHandle, AgentHandle];
      await api(a1.url, 'POST', '/v1/jobs', shellJob('solo', 'sleep 3', { tags: { zone: 'a1' }, concurrency: 'forbid' }));
      assert.equal((await api(a2.url, 'POST', '/v1/jobs/solo/run')).status, 202);
      await eventually('solo to be running', async () => {
        const r = await api<Execution[]>(a3.url, 'GET', '/v1/busy');
        return r.body.some((e) => e.node_name === 'a1') ? true : undefined;
      });
      const second = await api<{ error: string }>(a3.url, 'POST', '/v1/jobs/solo/run');
      assert.equal(second.status, 409);
      assert.match(second.body.error, /forbid/);
      const runs = await finished(a1, 'solo', 1);
      assert.equal(runs.length, 1);
    });

    test('forbid is atomic across agents: concurrent run-now requests start exactly one run', async () => {
      const [a1] = agents as [AgentHandle];
      await api(a1.url, 'POST', '/v1/jobs', shellJob('racy', 'sleep 2', { tags: { zone: 'a1' }, concurrency: 'forbid' }));
      const answers = await Promise.all(
        Array.from({ length: 9 }, (_v, i) => api((agents[i % 3] as AgentHandle).url, 'POST', '/v1/jobs/racy/run')),
      );
      assert.deepEqual(answers.map((r) => r.status).sort(), [202, 409, 409, 409, 409, 409, 409, 409, 409]);
      const runs = await finished(a1, 'racy', 1);
      assert.equal(runs.length, 1);
    });

    test('dispatch prefers the least busy matching agent', async () => {
      const [a1] = agents as [AgentHandle];
      await api(a1.url, 'POST', '/v1/jobs', shellJob('spread', 'sleep 3', { tags: { role: 'x:1' } }));
      const used: string[] = [];
      for (let i = 0; i < 3; i++) {
        assert.equal((await api(a1.url, 'POST', '/v1/jobs/spread/run')).status, 202);
        // Wait until the chosen agent reports itself busy, so the next choice sees it.
        const node = await eventually('the run to be placed and reported busy', async () => {
          const busy = await api<Execution[]>(a1.url, 'GET', '/v1/busy');
          const placed = busy.body.filter((e) => e.id && !used.includes(e.node_name));
          const members = await api<(Member & { running: number })[]>(a1.url, 'GET', '/v1/members');
          const n = placed[0]?.node_name;
          return n && members.body.find((m) => m.Name === n)?.running === 1 ? n : undefined;
        });
        used.push(node);
      }
      assert.deepEqual([...used].sort(), ['a1', 'a2', 'a3']);
      await finished(a1, 'spread', 3);
    });

    test('--max-parallel 1 queues runs on that agent instead of overlapping them', async () => {
      const [a1] = agents as [AgentHandle];
      await api(a1.url, 'POST', '/v1/jobs', shellJob('queued', 'echo start=$(date +%s%N); sleep 1; echo end=$(date +%s%N)', { tags: { zone: 'a2' } }));
      for (let i = 0; i < 3; i++) assert.equal((await api(a1.url, 'POST', '/v1/jobs/queued/run')).status, 202);
      const runs = await finished(a1, 'queued', 3, 30_000);
      const spans = runs
        .map((e) => ({ start: Number(/start=(\d+)/.exec(e.output)?.[1]), end: Number(/end=(\d+)/.exec(e.output)?.[1]) }))
        .sort((x, y) => x.start - y.start);
      for (let i = 1; i < spans.length; i++) {
        assert.ok((spans[i] as { start: number }).start >= (spans[i - 1] as { end: number }).end, 'runs on a2 never overlap');
      }
    });

    test('a chain crosses agents: parent on a3, child on a1, child runs once', async () => {
      const a2 = agents[1] as AgentHandle;
      await api(a2.url, 'POST', '/v1/jobs', shellJob('parent', 'echo parent', { tags: { zone: 'a3' } }));
      const child = await api(a2.url, 'POST', '/v1/jobs', {
        ...shellJob('child', 'echo child'),
        schedule: '',
        parent_job: 'parent',
        tags: { zone: 'a1' },
      });
      assert.equal(child.status, 201);
      assert.equal((await api(a2.url, 'POST', '/v1/jobs/parent/run')).status, 202);
      const [childRun] = await finished(a2, 'child', 1);
      assert.equal(childRun?.node_name, 'a1');
      assert.equal(childRun?.trigger, 'parent');
      const [parentRun] = await finished(a2, 'parent', 1);
      assert.equal(parentRun?.node_name, 'a3');
      // Exactly once: no second child execution appears once the parent group is applied.
      const all = await api<Execution[]>(a2.url, 'GET', '/v1/jobs/child/executions');
      assert.equal(all.body.length, 1);
    });

    test('an agent killed mid-run: its execution is closed as "agent lost"', async () => {
      const [a1, , a3] = agents as [AgentHandle, AgentHandle, AgentHandle];
      await api(a1.url, 'POST', '/v1/jobs', shellJob('doomed', 'sleep 60', { tags: { zone: 'a3' } }));
      assert.equal((await api(a1.url, 'POST', '/v1/jobs/doomed/run')).status, 202);
      await eventually('doomed to start on a3', async () => {
        const r = await api<Execution[]>(a1.url, 'GET', '/v1/busy');
        return r.body.some((e) => e.node_name === 'a3') ? true : undefined;
      });
      a3.proc.kill('SIGKILL');
      await a3.exited;
      const [closed] = await finished(a1, 'doomed', 1, 30_000);
      assert.equal(closed?.success, false);
      assert.match(closed?.output ?? '', /agent lost/);
      const members = await eventually('a3 to leave the member list', async () => {
        const r = await api<Member[]>(a1.url, 'GET', '/v1/members');
        return r.body.every((m) => m.Name !== 'a3') ? r.body : undefined;
      });
      assert.deepEqual(members.map((m) => m.Name).sort(), ['a1', 'a2']);
      agents.splice(2, 1);
    });

    test('placement across agents: a plugin on one agent; its live output relayed through another', async () => {
      const [a1] = agents as [AgentHandle];
      const a4 = await startClusterAgent({
        backend, endpoints: servers!.endpoints, keyspace, name: 'a4', tags: { role: 'y', zone: 'a4' },
        extra: ['--plugin-dir', join(ROOT, 'test', 'fixtures', 'plugins', 'bin')],
      });
      agents.push(a4);
      const listed = await eventually('a4 advertises pyecho', async () => {
        const r = await api<Member[]>(a1.url, 'GET', '/v1/members');
        return r.body.find((m) => m.Name === 'a4' && m.executors?.includes('pyecho'));
      });
      assert.ok(listed.processors?.includes('upper'));
      assert.ok(!(await api<Member[]>(a1.url, 'GET', '/v1/members')).body.find((m) => m.Name === 'a1')?.executors?.includes('pyecho'));
      // Saved through a1, which lacks the plugin: refused where the tags can't reach it, accepted where they can.
      const refused = await api<{ field: string; message: string }>(a1.url, 'POST', '/v1/jobs', { name: 'py-x', schedule: '@every 1h', tags: { role: 'x' }, executor: 'pyecho', executor_config: { message: 'm' } });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.field, 'executor');
      assert.match(refused.body.message, /no agent matching the job's tags \(role=x\) has executor "pyecho"; agents with it: a4/);
      const job = { name: 'py-relay', schedule: '@every 1h', executor: 'pyecho', executor_config: { message: 'far', times: '3', delay_ms: '500' } };
      assert.equal((await api(a1.url, 'POST', '/v1/jobs', job)).status, 201, 'untagged: placed on the one agent that has it');
      assert.equal((await api(a1.url, 'POST', '/v1/jobs/py-relay')).status, 202);
      const running = await eventually('py-relay recorded', async () => (await api<Execution[]>(a1.url, 'GET', '/v1/jobs/py-relay/executions')).body[0]);
      assert.equal(running.node_name, 'a4');
      const { status, events } = await readSse(`${a1.url}/v1/jobs/py-relay/executions/${running.id}/stream`);
      assert.equal(status, 200);
      assert.ok(events.filter((e) => e.event === 'output').length >= 2, JSON.stringify(events));
      assert.match(streamedText(events), /^far 1\/3 .*\nfar 2\/3 .*\nfar 3\/3 /);
      const end = events.at(-1);
      assert.equal(end?.event, 'end');
      assert.equal((end?.data as Execution).success, true);
      await a4.stop('SIGTERM');
      agents.pop();
    });
  });
}

for (const backend of CLUSTER_BACKENDS) clusterSuite(backend);
