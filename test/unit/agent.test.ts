/**
 * The agent's bookkeeping around the scheduler and the runner, in process,
 * with a real embedded store wrapped to inject store errors at chosen calls.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, type AgentTuning } from '../../src/agent/agent.js';
import { resolveConfig } from '../../src/agent/config.js';
import { silentLogger } from '../../src/util/log.js';
import { SqliteStore } from '../../src/backends/embedded/sqlite-store.js';
import { embeddedBackend } from '../../src/backends/embedded/index.js';
import type { Store } from '../../src/store/types.js';
import type { Execution } from '../../src/job/types.js';
import { faulty, outage, type FaultRule } from '../helpers/faulty-store.js';

function config(extra: Record<string, string | boolean> = {}): ReturnType<typeof resolveConfig> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-agent-'));
  return resolveConfig({ server: true, 'node-name': 'a1', 'http-addr': '127.0.0.1:0', 'data-dir': dataDir, ...extra }, {});
}

async function withAgent(
  rule: FaultRule | undefined,
  fn: (agent: Agent, f: ReturnType<typeof faulty<Store>>) => Promise<void>,
  extra: Record<string, string | boolean> = {},
  tuning: AgentTuning = {},
): Promise<void> {
  const f = faulty<Store>(SqliteStore.open(':memory:'), rule);
  const agent = new Agent(config(extra), silentLogger(), embeddedBackend(f.store), tuning);
  await agent.start();
  try {
    await fn(agent, f);
  } finally {
    f.setRule(undefined);
    await agent.stop();
  }
}

/** Waits until `check` holds, re-checking every 20 ms (bounded: a failure names what never happened). */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const shellJob = (name: string, command: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  schedule: '@every 1h',
  executor: 'shell',
  executor_config: { command, shell: 'true' },
  ...extra,
});

void test('a job whose last tick could not be read is scheduled once the store answers (not left out until edited)', async () => {
  let failures = 0;
  await withAgent(
    (method, args) => {
      if (method === 'getLastTick' && args[0] === 'hourly' && failures < 2) {
        failures++;
        return outage('getLastTick');
      }
      return undefined;
    },
    async (agent) => {
      await until('the scheduler to run', () => agent.scheduler.isRunning);
      await agent.jobs.upsert(shellJob('hourly', 'true'));
      await until('a failed read', () => failures >= 1);
      await until('the job to be scheduled', () => agent.scheduler.has('hourly'));
    },
  );
});

void test('a tick whose dispatch keeps failing is retried while this agent leads, not dropped after a few attempts', async () => {
  const at = new Date(Date.now() + 1500).toISOString();
  let failures = 0;
  await withAgent(
    (method, args) => {
      if (method === 'commitTick' && args[0] === 'once' && failures < 12) {
        failures++;
        return outage('commitTick');
      }
      return undefined;
    },
    async (agent, f) => {
      await until('the scheduler to run', () => agent.scheduler.isRunning);
      await agent.jobs.upsert(shellJob('once', 'echo ran', { schedule: `@at ${at}` }));
      await until('the dispatch to fail 12 times', () => failures === 12);
      await until('the tick to run', async () => {
        const { items } = await f.store.listExecutions('once');
        return items.some((e) => e.scheduled_at === at && e.finished_at !== null && e.output === 'ran\n');
      });
      assert.equal(await f.store.getLastTick('once'), at);
    },
    {},
    { dispatchRetryMs: { initial: 5, max: 20 } },
  );
});

void test('between a failed attempt and its retry the group never looks finished, nor the job idle', async () => {
  const inner = SqliteStore.open(':memory:');
  const views: string[] = [];
  let firstFailed = false;
  let group = 0;
  const f = faulty<Store>(inner, async (method, args) => {
    // Every store call after the first attempt's result was written looks at the group as another agent would.
    if (firstFailed && views.length < 3) {
      const members = await inner.listGroup('flaky', group);
      const running = await inner.listRunning('flaky');
      views.push(`${method}: ${members.filter((e) => e.finished_at === null).length} unfinished, ${running.length} running`);
    }
    if (method === 'completeExecution' && (args[0] as Execution).attempt === 1) {
      firstFailed = true;
      group = (args[0] as Execution).group;
    }
    return undefined;
  });
  const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-flaky-')), 'tried');
  const agent = new Agent(config({ 'retry-backoff': '10ms' }), silentLogger(), embeddedBackend(f.store));
  await agent.start();
  try {
    await agent.jobs.upsert(
      shellJob('flaky', `if [ -e ${marker} ]; then echo healed; else touch ${marker}; exit 1; fi`, { retries: 1, schedule: '@manually' }),
    );
    await agent.dispatcher.runNow('flaky', 'manual');
    await until('the healed retry', async () => (await inner.getJob('flaky'))?.status === 'success');
    assert.ok(views.length > 0);
    for (const v of views) assert.doesNotMatch(v, / 0 unfinished/, `the group looked finished: ${views.join('; ')}`);
  } finally {
    await agent.stop();
  }
});

