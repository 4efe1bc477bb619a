/**
 * Every tick that did not run has a durable record with its reason
 * (GET /v1/jobs/NAME/skips): forbid overlaps, no matching agent, and the gap
 * while no leader was scheduling, under each catch-up policy.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, eventually, removeDir, shellJob, startAgent, tempDir, type AgentHandle } from '../helpers/agent.js';
import type { Execution } from '../../src/job/types.js';
import type { SkipRecord } from '../../src/store/types.js';

let dir: string;
let agent: AgentHandle;

before(async () => {
  dir = tempDir();
  agent = await startAgent({ dataDir: dir });
});

after(async () => {
  await agent?.stop('SIGTERM').catch(() => undefined);
  removeDir(dir);
});

async function skips(name: string): Promise<SkipRecord[]> {
  const res = await api<SkipRecord[]>(agent.url, 'GET', `/v1/jobs/${name}/skips`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-total-count'), String(res.body.length));
  return res.body;
}

test('a forbid overlap and a job matching no agent are recorded per tick with their reason', async () => {
  assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob('slow', 'sleep 2.5', { schedule: '@every 1s', concurrency: 'forbid' }))).status, 201);
  assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob('cowless', 'true', { schedule: '@every 1s', tags: { target: 'cow' } }))).status, 201);
  const forbid = await eventually('two forbid skips', async () => {
    const s = await skips('slow');
    return s.length >= 2 ? s : undefined;
  });
  assert.ok(forbid.every((s) => s.code === 'forbid' && /still running/.test(s.reason) && s.trigger === 'schedule'));
  const noAgent = await eventually('a no-agent skip', async () => ((await skips('cowless')).length >= 1 ? skips('cowless') : undefined));
  assert.equal(noAgent[0]?.code, 'no_agent');
  assert.match(noAgent[0]?.reason ?? '', /no agent matches the job's tags \(target=cow\)/);
  // A refused run-now is recorded too, as a manual skip.
  assert.equal((await api(agent.url, 'POST', '/v1/jobs/cowless')).status, 409);
  assert.ok((await skips('cowless')).some((s) => s.trigger === 'manual' && s.code === 'no_agent'));
  for (const name of ['slow', 'cowless']) assert.equal((await api(agent.url, 'DELETE', `/v1/jobs/${name}`)).status, 200);
  assert.equal((await api(agent.url, 'GET', '/v1/jobs/slow/skips')).status, 404);
});

test('ticks missed while no leader ran: each either ran or has a skip record, by catch-up policy', async () => {
  const jobs = {
    'gap-skip': { catch_up: 'skip' },
    'gap-latest': { catch_up: 'latest' },
    'gap-deadline': { catch_up: 'all', starting_deadline: '1s' },
  };
  for (const [name, extra] of Object.entries(jobs)) {
    assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob(name, 'true', { schedule: '@every 1s', ...extra }))).status, 201);
  }
  // Let each job run at least once, so the gap starts after a committed tick.
  for (const name of Object.keys(jobs)) {
    await eventually(`${name} to run`, async () => (await api<Execution[]>(agent.url, 'GET', `/v1/jobs/${name}/executions`)).body.length > 0);
  }
  assert.equal(await agent.stop('SIGTERM'), 0);
  const down = Date.now();
  // The gap must hold several ticks; wait for the clock rather than for an event (nothing runs meanwhile).
  await new Promise((r) => setTimeout(r, 4000));
  agent = await startAgent({ dataDir: dir });
  const up = Date.now();
  await agent.waitForLog(/scheduler: started/);

  for (const name of Object.keys(jobs)) {
    const recorded = await eventually(`skips of ${name}`, async () => {
      const s = await skips(name);
      return s.length > 0 ? s : undefined;
    });
    const runs = (await api<Execution[]>(agent.url, 'GET', `/v1/jobs/${name}/executions`)).body;
    const ran = new Set(runs.map((e) => Date.parse(e.scheduled_at)));
    const skipped = new Set(recorded.map((s) => Date.parse(s.scheduled_at)));
    for (const t of skipped) assert.equal(ran.has(t), false, `${name}: tick ${new Date(t).toISOString()} both ran and was skipped`);
    // Every tick strictly inside the gap is accounted for, once. `@every` keeps the job's own phase.
    const phase = Date.parse((runs[0] as Execution).scheduled_at) % 1000;
    const first = Math.ceil((down + 1000 - phase) / 1000) * 1000 + phase;
    const last = Math.floor((up - 1500 - phase) / 1000) * 1000 + phase;
    assert.ok(last - first >= 1000, 'the gap holds at least two ticks');
    for (let t = first; t <= last; t += 1000) {
      assert.ok(ran.has(t) || skipped.has(t), `${name}: tick ${new Date(t).toISOString()} neither ran nor was recorded as skipped`);
    }
    const code = { 'gap-skip': 'catch_up_skip', 'gap-latest': 'no_leader', 'gap-deadline': 'starting_deadline' }[name];
    assert.ok(recorded.every((s) => s.code === code && /missed while no leader was scheduling/.test(s.reason)), `${name}: ${JSON.stringify(recorded.map((s) => s.code))}`);
    const job = (await api<{ skip_count: number; last_skip_reason: string }>(agent.url, 'GET', `/v1/jobs/${name}`)).body;
    assert.equal(job.skip_count, recorded.reduce((n, s) => n + s.count, 0), `${name}: skip_count counts the records`);
  }
});
