/**
 * Execution semantics (compatibility.md "Execution semantics", dkron-reference
 * §4, §6.5–6.8) against the real `kairos` binary: chains, forbid, retries,
 * timeouts, output cap, job environment, ephemeral jobs, time windows,
 * disabled jobs, history retention, `@at` and execution groups.
 *
 * One agent serves the whole file (the output-cap test needs its own flag and
 * starts a second one). Absence of a run is never asserted after a sleep: a
 * sibling `@every 1s` job that has run twice proves the scheduler had the
 * chance, and "exactly once" is checked after a later run has completed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, eventually, removeDir, startAgent, stopAndRemove, tempDir, type AgentHandle } from '../helpers/agent.js';
import type { Execution, Job } from '../../src/job/types.js';

const NODE = 'test-node';
const RFC3339_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let agent: AgentHandle;
let dataDir: string;

function shell(command: string): { executor: string; executor_config: Record<string, string> } {
  return { executor: 'shell', executor_config: { command, shell: 'true' } };
}

async function createJob(base: string, spec: Record<string, unknown>): Promise<Job> {
  const r = await api<Job>(base, 'POST', '/v1/jobs', spec);
  assert.equal(r.status, 201, `creating ${String(spec.name)}: ${JSON.stringify(r.body)}`);
  return r.body;
}

async function getJob(name: string, base = agent.url): Promise<Job> {
  const r = await api<Job>(base, 'GET', `/v1/jobs/${name}`);
  assert.equal(r.status, 200, `GET ${name}: ${JSON.stringify(r.body)}`);
  return r.body;
}

async function runNow(name: string, base = agent.url): Promise<void> {
  const r = await api(base, 'POST', `/v1/jobs/${name}/run`);
  assert.equal(r.status, 202, `run ${name}: ${JSON.stringify(r.body)}`);
}

/** Oldest first, so index i is the i-th run. */
async function executions(name: string, base = agent.url): Promise<Execution[]> {
  const r = await api<Execution[]>(base, 'GET', `/v1/jobs/${name}/executions?_order=ASC`);
  assert.equal(r.status, 200, `executions of ${name}: ${JSON.stringify(r.body)}`);
  return r.body;
}

async function finishedRuns(name: string, count: number, base = agent.url, timeoutMs = 30_000): Promise<Execution[]> {
  return eventually(
    `${count} finished execution(s) of ${name}`,
    async () => {
      const list = await executions(name, base);
      const done = list.filter((e) => e.finished_at !== null);
      return done.length >= count ? list : undefined;
    },
    timeoutMs,
  );
}

async function jobWhere(name: string, what: string, pred: (j: Job) => boolean): Promise<Job> {
  return eventually(`${name}: ${what}`, async () => {
    const j = await getJob(name);
    return pred(j) ? j : undefined;
  });
}

async function deleteJob(name: string): Promise<void> {
  const r = await api(agent.url, 'DELETE', `/v1/jobs/${name}`);
  assert.equal(r.status, 200, `delete ${name}: ${JSON.stringify(r.body)}`);
}

/**
 * An event that proves the scheduler has been ticking: a fresh `@every 1s`
 * job has completed two scheduled runs. Jobs created before it had at least
 * as many chances to fire.
 */
async function schedulerBarrier(label: string): Promise<void> {
  const name = `sem-barrier-${label}`;
  await createJob(agent.url, { name, schedule: '@every 1s', ...shell('true') });
  await finishedRuns(name, 2);
  await deleteJob(name);
}

function kairosEnv(output: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of output.split('\n')) {
    const m = /^(KAIROS_[A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1] as string] = m[2] as string;
  }
  return env;
}

function ms(t: string | null): number {
  assert.ok(t, 'time is set');
  return Date.parse(t);
}

before(async () => {
  dataDir = tempDir();
  agent = await startAgent({ dataDir, args: ['--retry-backoff', '100ms'] });
  await agent.waitForLog(/Cluster leadership acquired/);
});

after(() => stopAndRemove(agent, dataDir));

