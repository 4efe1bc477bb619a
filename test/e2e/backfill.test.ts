/**
 * Backfill through real agents: every tick of a job's schedule in [from, to] runs once, at most
 * `parallelism` at a time, with its own KAIROS_SCHEDULED_AT; dry runs list the ticks (time zone and
 * DST aware); a backfill can be cancelled; and on a 3-agent etcd cluster one survives a leader kill
 * without running a tick twice or more than `parallelism` at once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { api, eventually, finishedRun, removeDir, shellJob, startAgent, tempDir, type AgentHandle } from '../helpers/agent.js';
import { kairos } from '../helpers/cli.js';
import { startBackendServers, type BackendServers } from '../helpers/backend-servers.js';
import { agreedLeader, randomKeyspace, startClusterAgent } from '../helpers/cluster.js';
import type { Execution } from '../../src/job/types.js';
import type { BackfillView, DryRun } from '../../src/core/backfills.js';

const DAY = '2026-11-29';
const hourly = (i: number): string => `${DAY}T${String(i).padStart(2, '0')}:00:00.000Z`;
const HOURS = Array.from({ length: 24 }, (_, i) => hourly(i));

async function backfillRuns(url: string, job: string, id: string): Promise<Execution[]> {
  const r = await api<Execution[]>(url, 'GET', `/v1/jobs/${job}/executions`);
  return r.body.filter((e) => e.backfill === id);
}

/** Most executions recorded as running at the same moment (from their start and finish times). */
function maxOverlap(runs: Execution[]): number {
  const events = runs.flatMap((e) => [[Date.parse(e.started_at), 1], [Date.parse(e.finished_at as string), -1]] as [number, number][]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (now += d));
  return max;
}

async function untilEnded(url: string, job: string, id: string, timeoutMs = 60_000): Promise<BackfillView> {
  return eventually(`backfill ${id} to end`, async () => {
    const r = await api<BackfillView>(url, 'GET', `/v1/jobs/${job}/backfills/${id}`);
    return r.body.state !== 'running' ? r.body : undefined;
  }, timeoutMs, 200);
}

