import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { connect, type NatsConnection, type Msg } from '@nats-io/transport-node';
import { NatsExecutor } from '../../src/executors/nats.js';
import type { ExecutionRequest } from '../../src/executors/types.js';
import { freePort } from '../helpers/etcd.js';
import { startNats, type NatsServer } from '../helpers/nats.js';
import { executionRequest } from '../helpers/execution-request.js';

const request = (config: Record<string, string>, extra: Partial<ExecutionRequest> = {}): ExecutionRequest =>
  executionRequest(config, { jobName: 'job-nats', scheduledAt: new Date(), ...extra });

/** Resolves with the first message on `subject`, or rejects after `ms`. */
async function firstMessage(nc: NatsConnection, subject: string, ms = 5000): Promise<Msg> {
  const sub = nc.subscribe(subject, { max: 1 });
  // The server must know the subscription before anything is published.
  await nc.flush();
  return new Promise<Msg>((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`no message on ${subject} within ${ms} ms`));
    }, ms);
    void (async () => {
      for await (const m of sub) {
        clearTimeout(timer);
        resolve(m);
      }
    })();
  });
}

const nats = new NatsExecutor();
let open: NatsServer;
let secured: NatsServer;
let openSub: NatsConnection;

before(async () => {
  [open, secured] = await Promise.all([startNats(), startNats({ user: 'kairos', pass: 's3cret' })]);
  openSub = await connect({ servers: open.url });
});

after(async () => {
  await openSub?.close();
  await Promise.all([open?.stop(), secured?.stop()]);
});

void test('publishes the exact message on the subject and flushes before succeeding', async () => {
  const got = firstMessage(openSub, 'kairos.jobs.report');
  const out = await nats.execute(request({ url: open.url, subject: 'kairos.jobs.report', message: 'héllo world!' }));
  assert.equal(out.success, true, out.output);
  assert.equal(out.exitCode, null);
  // Bytes, not characters: "é" is two bytes in UTF-8.
  assert.equal(out.output, 'published 13 bytes to subject kairos.jobs.report\n');
  const msg = await got;
  assert.equal(msg.string(), 'héllo world!');
  assert.equal(msg.subject, 'kairos.jobs.report');
});

void test('an empty message is still published', async () => {
  const got = firstMessage(openSub, 'kairos.empty');
  const out = await nats.execute(request({ url: open.url, subject: 'kairos.empty' }));
  assert.equal(out.success, true, out.output);
  assert.equal((await got).data.length, 0);
  assert.match(out.output, /published 0 bytes/);
});

void test('user/password: right credentials publish, wrong or missing ones fail clearly', async () => {
  const sub = await connect({ servers: secured.url, user: 'kairos', pass: 's3cret' });
  try {
    const got = firstMessage(sub, 'secure.subject');
    const ok = await nats.execute(
      request({ url: secured.url, subject: 'secure.subject', message: 'auth ok', userName: 'kairos', password: 's3cret' }),
    );
    assert.equal(ok.success, true, ok.output);
    assert.equal((await got).string(), 'auth ok');
  } finally {
    await sub.close();
  }

  const wrong = await nats.execute(
    request({ url: secured.url, subject: 'secure.subject', message: 'x', userName: 'kairos', password: 'nope' }),
  );
  assert.equal(wrong.success, false);
  assert.match(wrong.output, /^nats: authorization failed at nats:\/\/127\.0\.0\.1:\d+ for user "kairos": Authorization Violation\n$/);
  assert.doesNotMatch(wrong.output, /nope/);

  const missing = await nats.execute(request({ url: secured.url, subject: 'secure.subject', message: 'x' }));
  assert.equal(missing.success, false);
  assert.match(missing.output, /authorization failed .*\(no userName given\)/);
});

void test('debug echoes the config with the password masked', async () => {
  const out = await nats.execute(
    request({ url: secured.url, subject: 'dbg', message: 'm', userName: 'kairos', password: 's3cret', debug: 'true' }),
  );
  assert.equal(out.success, true, out.output);
  const [configLine = '', result] = out.output.split('\n');
  assert.ok(configLine.startsWith('config: '), out.output);
  const shown = JSON.parse(configLine.slice('config: '.length)) as Record<string, string>;
  assert.equal(shown.password, '********');
  assert.equal(shown.userName, 'kairos');
  assert.equal(shown.subject, 'dbg');
  assert.doesNotMatch(out.output, /s3cret/);
  assert.equal(result, 'published 1 bytes to subject dbg');
});