describe('dependent jobs', () => {
  test('parent → child → grandchild: each runs exactly once per parent run, triggered by "parent"', async () => {
    await createJob(agent.url, { name: 'sem-chain-parent', schedule: '@manually', ...shell('echo parent') });
    await createJob(agent.url, { name: 'sem-chain-child', parent_job: 'sem-chain-parent', ...shell('echo child') });
    await createJob(agent.url, { name: 'sem-chain-grandchild', parent_job: 'sem-chain-child', ...shell('echo grandchild') });
    assert.deepEqual((await getJob('sem-chain-parent')).dependent_jobs, ['sem-chain-child']);
    assert.deepEqual((await getJob('sem-chain-child')).dependent_jobs, ['sem-chain-grandchild']);

    await runNow('sem-chain-parent');
    await finishedRuns('sem-chain-grandchild', 1);
    const [p] = await executions('sem-chain-parent');
    const [c] = await executions('sem-chain-child');
    const [g] = await executions('sem-chain-grandchild');
    assert.ok(p && c && g);
    assert.equal(p.trigger, 'manual');
    assert.equal(c.trigger, 'parent');
    assert.equal(g.trigger, 'parent');
    assert.ok(c.success && g.success, `${c.output} ${g.output}`);
    assert.ok(ms(c.started_at) >= ms(p.finished_at), 'child starts after the parent finished');
    assert.ok(ms(g.started_at) >= ms(c.finished_at), 'grandchild starts after the child finished');
    assert.notEqual(c.group, p.group, 'a child gets its own group');

    // A second parent run completes the chain again; any duplicate from the
    // first run would show up as a third execution by then.
    await runNow('sem-chain-parent');
    await finishedRuns('sem-chain-grandchild', 2);
    assert.equal((await executions('sem-chain-parent')).length, 2);
    assert.equal((await executions('sem-chain-child')).length, 2);
    assert.equal((await executions('sem-chain-grandchild')).length, 2);
    assert.equal((await getJob('sem-chain-grandchild')).status, 'success');
  });

  test('a failing parent does not run its child', async () => {
    await createJob(agent.url, { name: 'sem-fail-parent', schedule: '@manually', ...shell('exit 1') });
    await createJob(agent.url, { name: 'sem-fail-child', parent_job: 'sem-fail-parent', ...shell('echo child') });
    await runNow('sem-fail-parent');
    const failed = await jobWhere('sem-fail-parent', 'status failed', (j) => j.status === 'failed');
    assert.equal(failed.error_count, 1);

    // Heal the parent and run it again: the child then runs exactly once, for the second run.
    await createJob(agent.url, { name: 'sem-fail-parent', schedule: '@manually', ...shell('true') });
    assert.deepEqual((await getJob('sem-fail-parent')).dependent_jobs, ['sem-fail-child'], 'upsert keeps dependents');
    await runNow('sem-fail-parent');
    const children = await finishedRuns('sem-fail-child', 1);
    const parents = await executions('sem-fail-parent');
    assert.equal(parents.length, 2);
    assert.equal(children.length, 1, 'only the successful parent run triggered the child');
    assert.ok(ms(children[0]?.started_at ?? null) >= ms(parents[1]?.finished_at ?? null));
  });

  test('a parent healed by a retry counts as success and runs its child once', async () => {
    await createJob(agent.url, {
      name: 'sem-heal-parent',
      schedule: '@manually',
      retries: 1,
      ...shell('echo "attempt $KAIROS_ATTEMPT"; [ "$KAIROS_ATTEMPT" -ge 2 ]'),
    });
    await createJob(agent.url, { name: 'sem-heal-child', parent_job: 'sem-heal-parent', ...shell('echo child') });
    await runNow('sem-heal-parent');
    await finishedRuns('sem-heal-child', 1);
    const parent = await getJob('sem-heal-parent');
    assert.equal(parent.status, 'success');
    const runs = await executions('sem-heal-parent');
    assert.deepEqual(
      runs.map((e) => [e.attempt, e.success]),
      [
        [1, false],
        [2, true],
      ],
    );
    assert.equal(runs[0]?.group, runs[1]?.group, 'the retry shares the group');

    await runNow('sem-heal-parent');
    await finishedRuns('sem-heal-child', 2);
    assert.equal((await executions('sem-heal-parent')).length, 4);
    assert.equal((await executions('sem-heal-child')).length, 2, 'one child run per healed parent group');
  });

  test('a disabled child is skipped (recorded) when its parent succeeds, but can be run by hand', async () => {
    await createJob(agent.url, { name: 'sem-off-parent', schedule: '@manually', ...shell('true') });
    await createJob(agent.url, { name: 'sem-off-child', parent_job: 'sem-off-parent', disabled: true, ...shell('echo child') });
    await runNow('sem-off-parent');
    const child = await jobWhere('sem-off-child', 'a recorded skip', (j) => j.skip_count === 1);
    assert.match(child.last_skip_reason, /disabled/);
    assert.deepEqual(await executions('sem-off-child'), []);
    assert.equal((await getJob('sem-off-parent')).status, 'success');

    await runNow('sem-off-child');
    const [e] = await finishedRuns('sem-off-child', 1);
    assert.equal(e?.trigger, 'manual');
    assert.equal(e?.success, true);
  });
});

