/**
 * Chains and retries across an etcd outage. A parent job (`retries: 2`)
 * fails its first attempt (it creates a marker file, so the next attempt
 * succeeds; each attempt takes 2 s) and has a child job. etcd is killed (every
 * member) at one of three points, and started again once the agent is seen
 * blocked on it:
 *   - during the parent's retry backoff (`--retry-backoff 2s`), the case asked for;
 *   - while the failing first attempt runs (its result and its retry record land after the outage);
 *   - while the healing second attempt runs (its result, the group outcome and the child after it).
 * Asserted each time: the parent's group is `success` (attempt 1 failed,
 * attempt 2 succeeded, one group), its counters count each attempt once, and
 * the child runs exactly once.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, eventually, removeDir, tempDir, type AgentHandle } from '../helpers/agent.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { randomKeyspace, startClusterAgent } from '../helpers/cluster.js';
import type { Execution, Job } from '../../src/job/types.js';

let etcd: EtcdCluster | undefined;
let agent: AgentHandle | undefined;
const dir = tempDir('kairos-chain-retry-');

after(async () => {
  await agent?.stop('SIGKILL', 10_000).catch(() => undefined);
  if (agent) removeDir(agent.dataDir);
  await etcd?.stop();
  removeDir(dir);
});

const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

type Phase = 'retry backoff' | 'first attempt running' | 'second attempt running';
const PHASES: Phase[] = ['retry backoff', 'first attempt running', 'second attempt running'];

for (const phase of PHASES) {
  test(`etcd down during the ${phase}: the retry heals the group and the child runs exactly once`, async (t) => {
    etcd ??= await startEtcd(1);
    const e = etcd;
    const sub = join(dir, phase.replace(/ /g, '-'));
    mkdirSync(sub);
    if (agent) {
      await agent.stop('SIGKILL', 10_000).catch(() => undefined);
      removeDir(agent.dataDir);
    }
    agent = await startClusterAgent({ endpoints: e.endpoints, keyspace: randomKeyspace(), name: 'solo', extra: ['--retry-backoff', '2s'] });
    const a = agent;
    await a.waitForLog(/Cluster leadership acquired/);

    const marker = join(sub, 'marker');
    const childFile = join(sub, 'child.log');
    const parent = await api(a.url, 'POST', '/v1/jobs', {
      name: 'parent',
      schedule: '@manually',
      retries: 2,
      executor: 'shell',
      executor_config: {
        command: `if [ -f ${marker} ]; then touch ${marker}.2; sleep 2; echo parent-ok; else touch ${marker}; sleep 2; echo first-attempt-fails; exit 1; fi`,
        shell: 'true',
      },
    });
    assert.equal(parent.status, 201, JSON.stringify(parent.body));
    const child = await api(a.url, 'POST', '/v1/jobs', {
      name: 'child',
      schedule: '@manually',
      parent_job: 'parent',
      executor: 'shell',
      executor_config: { command: `echo child-ran >> ${childFile}`, shell: 'true' },
    });
    assert.equal(child.status, 201, JSON.stringify(child.body));

    assert.equal((await api(a.url, 'POST', '/v1/jobs/parent/run')).status, 202);
    // Each attempt's command leaves a file when it starts (/v1/busy also lists a retry waiting out its backoff).
    const running = (attempt: number) => async (): Promise<boolean> => existsSync(attempt === 1 ? marker : `${marker}.2`);
    if (phase === 'first attempt running') {
      await eventually('attempt 1 running', running(1), 20_000, 50);
    } else if (phase === 'retry backoff') {
      const retrying = await a.waitForLog(/runner: retrying failed execution/, 20_000);
      assert.match(retrying, /delay_ms=2000/, 'the backoff is the configured 2 s');
    } else {
      await eventually('attempt 2 running', running(2), 20_000, 50);
    }

    const mark = a.logs.length;
    await e.stopMember(0, true);
    try {
      // Keep etcd down until the runner itself is blocked on it (the retry's job read, or an attempt's result write).
      const blocked = await eventually('the runner to hit the outage', async () => a.logs.slice(mark).find((l) => /runner: store write failed; retrying/.test(l)), 20_000, 50);
      t.diagnostic(`blocked: ${blocked.slice(25, 160)}`);
    } finally {
      await e.startMember(0);
    }

    await eventually('the parent group to be recorded', async () => {
      const r = await api<Job>(a.url, 'GET', '/v1/jobs/parent');
      return r.status === 200 && r.body.status !== '';
    }, 30_000).catch(() => undefined);
    await eventually('the child to run', async () => lines(childFile).length >= 1, 30_000).catch(() => undefined);
    await eventually('nothing running and every record closed', async () => {
      const busy = await api<Execution[]>(a.url, 'GET', '/v1/busy');
      const p = await api<Execution[]>(a.url, 'GET', '/v1/jobs/parent/executions');
      const c = await api<Execution[]>(a.url, 'GET', '/v1/jobs/child/executions');
      return busy.status === 200 && busy.body.length === 0 && [...p.body, ...c.body].every((x) => x.finished_at !== null);
    }, 20_000).catch(() => undefined);

    const parentRuns = (await api<Execution[]>(a.url, 'GET', '/v1/jobs/parent/executions')).body;
    const finalParent = (await api<Job>(a.url, 'GET', '/v1/jobs/parent')).body;
    const childRuns = (await api<Execution[]>(a.url, 'GET', '/v1/jobs/child/executions')).body;
    const seen = a.logs.slice(mark).filter((l) => /WARN|ERROR|runner:/.test(l)).map((l) => l.slice(11, 150));
    t.diagnostic(`parent: ${JSON.stringify(parentRuns.map((x) => ({ attempt: x.attempt, success: x.success, group: x.group, finished: x.finished_at !== null })))}; status ${JSON.stringify(finalParent.status)}, success ${finalParent.success_count}, error ${finalParent.error_count}; child runs ${childRuns.length}, child file lines ${lines(childFile).length}`);
    t.diagnostic(`agent warnings after the outage began: ${JSON.stringify([...new Set(seen)])}`);

    const byAttempt = [...parentRuns].sort((x, y) => x.attempt - y.attempt);
    assert.deepEqual(byAttempt.map((x) => [x.attempt, x.success]), [[1, false], [2, true]], 'attempt 1 failed, attempt 2 succeeded');
    assert.equal(new Set(parentRuns.map((x) => x.group)).size, 1, 'one group');
    assert.ok(parentRuns.every((x) => x.finished_at !== null), 'no parent attempt left running');
    assert.equal(finalParent.status, 'success', 'the retried group is a success');
    assert.equal(finalParent.success_count, 1);
    assert.equal(finalParent.error_count, 1);
    assert.equal(lines(childFile).length, 1, 'the child ran exactly once');
    assert.equal(childRuns.length, 1, 'one child execution recorded');
    assert.equal(childRuns[0]?.success, true);
    assert.equal(childRuns[0]?.trigger, 'parent');
  });
}
