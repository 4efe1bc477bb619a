import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import amqp, { type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { RabbitMQExecutor } from '../../src/executors/rabbitmq.js';
import type { ExecutionRequest } from '../../src/executors/types.js';
import { freePort } from '../helpers/etcd.js';
import { startRabbit, type RabbitServer } from '../helpers/rabbitmq.js';
import { executionRequest } from '../helpers/execution-request.js';

const request = (config: Record<string, string>, extra: Partial<ExecutionRequest> = {}): ExecutionRequest =>
  executionRequest(config, { jobName: 'job-rabbit', scheduledAt: new Date(), ...extra });

const rabbitmq = new RabbitMQExecutor();
let broker: RabbitServer;
let conn: ChannelModel;

before(async () => {
  broker = await startRabbit();
  // Visible with --test-reporter=spec; the lead asked how long a broker start takes.
  console.log(`# rabbitmq-server ready in ${broker.startMs} ms`);
  conn = await amqp.connect(broker.url);
});

after(async () => {
  await conn?.close().catch(() => undefined);
  await broker?.stop();
});

/** A fresh channel per use: a broker error closes the channel it happened on. */
async function withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  try {
    return await fn(ch);
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/** The one message waiting in `queue` (basic.get, so nothing is left behind). */
async function take(queue: string): Promise<GetMessage> {
  return withChannel(async (ch) => {
    const msg = await ch.get(queue, { noAck: true });
    assert.ok(msg, `no message in ${queue}`);
    const more = await ch.checkQueue(queue);
    assert.equal(more.messageCount, 0, 'exactly one message expected');
    return msg;
  });
}

void test('creates the queue and publishes with the configured properties', async () => {
  const out = await rabbitmq.execute(
    request({
      url: broker.url,
      'queue.name': 'kairos.reports',
      'queue.create': 'true',
      'message.content_type': 'application/json',
      'message.delivery_mode': '2',
      'message.messageId': '4373732772',
      'message.body': '{"key":"välue"}',
    }),
  );
  assert.equal(out.success, true, out.output);
  assert.equal(out.exitCode, null);
  assert.equal(out.output, 'published 16 bytes to exchange (default) with routing key "kairos.reports"\n');
  const msg = await take('kairos.reports');
  assert.equal(msg.content.toString('utf8'), '{"key":"välue"}');
  assert.equal(msg.properties.contentType, 'application/json');
  assert.equal(msg.properties.messageId, '4373732772');
  assert.equal(msg.properties.deliveryMode, 2);
  assert.equal(msg.fields.routingKey, 'kairos.reports');
  assert.equal(msg.fields.exchange, '');
});

void test('defaults: text/plain, no delivery mode or message id; "amq.default" is the default exchange', async () => {
  await withChannel((ch) => ch.assertQueue('kairos.plain'));
  const out = await rabbitmq.execute(
    request({ url: broker.url, exchange: 'amq.default', 'queue.name': 'kairos.plain', 'message.body': 'hi' }),
  );
  assert.equal(out.success, true, out.output);
  const msg = await take('kairos.plain');
  assert.equal(msg.content.toString(), 'hi');
  assert.equal(msg.properties.contentType, 'text/plain');
  assert.equal(msg.properties.messageId, undefined);
  assert.equal(msg.properties.deliveryMode, undefined);
});

void test('message.base64Body is decoded to the exact bytes', async () => {
  const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f, 0x0a]);
  const out = await rabbitmq.execute(
    request({
      url: broker.url,
      'queue.name': 'kairos.binary',
      'queue.create': 'true',
      'message.content_type': 'application/octet-stream',
      'message.delivery_mode': '1',
      'message.base64Body': bytes.toString('base64'),
    }),
  );
  assert.equal(out.success, true, out.output);
  const msg = await take('kairos.binary');
  assert.deepEqual(msg.content, bytes);
  assert.equal(msg.properties.deliveryMode, 1);
});

void test('queue.durable/auto_delete reach the broker', async () => {
  const out = await rabbitmq.execute(
    request({
      url: broker.url,
      'queue.name': 'kairos.durable',
      'queue.create': 'true',
      'queue.durable': 'true',
      'message.body': 'x',
    }),
  );
  assert.equal(out.success, true, out.output);
  // Re-declaring with other arguments fails (406) exactly when the executor's differed.
  await assert.rejects(
    withChannel((ch) => ch.assertQueue('kairos.durable', { durable: false })),
    /PRECONDITION_FAILED - inequivalent arg 'durable'/,
  );
  await withChannel((ch) => ch.assertQueue('kairos.durable', { durable: true }));

  // A queue declared by another connection with different arguments: the executor reports the broker's reason.
  const mismatch = await rabbitmq.execute(
    request({ url: broker.url, 'queue.name': 'kairos.durable', 'queue.create': 'true', 'queue.auto_delete': 'true' }),
  );
  assert.equal(mismatch.success, false);
  assert.match(mismatch.output, /PRECONDITION_FAILED - inequivalent arg '(durable|auto_delete)'/);
});

