/**
 * Built-in executors and processors through the real agent, the way a user drives them:
 * listed by GET /v1/plugins and `kairos plugins`, refused at save when misconfigured (400 naming
 * the key), and run: a nats job whose message a subscriber receives, a job whose processors
 * write its output to a file and to the agent log (the stored output follows `forward`).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, eventually, removeDir, shellJob, startAgent, tempDir, type AgentHandle } from '../helpers/agent.js';
import { kairosOk } from '../helpers/cli.js';
import { startNats, type NatsServer } from '../helpers/nats.js';
import type { Execution } from '../../src/job/types.js';

let dir: string;
let agent: AgentHandle;
let nats: NatsServer;

before(async () => {
  dir = tempDir();
  [agent, nats] = await Promise.all([startAgent({ dataDir: dir }), startNats()]);
});

after(async () => {
  await agent?.stop('SIGTERM').catch(() => undefined);
  await nats?.stop().catch(() => undefined);
  removeDir(dir);
});

async function runAndWait(name: string): Promise<Execution> {
  assert.equal((await api(agent.url, 'POST', `/v1/jobs/${name}`)).status, 202);
  return eventually(`${name} finished`, async () => {
    const res = await api<Execution[]>(agent.url, 'GET', `/v1/jobs/${name}/executions`);
    return res.body.find((e) => e.finished_at !== null);
  });
}

test('GET /v1/plugins and `kairos plugins` list the built-in executors and processors', async () => {
  const res = await api<Array<{ name: string; kind: string; form: string; node: string }>>(agent.url, 'GET', '/v1/plugins');
  assert.equal(res.status, 200);
  const names = (kind: string): string[] => res.body.filter((p) => p.kind === kind).map((p) => p.name).sort();
  for (const e of ['nats', 'rabbitmq', 'shell']) assert.ok(names('executor').includes(e), `executor ${e} listed`);
  assert.deepEqual(names('processor'), ['files', 'fluent', 'log', 'syslog']);
  assert.ok(res.body.every((p) => p.form === 'builtin' && p.node.length > 0));
  const cli = await kairosOk(['plugins', '--address', agent.url, '-o', 'json']);
  assert.deepEqual(
    (JSON.parse(cli.stdout) as Array<{ name: string }>).map((p) => p.name).sort(),
    res.body.map((p) => p.name).sort(),
  );
  const table = await kairosOk(['plugins', '--address', agent.url]);
  assert.match(table.stdout, /^NAME\s+KIND\s+FORM\s+SOURCE/m);
  assert.match(table.stdout, /^syslog\s+processor\s+builtin\s+kairos/m);
});

test('a misconfigured executor or processor is refused at save, naming the key', async () => {
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ executor: 'teleport', executor_config: {} }, 'executor', /unknown executor "teleport": no agent has it/],
    [{ executor: 'nats', executor_config: { url: 'http://x', subject: 's' } }, 'executor_config.url', /nats/],
    [{ executor: 'nats', executor_config: { url: nats.url, subject: 'a b' } }, 'executor_config.subject', /subject/],
    [{ executor: 'shell', executor_config: { command: 'true', mem_limit: '12 parsecs' } }, 'executor_config.mem_limit', /memory limit/],
    [{ processors: { filez: {} } }, 'processors.filez', /unknown processor "filez"/],
    [{ processors: { files: { log_dir: 'relative/dir' } } }, 'processors.files.log_dir', /absolute/],
    [{ processors: { syslog: { address: 'smtp://x:1' } } }, 'processors.syslog.address', /udp|tcp/],
  ];
  for (const [patch, field, message] of cases) {
    const res = await api<{ field: string; message: string }>(agent.url, 'POST', '/v1/jobs', { ...shellJob('bad', 'true'), ...patch });
    assert.equal(res.status, 400, JSON.stringify(patch));
    assert.equal(res.body.field, field, res.body.message);
    assert.match(res.body.message, message);
  }
  assert.equal((await api(agent.url, 'GET', '/v1/jobs/bad')).status, 404);
});

test('a nats job publishes through the agent and the subscriber gets the message', async () => {
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: nats.url });
  try {
    const sub = nc.subscribe('kairos.e2e');
    const got = (async () => {
      for await (const m of sub) return m.string();
      return null;
    })();
    await nc.flush();
    const job = { name: 'publish', schedule: '@every 1h', executor: 'nats', executor_config: { url: nats.url, subject: 'kairos.e2e', message: 'hello from kairos' } };
    assert.equal((await api(agent.url, 'POST', '/v1/jobs', job)).status, 201);
    const e = await runAndWait('publish');
    assert.equal(e.success, true, e.output);
    assert.equal(await got, 'hello from kairos');
  } finally {
    await nc.close();
  }
});

test('processors: files keeps the output on disk and stores its path; log with forward keeps the output too', async () => {
  const logDir = join(dir, 'exec-logs');
  const job = shellJob('processed', 'echo processed-output-line', {
    processors: { files: { log_dir: logDir }, log: { forward: 'true' } },
  });
  assert.equal((await api(agent.url, 'POST', '/v1/jobs', job)).status, 201);
  const e = await runAndWait('processed');
  assert.equal(e.success, true);
  const file = join(logDir, `${e.id.replace(/[^A-Za-z0-9._@+-]/g, '_')}.log`);
  assert.ok(existsSync(file), `${file} written`);
  assert.equal(readFileSync(file, 'utf8'), 'processed-output-line\n');
  // files has no forward: the record points at the file; log forwards, so it adds no note.
  assert.equal(e.output.trim(), file);
  await agent.waitForLog(new RegExp(`BEGIN OUTPUT job=processed execution=${e.id}`));

  const forwarded = shellJob('forwarded', 'echo kept-in-record', { processors: { files: { log_dir: logDir, forward: 'true' } } });
  assert.equal((await api(agent.url, 'POST', '/v1/jobs', forwarded)).status, 201);
  const f = await runAndWait('forwarded');
  assert.equal(f.output, 'kept-in-record\n');
  assert.ok(existsSync(join(logDir, `${f.id.replace(/[^A-Za-z0-9._@+-]/g, '_')}.log`)));
});
