/**
 * Graceful shutdown (compatibility.md "Agent", dkron-reference.md §5.4):
 * SIGINT/SIGTERM waits for running executions up to --shutdown-timeout, then
 * kills them and records them as failed; a restart recovers everything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, eventually, isDead, removeDir, shellJob, startAgent, tempDir, type AgentHandle, type ApiResponse } from '../helpers/agent.js';
import type { Execution, Job } from '../../src/job/types.js';

async function runNow(agent: AgentHandle, name: string): Promise<Execution> {
  const res = await api(agent.url, 'POST', `/v1/jobs/${name}/run`);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return eventually(`an execution of ${name} running`, async () => {
    const busy = await api<Execution[]>(agent.url, 'GET', '/v1/busy');
    return busy.body.find((e) => e.job_name === name);
  });
}

async function executions(agent: AgentHandle, name: string): Promise<Execution[]> {
  const res = await api<Execution[]>(agent.url, 'GET', `/v1/jobs/${name}/executions`);
  assert.equal(res.status, 200);
  return res.body;
}

function logIndex(agent: AgentHandle, re: RegExp): number {
  return agent.logs.findIndex((l) => re.test(l));
}

test('SIGINT waits for a running execution, exits 0, and the run is stored as a success', async () => {
  const dataDir = tempDir();
  let agent: AgentHandle | undefined;
  try {
    agent = await startAgent({ dataDir });
    await agent.waitForLog(/Cluster leadership acquired/);
    assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob('slow', 'sleep 2; echo done'))).status, 201);
    const running = await runNow(agent, 'slow');

    const code = await agent.stop('SIGINT');
    assert.equal(code, 0);
    assert.ok(logIndex(agent, /Gracefully shutting down agent/) >= 0, 'the dkron shutdown line is logged');
    // The run finished (successfully) before the agent said it was done, and it waited for it.
    const finishedAt = logIndex(agent, /runner: execution finished.*success=true/);
    const waiting = logIndex(agent, /waiting for running executions to finish/);
    const complete = logIndex(agent, /shutdown complete/);
    assert.ok(waiting >= 0, 'shutdown said it was waiting');
    assert.ok(finishedAt > waiting && complete > finishedAt, `log order: waiting ${waiting}, finished ${finishedAt}, complete ${complete}`);

    agent = await startAgent({ dataDir });
    const [stored] = (await executions(agent, 'slow')).filter((e) => e.id === running.id);
    assert.ok(stored, 'the execution is kept');
    assert.equal(stored.success, true, stored.output);
    assert.equal(stored.output, 'done\n');
    assert.ok(stored.finished_at);
    // Ran its full two seconds: not cut short by the signal.
    assert.ok(Date.parse(stored.finished_at) - Date.parse(stored.started_at) >= 1900, `${stored.started_at} → ${stored.finished_at}`);
    assert.equal(await agent.stop('SIGTERM'), 0);
  } finally {
    if (agent && agent.proc.exitCode === null && agent.proc.signalCode === null) agent.proc.kill('SIGKILL');
    removeDir(dataDir);
  }
});

test('--shutdown-timeout kills what still runs, records it failed, and a restart recovers the jobs', async () => {
  const dataDir = tempDir();
  const pidFile = join(dataDir, 'background.pid');
  let agent: AgentHandle | undefined;
  let backgroundPid: number | undefined;
  try {
    agent = await startAgent({ dataDir, args: ['--shutdown-timeout', '500ms'] });
    await agent.waitForLog(/Cluster leadership acquired/);
    const defs = [
      shellJob('stuck', `sh -c 'sleep 300 & echo $! > ${pidFile}; sleep 300'`),
      shellJob('ticker', 'echo tick', { schedule: '@every 1h', tags: { role: 'any' }, metadata: { team: 'ops' }, retries: 2 }),
      shellJob('idle', 'true', { disabled: true, concurrency: 'forbid' }),
    ];
    const created = new Map<string, Job>();
    for (const def of defs) {
      const res: ApiResponse<Job> = await api<Job>(agent.url, 'POST', '/v1/jobs', def);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      created.set(res.body.name, res.body);
    }
    const running = await runNow(agent, 'stuck');
    // The job's own background child has started: the shutdown must reach it too.
    backgroundPid = await eventually('the background pid file', async () => {
      if (!existsSync(pidFile)) return undefined;
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      return pid > 0 ? pid : undefined;
    });
    assert.equal(isDead(backgroundPid), false);

    // A bounded wait (stop() fails past 10 s), not a timing goal: `npm run bench` (reaction) measures it.
    const code = await agent.stop('SIGINT', 10_000);
    assert.equal(code, 0);
    assert.ok(logIndex(agent, /Gracefully shutting down agent/) >= 0);
    assert.ok(logIndex(agent, /shutdown deadline reached/) >= 0, 'the kill is logged');
    const pid = backgroundPid;
    await eventually(`background process ${pid} to be dead`, async () => isDead(pid), 5000, 50);

    agent = await startAgent({ dataDir });
    await agent.waitForLog(/Cluster leadership acquired/);
    // Nothing was left running, so nothing is closed as "agent lost".
    assert.equal(logIndex(agent, /closing execution left running/), -1);

    const [stored] = (await executions(agent, 'stuck')).filter((e) => e.id === running.id);
    assert.ok(stored, 'the killed execution is kept');
    assert.equal(stored.success, false);
    assert.ok(stored.finished_at);
    assert.match(stored.output, /shutdown deadline \(500 ms\)/);
    assert.doesNotMatch(stored.output, /agent lost/);

    // Every job is back with the same definition; counters moved only for the run.
    const list = await api<Job[]>(agent.url, 'GET', '/v1/jobs');
    assert.deepEqual(list.body.map((j) => j.name).sort(), [...created.keys()].sort());
    for (const job of list.body) {
      const before = created.get(job.name) as Job;
      const strip = ({ error_count: _e, last_error: _l, status: _s, last_group: _g, next: _n, ...rest }: Job): Record<string, unknown> => rest;
      assert.deepEqual(strip(job), strip(before), job.name);
    }
    const stuck = list.body.find((j) => j.name === 'stuck') as Job;
    assert.equal(stuck.error_count, 1);
    assert.equal(stuck.status, 'failed');
    // The scheduled job is scheduled again by the new leader.
    const ticker = list.body.find((j) => j.name === 'ticker') as Job;
    assert.ok(typeof ticker.next === 'string' && Date.parse(ticker.next) > Date.now(), `next ${String(ticker.next)}`);
    assert.equal(await agent.stop('SIGTERM'), 0);
  } finally {
    if (agent && agent.proc.exitCode === null && agent.proc.signalCode === null) agent.proc.kill('SIGKILL');
    if (backgroundPid !== undefined && !isDead(backgroundPid)) process.kill(backgroundPid, 'SIGKILL');
    removeDir(dataDir);
  }
});

test('on SIGTERM queued executions never start: they are recorded failed at once, and only the active one is killed at the deadline', async () => {
  const dataDir = tempDir();
  const marks = join(dataDir, 'marks');
  let agent: AgentHandle | undefined;
  try {
    agent = await startAgent({ dataDir, args: ['--max-parallel', '1', '--shutdown-timeout', '1s'] });
    await agent.waitForLog(/Cluster leadership acquired/);
    const names = ['q1', 'q2', 'q3'];
    for (const name of names) {
      const res: ApiResponse = await api(agent.url, 'POST', '/v1/jobs', shellJob(name, `mkdir -p ${marks}; touch ${marks}/${name}; sleep 5; echo done`));
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    const url = agent.url;
    for (const name of names) assert.equal((await api(url, 'POST', `/v1/jobs/${name}/run`)).status, 202);
    // One runs (its mark is there), two wait for the single slot.
    await eventually('one execution started', async () => existsSync(join(marks, 'q1')) || existsSync(join(marks, 'q2')) || existsSync(join(marks, 'q3')));
    await eventually('three executions recorded', async () => {
      const busy: ApiResponse<Execution[]> = await api<Execution[]>(url, 'GET', '/v1/busy');
      return busy.body.length === 3;
    });

    assert.equal(await agent.stop('SIGTERM', 30_000), 0);
    const started = names.filter((n) => existsSync(join(marks, n)));
    assert.equal(started.length, 1, `only the active execution ever started: ${started.join(', ')}`);
    assert.ok(logIndex(agent, /shutdown deadline reached/) >= 0, 'the active one was killed at the deadline');

    agent = await startAgent({ dataDir });
    await agent.waitForLog(/Cluster leadership acquired/);
    assert.equal(logIndex(agent, /closing execution left running/), -1, 'nothing was left running');
    for (const name of names) {
      const [e] = await executions(agent, name);
      assert.ok(e?.finished_at, `${name} is closed`);
      assert.equal(e.success, false);
      if (started.includes(name)) assert.match(e.output, /shutdown deadline \(1000 ms\)/);
      else assert.match(e.output, /queued and never started/);
    }
    assert.equal(await agent.stop('SIGTERM'), 0);
  } finally {
    if (agent && agent.proc.exitCode === null && agent.proc.signalCode === null) agent.proc.kill('SIGKILL');
    removeDir(dataDir);
  }
});