void test('a result arriving after the execution was closed as agent lost is refused and counted once', async () => {
  const gate = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-late-')), 'go');
  await withAgent(undefined, async (agent, f) => {
    await agent.jobs.upsert(shellJob('late', `while [ ! -e ${gate} ]; do sleep 0.05; done; echo finished`, { schedule: '@manually' }));
    await agent.dispatcher.runNow('late', 'manual');
    let lost: Execution | undefined;
    await until('the run to start', async () => (lost = (await f.store.listRunning('late'))[0]) !== undefined);
    await agent.runner.closeLost(lost as Execution, 'agent lost: test closed it');
    fs.writeFileSync(gate, '');
    await until('the runner to be idle', async () => agent.runner.runningCount === 0);
    await agent.runner.idle();
    const stored = await f.store.getExecution('late', (lost as Execution).id);
    assert.match(stored?.output ?? '', /agent lost: test closed it/);
    assert.equal(stored?.success, false);
    const job = await f.store.getJob('late');
    assert.equal(job?.error_count, 1);
    assert.equal(job?.success_count, 0);
  });
});

void test('a store outage right after a parent finished delays its group outcome and children, never drops them', async () => {
  const failing = new Map<string, number>([['listGroup', 2], ['updateJob', 2], ['pruneExecutions', 2], ['dispatchExecutions', 2], ['getJob', 2]]);
  let parentDone = false;
  await withAgent(
    (method, args) => {
      if (method === 'completeExecution' && (args[0] as Execution).job_name === 'parent') parentDone = true;
      const left = failing.get(method) ?? 0;
      if (parentDone && left > 0) {
        failing.set(method, left - 1);
        return outage(method);
      }
      return undefined;
    },
    async (agent, f) => {
      await agent.jobs.upsert(shellJob('parent', 'echo parent', { schedule: '@manually' }));
      await agent.jobs.upsert(shellJob('child', 'echo child', { schedule: '', parent_job: 'parent' }));
      await agent.dispatcher.runNow('parent', 'manual');
      await until('the child to run', async () => (await f.store.listExecutions('child')).items.some((e) => e.output === 'child\n'));
      assert.equal((await f.store.getJob('parent'))?.status, 'success');
      assert.ok([...failing.values()].some((n) => n < 2), 'the outage hit the follow-up steps');
    },
  );
});

void test('children owed by a group whose agent crashed right after its result are run when the agent starts again', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-crash-'));
  const file = path.join(dataDir, 'kairos.db');
  // The crashed agent's last write: the parent's result, its outcome and the children it owes, in one step.
  const store = SqliteStore.open(file);
  const agent0 = new Agent(config({ 'data-dir': dataDir }), silentLogger(), embeddedBackend(store));
  await agent0.jobs.upsert(shellJob('parent', 'true', { schedule: '@manually' }));
  await agent0.jobs.upsert(shellJob('child', 'echo child', { schedule: '', parent_job: 'parent' }));
  const e = { id: 'p1', job_name: 'parent', started_at: new Date().toISOString(), finished_at: null, success: false, output: '', node_name: 'a1', group: 42, attempt: 1, exit_code: null, scheduled_at: new Date().toISOString(), trigger: 'manual' as const };
  await store.dispatchExecutions([e]);
  await store.completeExecution({ ...e, finished_at: new Date().toISOString(), success: true }, (j) => j && { ...j, success_count: j.success_count + 1 }, {
    group: (j) => ({ job: { ...j, status: 'success', last_group: 42 }, followUp: j.dependent_jobs ?? [] }),
  });
  await store.close();

  const f = faulty<Store>(SqliteStore.open(file));
  const agent = new Agent(config({ 'data-dir': dataDir }), silentLogger(), embeddedBackend(f.store));
  await agent.start();
  try {
    await until('the owed child to run', async () => (await f.store.listExecutions('child')).items.some((x) => x.output === 'child\n'));
    await until('the follow-up to be done', async () => (await f.store.listFollowUps()).length === 0);
    assert.equal((await f.store.listExecutions('child')).total, 1, 'run once');
  } finally {
    await agent.stop();
  }
});

