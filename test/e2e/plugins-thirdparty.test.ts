/**
 * Third-party plugins through the real agent: an npm package (test/fixtures/plugins/
 * kairos-executor-echo, resolved from the config file's node_modules) and Python executables in
 * --plugin-dir are loaded, listed, and run through the API with their output streamed live
 * (GET /v1/jobs/NAME/executions/ID/stream). Crashing, hanging and garbage-writing plugins end as
 * failed executions with a reason, their processes gone, the agent alive. An agent restarted
 * without the plugin records the job's tick as a `no_executor` skip and refuses new such jobs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, eventually, isDead, removeDir, ROOT, startAgent, tempDir, type AgentHandle } from '../helpers/agent.js';
import { kairosOk } from '../helpers/cli.js';
import { readSse, streamedText } from '../helpers/sse.js';
import type { Execution } from '../../src/job/types.js';
import type { SkipRecord } from '../../src/store/types.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'plugins');
let dir: string;
let config: string;
let agent: AgentHandle;

before(async () => {
  dir = tempDir();
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(join(FIXTURES, 'kairos-executor-echo'), join(dir, 'node_modules', 'kairos-executor-echo'));
  config = join(dir, 'kairos.yml');
  writeFileSync(config, `plugins:\n  - kairos-executor-echo\nplugin-dir: ${join(FIXTURES, 'bin')}\n`);
  agent = await startAgent({ dataDir: join(dir, 'data'), args: ['--config', config] });
});

after(async () => {
  await agent?.stop('SIGTERM').catch(() => undefined);
  removeDir(dir);
});

async function create(job: Record<string, unknown>): Promise<void> {
  const res = await api(agent.url, 'POST', '/v1/jobs', { schedule: '@every 1h', ...job });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

/** Run now, then follow the new execution's stream to its end. */
async function runAndStream(base: string, name: string): Promise<{ events: Awaited<ReturnType<typeof readSse>>['events']; end: Execution }> {
  assert.equal((await api(base, 'POST', `/v1/jobs/${name}`)).status, 202);
  const running = await eventually(`${name} execution recorded`, async () => (await api<Execution[]>(base, 'GET', `/v1/jobs/${name}/executions`)).body[0]);
  const { status, events } = await readSse(`${base}/v1/jobs/${name}/executions/${running.id}/stream`);
  assert.equal(status, 200);
  const last = events.at(-1);
  assert.equal(last?.event, 'end', JSON.stringify(events));
  return { events, end: last.data as Execution };
}

test('the package and the executables are listed by GET /v1/plugins and `kairos plugins`', async () => {
  const res = await api<Array<{ name: string; kind: string; form: string; source: string; version?: string }>>(agent.url, 'GET', '/v1/plugins');
  const find = (name: string) => res.body.find((p) => p.name === name);
  assert.deepEqual(
    { ...find('echo') },
    { name: 'echo', kind: 'executor', form: 'module', source: 'kairos-executor-echo', version: '1.2.3', node: 'test-node' },
  );
  assert.equal(find('pyecho')?.form, 'executable');
  assert.equal(find('pyecho')?.source, join(FIXTURES, 'bin', 'kairos-executor-pyecho'));
  assert.equal(find('upper')?.kind, 'processor');
  const cli = JSON.parse((await kairosOk(['plugins', '--address', agent.url, '-o', 'json'])).stdout) as Array<{ name: string }>;
  for (const n of ['echo', 'pyecho', 'upper', 'shell']) assert.ok(cli.some((p) => p.name === n), `${n} in kairos plugins`);
  // A plugin's own validation runs at save, naming its key.
  const bad = await api<{ field: string }>(agent.url, 'POST', '/v1/jobs', { name: 'nomsg', schedule: '@every 1h', executor: 'echo', executor_config: {} });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'executor_config.message');
});