describe('concurrency', () => {
  test('forbid: overlapping ticks are skipped and recorded; never two running', async () => {
    const name = 'sem-forbid';
    await createJob(agent.url, { name, schedule: '@every 1s', concurrency: 'forbid', ...shell('sleep 3') });
    let maxRunning = 0;
    let sawRunning: Execution | undefined;
    const skipped = await eventually(
      'two forbid skips',
      async () => {
        const running = (await executions(name)).filter((e) => e.finished_at === null);
        maxRunning = Math.max(maxRunning, running.length);
        sawRunning ??= running[0];
        const j = await getJob(name);
        return j.skip_count >= 2 ? j : undefined;
      },
      30_000,
      150,
    );
    assert.match(skipped.last_skip_reason, /forbid/);
    assert.ok(sawRunning, 'a running execution was observed');
    assert.equal(maxRunning, 1, 'never more than one execution running');

    // A manual run is also refused while one runs (Kairos extends dkron here); force overrides.
    const running = await eventually('a running execution', async () =>
      (await executions(name)).find((e) => e.finished_at === null),
    );
    const refused = await api<{ error: string }>(agent.url, 'POST', `/v1/jobs/${name}/run`);
    if (refused.status === 202) {
      // Only acceptable if that execution finished in between.
      const r = await api<Execution>(agent.url, 'GET', `/v1/jobs/${name}/executions/${running.id}`);
      assert.notEqual(r.body.finished_at, null, 'manual run accepted while a forbid execution was running');
    } else {
      assert.equal(refused.status, 409);
      assert.match(refused.body.error, /forbid/);
    }
    await deleteJob(name);
  });

  test('allow: the same job overlaps', async () => {
    const name = 'sem-allow';
    await createJob(agent.url, { name, schedule: '@every 1s', concurrency: 'allow', ...shell('sleep 3') });
    const overlap = await eventually(
      'two executions running at once',
      async () => {
        const running = (await executions(name)).filter((e) => e.finished_at === null);
        return running.length >= 2 ? running : undefined;
      },
      30_000,
      150,
    );
    assert.notEqual(overlap[0]?.group, overlap[1]?.group);
    assert.equal((await getJob(name)).skip_count, 0);
    await deleteJob(name);
  });
});

describe('retries and timeouts', () => {
  test('retries: 2 on an always-failing command gives attempts 1,2,3 in one group on one node', async () => {
    const name = 'sem-retries';
    await createJob(agent.url, { name, schedule: '@manually', retries: 2, ...shell('echo "attempt=$KAIROS_ATTEMPT"; exit 1') });
    await runNow(name);
    const job = await jobWhere(name, 'status failed', (j) => j.status === 'failed');
    assert.equal(job.error_count, 3);
    assert.equal(job.success_count, 0);
    const runs = await executions(name);
    assert.deepEqual(
      runs.map((e) => e.attempt),
      [1, 2, 3],
    );
    assert.equal(new Set(runs.map((e) => e.group)).size, 1, 'one group');
    assert.equal(new Set(runs.map((e) => e.id)).size, 3, 'distinct execution ids');
    for (const e of runs) {
      assert.equal(e.node_name, NODE);
      assert.equal(e.success, false);
      assert.notEqual(e.finished_at, null);
      assert.match(e.output, new RegExp(`^attempt=${e.attempt}$`, 'm'));
    }
    assert.deepEqual(
      runs.map((e) => e.trigger),
      ['manual', 'retry', 'retry'],
    );
    assert.equal(new Set(runs.map((e) => e.scheduled_at)).size, 1, 'retries keep the scheduled time');
  });

  test('timeout: the process is killed with dkron\'s message well before it would end', async () => {
    const name = 'sem-timeout';
    await createJob(agent.url, {
      name,
      schedule: '@manually',
      executor: 'shell',
      executor_config: { command: 'sleep 30', timeout: '500ms' },
    });
    await runNow(name);
    const [e] = await finishedRuns(name, 1, agent.url, 20_000);
    assert.ok(e);
    assert.equal(e.success, false);
    assert.match(e.output, /execution time exceeding defined timeout 500ms\. Job was killed\./);
    // finished_at − started_at is measured by `npm run bench` (reaction); the killed-by-timeout message above is the behaviour.
    assert.equal((await getJob(name)).status, 'failed');
  });
});