void test('the same execution id under another job is another execution, and runs', async () => {
  await withAgent(undefined, async (agent, f) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-twice-'));
    const marks = path.join(dir, 'runs');
    await agent.jobs.upsert(shellJob('twice', `echo run >> ${marks}`, { schedule: '@manually' }));
    await agent.jobs.upsert(shellJob('other', `echo other >> ${marks}`, { schedule: '@manually' }));
    const now = new Date().toISOString();
    const e = { id: 't1', job_name: 'twice', started_at: now, finished_at: null, success: false, output: '', node_name: 'a1', group: 7, attempt: 1, exit_code: null, scheduled_at: now, trigger: 'manual' as const };
    const o = { ...e, job_name: 'other' };
    await f.store.dispatchExecutions([e]);
    await f.store.dispatchExecutions([o]);
    agent.runner.deliver({ ...e });
    agent.runner.deliver({ ...o });
    await until('the runs to be recorded', async () => (await f.store.listRunning()).length === 0);
    await agent.runner.idle();
    assert.deepEqual(fs.readFileSync(marks, 'utf8').split('\n').filter(Boolean).sort(), ['other', 'run']);
    assert.equal((await f.store.listExecutions('twice')).total, 1);
    assert.equal((await f.store.getExecution('other', 't1'))?.success, true);
  });
});

void test('an execution handed over with its job runs that job without reading it; its retry reads the job again', async () => {
  await withAgent(
    undefined,
    async (agent, f) => {
      const stored = await agent.jobs.upsert(shellJob('handed', 'echo stored', { schedule: '@manually', retries: 1 }));
      // As a backend's claim read it: an older version that fails.
      const handed = { ...stored, executor_config: { command: 'echo handed; exit 3', shell: 'true' } };
      const now = new Date().toISOString();
      const e = { id: 'h1', job_name: 'handed', started_at: now, finished_at: null, success: false, output: '', node_name: 'a1', group: 9, attempt: 1, exit_code: null, scheduled_at: now, trigger: 'manual' as const };
      await f.store.dispatchExecutions([e]);
      agent.runner.deliver({ ...e }, handed);
      await until('both attempts', async () => (await f.store.listGroup('handed', 9)).filter((x) => x.finished_at !== null).length === 2);
      const [first, retry] = await f.store.listGroup('handed', 9);
      assert.deepEqual([first?.attempt, first?.exit_code, first?.output], [1, 3, 'handed\n'], 'the first attempt ran the job handed over');
      assert.deepEqual([retry?.attempt, retry?.success, retry?.output], [2, true, 'stored\n'], 'the retry ran the stored job');
    },
    { 'retry-backoff': '10ms' },
  );
});

void test('a tick dispatched ahead (--dispatch-lead) starts on its tick, never before; shut down while it waits, it is recorded as never started', async () => {
  await withAgent(
    undefined,
    async (agent, f) => {
      await until('the scheduler to run', () => agent.scheduler.isRunning);
      const at = new Date(Date.now() + 2500).toISOString();
      await agent.jobs.upsert(shellJob('ahead', 'date +%s%3N', { schedule: `@at ${at}` }));
      await until('its run to finish', async () => (await f.store.listExecutions('ahead')).items.some((e) => e.finished_at !== null));
      const [run] = (await f.store.listExecutions('ahead')).items;
      assert.equal(run?.scheduled_at, at);
      assert.equal(run?.success, true, run?.output);
      assert.ok(Number(run?.output.trim()) >= Date.parse(at), `the process started at ${run?.output.trim()}, before its tick ${Date.parse(at)}`);
      assert.ok(Date.parse(run?.started_at ?? '') >= Date.parse(at), `started_at ${run?.started_at} is before the tick`);

      // Dispatched 5 s ahead, then the agent shuts down before the tick.
      const later = new Date(Date.now() + 5500).toISOString();
      await agent.jobs.upsert(shellJob('waiting', 'echo ran', { schedule: `@at ${later}` }));
      await until('the dispatch ahead of the tick', async () => (await f.store.listExecutions('waiting')).items.length > 0);
      assert.ok(Date.now() < Date.parse(later), 'dispatched before its tick');
      await agent.runner.shutdown(1000);
      const [waited] = (await f.store.listExecutions('waiting')).items;
      assert.equal(waited?.success, false);
      assert.match(waited?.output ?? '', /waiting for its tick and never started/);
    },
    { 'dispatch-lead': '5s' },
  );
});