describe('backfill on one agent', () => {
  let agent: AgentHandle | undefined;
  const dir = tempDir();
  before(async () => {
    agent = await startAgent({ dataDir: join(dir, 'data') });
  });
  after(async () => {
    await agent?.stop('SIGTERM').catch(() => undefined);
    removeDir(dir);
  });

  test('bad requests name the field; a dry run lists the ticks, time zone and DST aware', async () => {
    const url = agent!.url;
    assert.equal((await api(url, 'POST', '/v1/jobs', shellJob('nightly', 'true', { schedule: '0 3 * * *', timezone: 'Europe/Berlin' }))).status, 201);
    const dry = await api<DryRun>(url, 'POST', '/v1/jobs/nightly/backfill', { from: '2026-10-23T00:00:00Z', to: '2026-10-27T00:00:00Z', dry_run: true });
    assert.equal(dry.status, 200);
    // 03:00 in Berlin: 01:00 UTC in summer time, 02:00 UTC once it ended on 25 October.
    assert.deepEqual(dry.body.ticks, ['2026-10-23T01:00:00.000Z', '2026-10-24T01:00:00.000Z', '2026-10-25T02:00:00.000Z', '2026-10-26T02:00:00.000Z']);
    assert.deepEqual((await api<unknown[]>(url, 'GET', '/v1/jobs/nightly/backfills')).body, [], 'a dry run stores nothing');

    const bad = async (body: unknown, field: string, message: RegExp, job = 'nightly', status = 400): Promise<void> => {
      const r = await api<{ field: string; message: string }>(url, 'POST', `/v1/jobs/${job}/backfill`, body);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.field, field);
      assert.match(r.body.message, message);
    };
    await bad({ to: '2026-10-27T00:00:00Z' }, 'from', /from is required/);
    await bad({ from: 'last tuesday', to: '2026-10-27T00:00:00Z' }, 'from', /RFC 3339/);
    await bad({ from: '2026-10-27T00:00:00Z', to: '2026-10-20T00:00:00Z' }, 'to', /before from/);
    await bad({ from: '2026-10-27T00:00:00Z', to: '2099-01-01T00:00:00Z' }, 'to', /future/);
    await bad({ from: '2026-10-20T00:00:00Z', to: '2026-10-27T00:00:00Z', parallelism: 0 }, 'parallelism', /at least 1/);
    await bad({ from: '2026-10-20T00:00:00Z', to: '2026-10-27T00:00:00Z', parallelism: 101 }, 'parallelism', /at most 100/);
    assert.equal((await api(url, 'POST', '/v1/jobs', shellJob('every-second', 'true', { schedule: '* * * * * *' }))).status, 201);
    await bad({ from: '2026-10-20T00:00:00Z', to: '2026-10-27T00:00:00Z' }, 'to', /more than 10000 ticks/, 'every-second');
    assert.equal((await api(url, 'POST', '/v1/jobs', shellJob('after', 'true', { schedule: '', depends_on: ['nightly'] }))).status, 201);
    await bad({ from: '2026-10-20T00:00:00Z', to: '2026-10-27T00:00:00Z' }, 'name', /no schedule of its own/, 'after');
    await bad({ from: '2026-10-20T00:00:00Z', to: '2026-10-27T00:00:00Z' }, '', /not found/, 'nope', 404);
    for (const n of ['after', 'every-second']) await api(url, 'DELETE', `/v1/jobs/${n}`);
  });

  test('24 hourly ticks, parallelism 3: each tick once with its own KAIROS_SCHEDULED_AT, never more than 3 at a time', async () => {
    const url = agent!.url;
    const cmd = 'sleep 0.3; echo "tick $KAIROS_SCHEDULED_AT"';
    assert.equal((await api(url, 'POST', '/v1/jobs', shellJob('hourly', cmd, { schedule: '0 * * * *', timezone: 'UTC', executor_config: { command: cmd, shell: 'true' } }))).status, 201);
    const made = await api<BackfillView>(url, 'POST', '/v1/jobs/hourly/backfill', { from: `${DAY}T00:00:00Z`, to: `${DAY}T23:00:00Z`, parallelism: 3 });
    assert.equal(made.status, 201);
    assert.equal(made.body.ticks, 24);
    assert.equal(made.headers.get('location'), `/v1/jobs/hourly/backfills/${made.body.id}`);
    const done = await untilEnded(url, 'hourly', made.body.id);
    assert.deepEqual([done.state, done.dispatched, done.running, done.succeeded, done.failed, done.skipped], ['done', 24, 0, 24, 0, 0]);
    const runs = await backfillRuns(url, 'hourly', made.body.id);
    assert.ok(runs.every((e) => finishedRun(e) && e.success && e.trigger === 'backfill'));
    assert.deepEqual(runs.map((e) => e.scheduled_at).sort(), HOURS);
    for (const e of runs) assert.match(e.output, new RegExp(`tick ${e.scheduled_at.slice(0, 19)}`));
    const overlap = maxOverlap(runs);
    assert.ok(overlap <= 3 && overlap >= 2, `at most 3 at a time (and more than 1): ${overlap}`);
    // Backfilled ticks are not the job's own ticks: its schedule and last tick are untouched.
    const job = (await api<{ next: string }>(url, 'GET', '/v1/jobs/hourly')).body;
    assert.ok(Date.parse(job.next) > Date.now());
  });

  test('cancel: no more ticks start, the run under way finishes; cancelling again is a 409', async () => {
    const url = agent!.url;
    const cmd = 'sleep 1';
    assert.equal((await api(url, 'POST', '/v1/jobs', shellJob('slow', cmd, { schedule: '0 * * * *', timezone: 'UTC' }))).status, 201);
    const made = (await api<BackfillView>(url, 'POST', '/v1/jobs/slow/backfill', { from: `${DAY}T00:00:00Z`, to: `${DAY}T23:00:00Z` })).body;
    await eventually('the first tick to run', async () => ((await backfillRuns(url, 'slow', made.id)).length > 0 ? true : undefined));
    const cli = await kairos(['backfill', 'cancel', 'slow', made.id, '-o', 'json', '--address', url]);
    assert.equal(cli.code, 0, cli.stderr);
    const cancelled = JSON.parse(cli.stdout) as BackfillView;
    assert.equal(cancelled.state, 'cancelled');
    await eventually('the run under way to finish', async () => ((await backfillRuns(url, 'slow', made.id)).every((e) => finishedRun(e)) ? true : undefined));
    const after = (await api<BackfillView>(url, 'GET', `/v1/jobs/slow/backfills/${made.id}`)).body;
    assert.ok(after.dispatched <= 2 && after.dispatched === (await backfillRuns(url, 'slow', made.id)).length, JSON.stringify(after));
    const again = await api<{ code: string }>(url, 'DELETE', `/v1/jobs/slow/backfills/${made.id}`);
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'KAIROS_BACKFILL_NOT_RUNNING');
    const missing = await api<{ code: string }>(url, 'GET', '/v1/jobs/slow/backfills/9-zz');
    assert.equal(missing.body.code, 'KAIROS_BACKFILL_NOT_FOUND');
    // The CLI lists it, and a dry run prints the ticks one per line.
    const ls = await kairos(['backfill', 'ls', 'slow', '--address', url]);
    assert.match(ls.stdout, new RegExp(`${made.id}\\s+cancelled`));
    const dry = await kairos(['backfill', 'slow', '--from', `${DAY}T00:00:00Z`, '--to', `${DAY}T02:00:00Z`, '--dry-run', '--address', url]);
    assert.deepEqual(dry.stdout.trim().split('\n'), HOURS.slice(0, 3));
  });
});