test('the npm-package executor runs through the API with its output streamed live', async () => {
  await create({ name: 'echo-job', executor: 'echo', executor_config: { message: 'tick', times: '4', delay_ms: '400' } });
  const { events, end } = await runAndStream(agent.url, 'echo-job');
  const outputs = events.filter((e) => e.event === 'output');
  assert.ok(outputs.length >= 2, `output arrived in pieces: ${JSON.stringify(outputs)}`);
  assert.ok((events.at(-1)?.at ?? 0) - (outputs[0]?.at ?? 0) >= 300, 'the first output came well before the end');
  assert.equal(streamedText(events), 'tick 1/4 (job echo-job)\ntick 2/4 (job echo-job)\ntick 3/4 (job echo-job)\ntick 4/4 (job echo-job)\n');
  assert.equal(end.success, true);
  assert.equal(end.output, streamedText(events));
});

test('the Python executor streams live too, and a Python processor rewrites the stored output', async () => {
  await create({ name: 'py-job', executor: 'pyecho', executor_config: { message: 'hello', times: '3', delay_ms: '400' }, processors: { upper: {} } });
  const { events, end } = await runAndStream(agent.url, 'py-job');
  assert.ok(events.filter((e) => e.event === 'output').length >= 2);
  assert.match(streamedText(events), /^hello 1\/3 \(job py-job, execution .+\)\nhello 2\/3/);
  assert.equal(end.success, true);
  assert.match(end.output, /^HELLO 1\/3 \(JOB PY-JOB, EXECUTION /, 'stored after the upper processor');
  // A finished execution's stream answers at once: its stored output, then the record.
  const again = await readSse(`${agent.url}/v1/jobs/py-job/executions/${end.id}/stream`);
  assert.deepEqual(again.events.map((e) => e.event), ['output', 'end']);
  assert.equal(streamedText(again.events), end.output);
  assert.equal((await readSse(`${agent.url}/v1/jobs/py-job/executions/nope/stream`)).status, 404);
});

test('crashing, hanging and garbage-writing plugins fail with a reason; the agent lives on', async () => {
  const badDir = tempDir();
  const bad = await startAgent({ dataDir: badDir, args: ['--plugin-dir', join(FIXTURES, 'bad')] });
  try {
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['crash', {}, /plugin exited \(code 3/],
      ['hang', { timeout: '1s' }, /timeout/i],
      ['garbage', {}, /invalid protocol line/],
    ];
    for (const [executor, cfg] of cases) {
      const res = await api(bad.url, 'POST', '/v1/jobs', { name: `bad-${executor}`, schedule: '@every 1h', executor, executor_config: cfg });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    for (const [executor, , reason] of cases) {
      const { end } = await runAndStream(bad.url, `bad-${executor}`);
      assert.equal(end.success, false, executor);
      assert.match(end.output, reason, `${executor}: ${end.output}`);
      if (executor === 'hang') {
        const child = Number(/child (\d+)/.exec(end.output)?.[1]);
        assert.ok(child > 0, end.output);
        await eventually('the hanging plugin’s child is killed', async () => isDead(child));
      }
    }
    assert.equal((await api(bad.url, 'GET', '/health')).status, 200);
    assert.equal(bad.proc.exitCode, null, 'agent still running');
  } finally {
    await bad.stop('SIGTERM').catch(() => undefined);
    removeDir(badDir);
  }
});

test('restarted without the plugin: its job is skipped with the reason, and new such jobs are refused', async () => {
  await create({ name: 'orphaned', executor: 'pyecho', executor_config: { message: 'x' } });
  await agent.stop('SIGTERM');
  agent = await startAgent({ dataDir: join(dir, 'data') });
  const run = await api<{ message: string }>(agent.url, 'POST', '/v1/jobs/orphaned');
  assert.equal(run.status, 409);
  assert.match(run.body.message, /has executor "pyecho"/);
  const skips = (await api<SkipRecord[]>(agent.url, 'GET', '/v1/jobs/orphaned/skips')).body;
  assert.equal(skips[0]?.code, 'no_executor');
  assert.match(skips[0]?.reason ?? '', /no agent matching the job's tags \(none\) has executor "pyecho" \(matching: test-node\)/);
  const refused = await api<{ field: string; message: string }>(agent.url, 'POST', '/v1/jobs', { name: 'new-py', schedule: '@every 1h', executor: 'pyecho', executor_config: { message: 'x' } });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.field, 'executor');
  assert.match(refused.body.message, /unknown executor "pyecho"/);
});