describe('output', () => {
  test('--output-limit 1000 keeps exactly the last 1000 bytes', async () => {
    const dir = tempDir();
    const small = await startAgent({ dataDir: dir, args: ['--output-limit', '1000'] });
    try {
      await small.waitForLog(/Cluster leadership acquired/);
      const name = 'sem-output-cap';
      await createJob(small.url, { name, schedule: '@manually', ...shell('yes 0123456789 | head -c 100000; printf TAIL-MARKER') });
      await runNow(name, small.url);
      const [e] = await finishedRuns(name, 1, small.url);
      assert.ok(e);
      assert.equal(e.success, true, e.output.slice(0, 200));
      const full = '0123456789\n'.repeat(Math.ceil(100_000 / 11)).slice(0, 100_000) + 'TAIL-MARKER';
      assert.equal(Buffer.byteLength(e.output), 1000);
      assert.ok(e.output.endsWith('TAIL-MARKER'));
      assert.equal(e.output, full.slice(-1000));
    } finally {
      try {
        assert.equal(await small.stop('SIGTERM'), 0);
      } finally {
        removeDir(dir);
      }
    }
  });
});

describe('job environment', () => {
  test('a manual run sees KAIROS_JOB_NAME, _EXECUTION_ID, _NODE_NAME, _ATTEMPT, _SCHEDULED_AT', async () => {
    const name = 'sem-env';
    await createJob(agent.url, { name, schedule: '@manually', ...shell('env | grep "^KAIROS_" | sort') });
    await runNow(name);
    const [e] = await finishedRuns(name, 1);
    assert.ok(e);
    assert.equal(e.success, true, e.output);
    const env = kairosEnv(e.output);
    assert.equal(env.KAIROS_JOB_NAME, name);
    assert.equal(env.KAIROS_EXECUTION_ID, e.id);
    assert.equal(env.KAIROS_NODE_NAME, NODE);
    assert.equal(env.KAIROS_ATTEMPT, '1');
    assert.match(env.KAIROS_SCHEDULED_AT ?? '', RFC3339_MS);
    assert.equal(env.KAIROS_SCHEDULED_AT, e.scheduled_at);
    assert.notEqual(e.group % 1000, 0, 'a manual group cannot collide with a tick group');
  });

  test('a scheduled tick: KAIROS_SCHEDULED_AT is the tick, and the group is derived from it', async () => {
    const name = 'sem-env-tick';
    await createJob(agent.url, { name, schedule: '@every 1s', ...shell('env | grep "^KAIROS_" | sort') });
    const runs = (await finishedRuns(name, 2)).filter((e) => e.finished_at !== null);
    await api(agent.url, 'POST', `/v1/jobs/${name}/toggle`);
    for (const e of runs) {
      assert.equal(e.trigger, 'schedule');
      const env = kairosEnv(e.output);
      assert.match(env.KAIROS_SCHEDULED_AT ?? '', RFC3339_MS);
      assert.equal(env.KAIROS_SCHEDULED_AT, e.scheduled_at);
      assert.equal(env.KAIROS_EXECUTION_ID, e.id);
      assert.equal(e.group % 1000, 0, 'a tick group is a multiple of 1000');
      assert.equal(e.group, Date.parse(e.scheduled_at) * 1000);
    }
    const [a, b] = runs;
    assert.ok(a && b);
    assert.ok(b.group > a.group);
    assert.equal((b.group - a.group) % 1_000_000, 0, '@every 1s ticks are whole seconds apart');
    await deleteJob(name);
  });
});

describe('ephemeral jobs', () => {
  test('deleted after a successful run', async () => {
    const name = 'sem-eph-ok';
    await createJob(agent.url, { name, schedule: '@manually', ephemeral: true, ...shell('true') });
    await runNow(name);
    await eventually(`${name} to be deleted`, async () => (await api(agent.url, 'GET', `/v1/jobs/${name}`)).status === 404);
    assert.equal((await api(agent.url, 'GET', `/v1/jobs/${name}/executions`)).status, 404);
  });

  test('kept after a failed run', async () => {
    const name = 'sem-eph-fail';
    await createJob(agent.url, { name, schedule: '@manually', ephemeral: true, ...shell('exit 3') });
    await runNow(name);
    await jobWhere(name, 'first failure', (j) => j.error_count === 1 && j.status === 'failed');
    // The second run being accepted proves the first failure did not delete the job.
    await runNow(name);
    const j = await jobWhere(name, 'second failure', (x) => x.error_count === 2);
    assert.equal(j.status, 'failed');
    assert.equal((await executions(name)).length, 2);
  });
});