describe('backfill through a leader kill (etcd)', () => {
  let servers: BackendServers | undefined;
  const agents: AgentHandle[] = [];
  before(async () => {
    servers = await startBackendServers('etcd', 3);
    const common = { backend: 'etcd' as const, endpoints: servers.endpoints, keyspace: randomKeyspace() };
    for (const name of ['b1', 'b2', 'b3']) agents.push(await startClusterAgent({ ...common, name, tags: { role: 'w' } }));
    await agreedLeader(agents);
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.stop('SIGTERM').catch(() => undefined)));
    await servers?.stop();
  });

  test('24 hourly ticks, parallelism 3: each once, never more than 3 at a time, the leader killed mid-way', async () => {
    const live = (): AgentHandle => agents.find((a) => a.proc.exitCode === null && a.proc.signalCode === null) as AgentHandle;
    // One agent per tick (role w:1), so the backfill's parallelism is the number of runs.
    assert.equal((await api(live().url, 'POST', '/v1/jobs', shellJob('hourly', 'sleep 0.8', { schedule: '0 * * * *', timezone: 'UTC', tags: { role: 'w:1' } }))).status, 201);
    const made = await api<BackfillView>(live().url, 'POST', '/v1/jobs/hourly/backfill', { from: `${DAY}T00:00:00Z`, to: `${DAY}T23:00:00Z`, parallelism: 3 });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const id = made.body.id;
    await eventually('6 ticks started', async () => ((await backfillRuns(live().url, 'hourly', id)).length >= 6 ? true : undefined), 30_000);
    const leader = await agreedLeader(agents);
    const victim = agents[['b1', 'b2', 'b3'].indexOf(leader)] as AgentHandle;
    victim.proc.kill('SIGKILL');
    await victim.exited;
    agents.splice(agents.indexOf(victim), 1);
    const started = (await backfillRuns(live().url, 'hourly', id)).length;
    assert.ok(started < 24, `the kill came before the end (${started} started)`);
    await agreedLeader(agents, 30_000);
    const done = await untilEnded(live().url, 'hourly', id, 90_000);
    const runs = await backfillRuns(live().url, 'hourly', id);
    assert.equal(done.state, 'done');
    assert.deepEqual(runs.map((e) => e.scheduled_at).sort(), HOURS, 'each tick once');
    assert.ok(runs.every((e) => finishedRun(e)));
    assert.equal(done.succeeded + done.failed, 24, JSON.stringify(done));
    // A run on the killed agent is closed as lost (failed); it still counted against the limit while open.
    assert.ok(maxOverlap(runs) <= 3, `at most 3 at a time: ${maxOverlap(runs)}`);
  });
});