void test('an unknown exchange fails with the broker\'s reason', async () => {
  const out = await rabbitmq.execute(
    request({ url: broker.url, exchange: 'no-such-exchange', 'queue.name': 'kairos.reports', 'message.body': 'x' }),
  );
  assert.equal(out.success, false);
  assert.match(out.output, /^rabbitmq: publishing to exchange "no-such-exchange" with routing key "kairos.reports" at amqp:\/\/guest:\*{8}@127\.0\.0\.1:\d+ failed: /);
  assert.match(out.output, /404 \(NOT-FOUND\).*NOT_FOUND - no exchange 'no-such-exchange' in vhost '\/'/);
});

void test('a message no queue can receive fails instead of being dropped', async () => {
  const out = await rabbitmq.execute(request({ url: broker.url, 'queue.name': 'kairos.nobody-declared-this', 'message.body': 'x' }));
  assert.equal(out.success, false);
  assert.match(out.output, /could not route the message \(312 NO_ROUTE\)/);
});

void test('wrong credentials fail with the broker\'s reason and the password masked', async () => {
  const bad = broker.url.replace('guest:guest', 'guest:wrongpass');
  const out = await rabbitmq.execute(request({ url: bad, 'queue.name': 'q', 'message.body': 'x' }));
  assert.equal(out.success, false);
  assert.match(out.output, /ACCESS.REFUSED/);
  assert.doesNotMatch(out.output, /wrongpass/);
});

void test('an unreachable broker fails at once with the reason', async () => {
  const port = await freePort();
  const started = Date.now();
  const out = await rabbitmq.execute(request({ url: `amqp://127.0.0.1:${port}`, 'queue.name': 'q', 'message.body': 'x' }));
  assert.equal(out.success, false);
  assert.match(out.output, new RegExp(`at amqp://127\\.0\\.0\\.1:${port} failed: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
  assert.ok(Date.now() - started < 3000);
});

void test('a broker that never answers fails within the timeout; abort ends a run at once', async () => {
  const sockets = new Set<Socket>();
  const silent = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const addr = silent.address();
  const url = `amqp://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  try {
    const started = Date.now();
    const out = await rabbitmq.execute(request({ url, 'queue.name': 'q', timeout: '600ms' }));
    const took = Date.now() - started;
    assert.equal(out.success, false);
    assert.match(out.output, /failed: .*time(d)? ?out/i);
    assert.ok(took >= 500 && took < 3000, `took ${took} ms for a 600 ms timeout`);

    const ac = new AbortController();
    const run = rabbitmq.execute(request({ url, 'queue.name': 'q', timeout: '30s' }, { signal: ac.signal }));
    setTimeout(() => ac.abort('agent shutting down'), 100);
    const t2 = Date.now();
    const aborted = await run;
    assert.equal(aborted.success, false);
    assert.equal(aborted.output, 'killed: agent shutting down\n');
    assert.ok(Date.now() - t2 < 3000);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

void test('validation names the key', () => {
  const base = { url: 'amqp://guest:guest@localhost:5672/', 'queue.name': 'q' };
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ 'queue.name': 'q' }, 'executor_config.url', /required/],
    [{ ...base, url: 'http://localhost:5672' }, 'executor_config.url', /amqp:\/\/ or amqps:\/\//],
    [{ ...base, url: 'nonsense' }, 'executor_config.url', /not a URL/],
    [{ url: base.url }, 'executor_config.queue.name', /required/],
    [{ ...base, 'queue.create': 'yes' }, 'executor_config.queue.create', /"true" or "false"/],
    [{ ...base, 'queue.durable': '1' }, 'executor_config.queue.durable', /"true" or "false"/],
    [{ ...base, 'queue.auto_delete': 'TRUE' }, 'executor_config.queue.auto_delete', /"true" or "false"/],
    [{ ...base, 'queue.exclusive': 'no' }, 'executor_config.queue.exclusive', /"true" or "false"/],
    [{ ...base, 'message.delivery_mode': '3' }, 'executor_config.message.delivery_mode', /1 \(transient\) or 2/],
    [{ ...base, 'message.delivery_mode': '0' }, 'executor_config.message.delivery_mode', /got "0"/],
    [{ ...base, 'message.base64Body': 'not base64!' }, 'executor_config.message.base64Body', /not valid/],
    [{ ...base, 'message.base64Body': 'YWJj' + 'ZA' }, 'executor_config.message.base64Body', /padded/],
    [{ ...base, 'message.body': 'a', 'message.base64Body': 'YQ==' }, 'executor_config.message.base64Body', /not both/],
    [{ ...base, timeout: 'later' }, 'executor_config.timeout', /Go duration/],
  ];
  for (const [config, field, message] of cases) {
    const problem = rabbitmq.validate(config);
    assert.ok(problem, `expected a problem for ${JSON.stringify(config)}`);
    assert.equal(problem.field, field, JSON.stringify(config));
    assert.match(problem.message, message, JSON.stringify(config));
  }
  assert.equal(rabbitmq.validate(base), null);
  assert.equal(
    rabbitmq.validate({
      ...base,
      url: 'amqps://u:p@mq.example:5671/vh',
      'queue.create': 'false',
      'message.delivery_mode': '2',
      'message.base64Body': 'YWJjZA==',
      timeout: '2s',
    }),
    null,
  );
});

void test('execute re-checks the config and fails on a bad one without connecting', async () => {
  const out = await rabbitmq.execute(request({ url: broker.url, 'queue.name': 'q', 'message.delivery_mode': 'fast' }));
  assert.equal(out.success, false);
  assert.match(out.output, /^executor_config\.message\.delivery_mode: /);
});