describe('schedule windows and disabled jobs', () => {
  test('expires_at in the past never runs; starts_at in the future delays next and runs nothing', async () => {
    const now = Date.now();
    const expired = await createJob(agent.url, {
      name: 'sem-expired',
      schedule: '@every 1s',
      expires_at: new Date(now - 3_600_000).toISOString(),
      ...shell('true'),
    });
    assert.equal(expired.next, null);
    const startsAt = new Date(now + 3_600_000).toISOString();
    const future = await createJob(agent.url, { name: 'sem-future', schedule: '@every 1s', starts_at: startsAt, ...shell('true') });
    assert.equal(future.starts_at, startsAt);
    // dkron reports starts_at as `next` while it is ahead; an `@every` job's first run is then.
    assert.equal(future.next, startsAt);

    await schedulerBarrier('window');
    assert.deepEqual(await executions('sem-expired'), []);
    assert.deepEqual(await executions('sem-future'), []);
    assert.equal((await getJob('sem-expired')).next, null);
    assert.equal((await getJob('sem-future')).next, startsAt);
    await deleteJob('sem-expired');
    await deleteJob('sem-future');
  });

  test('an @every job with starts_at first runs at starts_at, not before', async () => {
    const name = 'sem-starts-soon';
    const startsAt = new Date(Math.ceil((Date.now() + 2000) / 1000) * 1000).toISOString();
    const created = await createJob(agent.url, { name, schedule: '@every 1h', starts_at: startsAt, ...shell('true') });
    assert.equal(created.next, startsAt);
    const [e] = await finishedRuns(name, 1, agent.url, 20_000);
    assert.ok(e);
    assert.equal(e.trigger, 'schedule');
    assert.equal(e.scheduled_at, startsAt);
    assert.ok(ms(e.started_at) >= ms(startsAt), 'not run before starts_at');
    assert.equal((await getJob(name)).next, new Date(ms(startsAt) + 3_600_000).toISOString(), 'phase follows starts_at');
    await deleteJob(name);
  });

  test('a disabled job does not run on schedule; toggled back it does', async () => {
    const name = 'sem-disabled';
    const created = await createJob(agent.url, { name, schedule: '@every 1s', disabled: true, ...shell('true') });
    assert.equal(created.next, null);
    await schedulerBarrier('disabled');
    assert.deepEqual(await executions(name), []);
    assert.equal((await getJob(name)).next, null);

    const toggled = await api<Job>(agent.url, 'POST', `/v1/jobs/${name}/toggle`);
    assert.equal(toggled.status, 200);
    assert.equal(toggled.body.disabled, false);
    const [e] = await finishedRuns(name, 1);
    assert.equal(e?.trigger, 'schedule');
    assert.notEqual((await getJob(name)).next, null);
    await deleteJob(name);
  });
});

describe('history and one-shot schedules', () => {
  test('history_limit: 3 keeps the newest three of five runs', async () => {
    const name = 'sem-history';
    await createJob(agent.url, { name, schedule: '@manually', history_limit: 3, ...shell('true') });
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) {
      await runNow(name);
      await jobWhere(name, `${i} successes`, (j) => j.success_count === i);
      const newest = await api<Execution[]>(agent.url, 'GET', `/v1/jobs/${name}/executions?_order=DESC`);
      ids.push(newest.body[0]?.id ?? '');
    }
    assert.equal(new Set(ids).size, 5);
    const r = await api<Execution[]>(agent.url, 'GET', `/v1/jobs/${name}/executions?_order=ASC`);
    assert.equal(r.headers.get('x-total-count'), '3');
    assert.deepEqual(
      r.body.map((e) => e.id),
      ids.slice(2),
    );
  });

  test('@at a few seconds ahead runs exactly once, then next is null', async () => {
    const name = 'sem-at';
    const at = new Date(Math.ceil((Date.now() + 3000) / 1000) * 1000);
    const spec = `@at ${at.toISOString().replace('.000Z', 'Z')}`;
    const created = await createJob(agent.url, { name, schedule: spec, ...shell('true') });
    assert.equal(created.next, at.toISOString());
    const [e] = await finishedRuns(name, 1, agent.url, 20_000);
    assert.ok(e);
    assert.equal(e.trigger, 'schedule');
    assert.equal(e.scheduled_at, at.toISOString());
    assert.ok(ms(e.started_at) >= at.getTime(), 'not run early');
    await jobWhere(name, 'next null after the one shot', (j) => j.next === null && j.status === 'success');
    await schedulerBarrier('at');
    assert.equal((await executions(name)).length, 1);
    assert.equal((await getJob(name)).next, null);
  });
});