void test('a refused connection fails at once with the reason', async () => {
  const port = await freePort();
  const started = Date.now();
  const out = await nats.execute(request({ url: `nats://127.0.0.1:${port}`, subject: 'a', message: 'x' }));
  assert.equal(out.success, false);
  assert.equal(out.output, `nats: cannot connect to nats://127.0.0.1:${port}: connection refused\n`);
  assert.ok(Date.now() - started < 3000, 'a refused connection must not wait for the timeout');
});

/** A TCP server that accepts connections and never says anything (a hung NATS server). */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `nats://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

void test('a server that never answers fails within the configured timeout', async () => {
  const hung = await silentServer();
  try {
    const started = Date.now();
    const out = await nats.execute(request({ url: hung.url, subject: 'a', message: 'x', timeout: '700ms' }));
    const took = Date.now() - started;
    assert.equal(out.success, false);
    assert.match(out.output, /^nats: .* nats:\/\/127\.0\.0\.1:\d+ timed out/);
    assert.ok(took >= 600, `gave up after ${took} ms, before the 700 ms timeout`);
    assert.ok(took < 3000, `took ${took} ms for a 700 ms timeout`);

    // Bare numbers are seconds.
    const t2 = Date.now();
    const secs = await nats.execute(request({ url: hung.url, subject: 'a', timeout: '1' }));
    assert.equal(secs.success, false);
    assert.ok(Date.now() - t2 >= 900 && Date.now() - t2 < 4000);
  } finally {
    await hung.close();
  }
});

void test('aborting the run (agent shutdown) ends it with the reason', async () => {
  const hung = await silentServer();
  try {
    const ac = new AbortController();
    const run = nats.execute(request({ url: hung.url, subject: 'a', timeout: '30s' }, { signal: ac.signal }));
    setTimeout(() => ac.abort('agent shutting down'), 100);
    const started = Date.now();
    const out = await run;
    assert.equal(out.success, false);
    assert.equal(out.output, 'killed: agent shutting down\n');
    assert.ok(Date.now() - started < 3000);
  } finally {
    await hung.close();
  }
});

void test('validation names the key', () => {
  const base = { url: 'nats://127.0.0.1:4222', subject: 'a.b' };
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ subject: 'a' }, 'executor_config.url', /required/],
    [{ ...base, url: 'http://127.0.0.1:4222' }, 'executor_config.url', /nats:\/\/ or tls:\/\//],
    [{ ...base, url: 'not a url' }, 'executor_config.url', /not a URL/],
    [{ ...base, url: 'nats://h:1/path' }, 'executor_config.url', /without a path/],
    [{ ...base, url: 'nats://a:1,ftp://b:2' }, 'executor_config.url', /ftp:\/\/b:2/],
    [{ url: base.url }, 'executor_config.subject', /required/],
    [{ ...base, subject: 'a b' }, 'executor_config.subject', /whitespace/],
    [{ ...base, subject: 'a.*' }, 'executor_config.subject', /wildcard/],
    [{ ...base, subject: 'a.>' }, 'executor_config.subject', /wildcard/],
    [{ ...base, subject: 'a..b' }, 'executor_config.subject', /empty token/],
    [{ ...base, timeout: 'soon' }, 'executor_config.timeout', /Go duration/],
    [{ ...base, timeout: '0' }, 'executor_config.timeout', /positive/],
    [{ ...base, password: 'p' }, 'executor_config.userName', /required when password/],
  ];
  for (const [config, field, message] of cases) {
    const problem = nats.validate(config);
    assert.ok(problem, `expected a problem for ${JSON.stringify(config)}`);
    assert.equal(problem.field, field, JSON.stringify(config));
    assert.match(problem.message, message, JSON.stringify(config));
  }
  assert.equal(nats.validate(base), null);
  assert.equal(nats.validate({ ...base, url: 'nats://127.0.0.1:1, tls://other:2', timeout: '1.5', debug: 'x' }), null);
});

void test('credentials in the url are masked in messages', async () => {
  const port = await freePort();
  const out = await nats.execute(request({ url: `nats://bob:hunter2@127.0.0.1:${port}`, subject: 'a', debug: '1' }));
  assert.equal(out.success, false);
  assert.doesNotMatch(out.output, /hunter2/);
  assert.match(out.output, /nats:\/\/bob:\*{8}@127\.0\.0\.1/);
});

void test('execute re-checks the config and fails on a bad one without connecting', async () => {
  const out = await nats.execute(request({ url: open.url, subject: 'has space' }));
  assert.equal(out.success, false);
  assert.match(out.output, /^executor_config\.subject: subject "has space" must not contain whitespace\n$/);
});
