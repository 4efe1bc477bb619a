import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { GrpcExecutor } from '../../src/executors/grpc.js';
import type { ExecutionRequest } from '../../src/executors/types.js';
import { makeCerts } from '../helpers/certs.js';
import type { TestCerts } from '../helpers/certs.js';
import { startEchoServer } from '../fixtures/grpc/server.js';
import type { EchoServer } from '../fixtures/grpc/server.js';
import { executionRequest } from '../helpers/execution-request.js';

const request = (config: Record<string, string>, extra: Partial<ExecutionRequest> = {}): ExecutionRequest =>
  executionRequest(config, { scheduledAt: new Date(), ...extra });

const executor = new GrpcExecutor();
let server: EchoServer;
let certs: TestCerts;

before(async () => {
  server = await startEchoServer();
  certs = makeCerts();
});

after(async () => {
  await server.stop();
  certs.remove();
});

void test('a unary call found through reflection: JSON in, JSON out, headers as metadata', async () => {
  const chunks: Buffer[] = [];
  const before = server.calls.length;
  const out = await executor.execute(
    request(
      {
        url: `${server.address}/kairos.test.Echo/Say`,
        body: JSON.stringify({ messageText: 'hi there', times: 2, color: 'GREEN', at: '2024-01-02T03:04:05.5Z' }),
        headers: JSON.stringify(['X-Token: abc', 'Trace-Id: t:1']),
        timeout: '5',
      },
      { onOutput: (c) => chunks.push(c) },
    ),
  );
  assert.equal(out.success, true, out.output);
  assert.equal(out.exitCode, null);
  assert.deepEqual(JSON.parse(out.output), {
    text: 'hi there hi there',
    // int64 stays a string, past 2^53 without rounding.
    big: '9007199254740993',
    color: 'GREEN',
    metadata: { seconds: '1704164645' },
    words: ['hi', 'there'],
  });
  assert.equal(Buffer.concat(chunks).toString(), out.output);
  const call = server.calls[before];
  assert.equal(call?.method, 'Say');
  assert.equal(call.metadata['x-token'], 'abc');
  assert.equal(call.metadata['trace-id'], 't:1');
  assert.deepEqual(call.request, {
    message_text: 'hi there',
    times: 2,
    color: 'GREEN',
    at: { seconds: '1704164645', nanos: 500_000_000 },
  });
});

void test('proto field names, the Service.Method form and an empty body work too', async () => {
  const snake = await executor.execute(
    request({ url: `${server.address}/kairos.test.Echo.Say`, body: '{"message_text":"x","times":"3"}' }),
  );
  assert.equal(snake.success, true, snake.output);
  assert.equal((JSON.parse(snake.output) as { text: string }).text, 'x x x');

  const empty = await executor.execute(request({ url: `${server.address}/kairos.test.Echo/Say` }));
  assert.equal(empty.success, true, empty.output);
  // Default values are left out, as protojson does; the enum default is not on the wire.
  assert.deepEqual(JSON.parse(empty.output), { big: '9007199254740993', metadata: { seconds: 'none' }, words: [''] });
});

void test('an error status fails unless expectCode names it', async () => {
  const url = `${server.address}/kairos.test.Echo/Fail`;
  const body = JSON.stringify({ code: 5, details: 'no such thing' });
  const failed = await executor.execute(request({ url, body }));
  assert.equal(failed.success, false);
  assert.equal(
    failed.output,
    'ERROR:\n  Code: NOT_FOUND\n  Message: no such thing\nserver returned NOT_FOUND (5), expected OK (0)\n',
  );

  const expected = await executor.execute(request({ url, body, expectCode: '5' }));
  assert.equal(expected.success, true, expected.output);
  assert.match(expected.output, /Code: NOT_FOUND/);

  const okButExpectedError = await executor.execute(
    request({ url: `${server.address}/kairos.test.Echo/Say`, body: '{"messageText":"a"}', expectCode: '5' }),
  );
  assert.equal(okButExpectedError.success, false);
  assert.match(okButExpectedError.output, /"text": "a"[\s\S]*server returned OK \(0\), expected NOT_FOUND \(5\)\n$/);
});

void test('an unknown method or service fails clearly, without calling anything', async () => {
  const before = server.calls.length;
  const method = await executor.execute(request({ url: `${server.address}/kairos.test.Echo/Shout` }));
  assert.equal(method.success, false);
  assert.equal(method.output, 'service "kairos.test.Echo" has no method "Shout" (methods: Fail, Hang, Say)\n');

  const service = await executor.execute(request({ url: `${server.address}/kairos.test.Nope/Say` }));
  assert.equal(service.success, false);
  assert.equal(service.output, `service "kairos.test.Nope" not found on ${server.address} (server reflection)\n`);
  assert.equal(server.calls.length, before);
});

void test('a body that does not fit the request message fails naming the field', async () => {
  const before = server.calls.length;
  const url = `${server.address}/kairos.test.Echo/Say`;
  const unknown = await executor.execute(request({ url, body: '{"bogus":1}' }));
  assert.equal(unknown.success, false);
  assert.equal(unknown.output, 'executor_config.body: kairos.test.SayRequest has no field named "bogus"\n');
  const badEnum = await executor.execute(request({ url, body: '{"color":"BLUE"}' }));
  assert.match(badEnum.output, /^executor_config\.body: color: "BLUE" is not a value of enum kairos\.test\.Color\n$/);
  const badType = await executor.execute(request({ url, body: '{"times":"many"}' }));
  assert.match(badType.output, /times: "many" is not a valid int32/);
  assert.equal(server.calls.length, before);
});

void test('server down: a clear failure, quickly', async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const started = Date.now();
  const out = await executor.execute(request({ url: `127.0.0.1:${port}/kairos.test.Echo/Say`, timeout: '10' }));
  assert.equal(out.success, false);
  assert.match(out.output, new RegExp(`^server reflection failed on 127\\.0\\.0\\.1:${port}: 14 UNAVAILABLE`));
  assert.ok(Date.now() - started < 5000, 'did not wait for the deadline');
});

void test('timeout: the call is cancelled at the deadline and the run fails', async () => {
  const out = await executor.execute(request({ url: `${server.address}/kairos.test.Echo/Hang`, timeout: '300ms' }));
  assert.equal(out.success, false);
  assert.match(out.output, /Code: DEADLINE_EXCEEDED/);
  assert.match(out.output, /server returned DEADLINE_EXCEEDED \(4\), expected OK \(0\): timeout after 300ms\n$/);
  await server.hangCancelled;
});

void test('aborting the run cancels the call and says why', async () => {
  const ctl = new AbortController();
  const before = server.calls.length;
  const run = executor.execute(
    request({ url: `${server.address}/kairos.test.Echo/Hang`, timeout: '30' }, { signal: ctl.signal }),
  );
  const deadline = Date.now() + 5000;
  while (server.calls.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(server.calls.length, before + 1, 'the Hang call reached the server');
  ctl.abort(new Error('agent shutting down'));
  const out = await run;
  assert.equal(out.success, false);
  assert.equal(out.output, 'aborted: agent shutting down\n');
});

void test('TLS with tlsRootCAsFile; plaintext against a TLS server fails', async () => {
  const tlsServer = await startEchoServer({
    ca: certs.ca,
    cert: certs.serverCert,
    key: certs.serverKey,
  });
  try {
    const url = `${tlsServer.address}/kairos.test.Echo/Say`;
    const ok = await executor.execute(request({ url, body: '{"messageText":"secure"}', tlsRootCAsFile: certs.ca }));
    assert.equal(ok.success, true, ok.output);
    assert.equal((JSON.parse(ok.output) as { text: string }).text, 'secure');

    const untrusted = await executor.execute(request({ url, tls: 'true', timeout: '5' }));
    assert.equal(untrusted.success, false);
    assert.match(untrusted.output, /^server reflection failed .*14 UNAVAILABLE/);

    const noVerify = await executor.execute(request({ url, tlsNoVerifyPeer: 'true', timeout: '5' }));
    assert.equal(noVerify.success, true, noVerify.output);

    const plaintext = await executor.execute(request({ url, timeout: '5' }));
    assert.equal(plaintext.success, false);
    assert.match(plaintext.output, /^server reflection failed/);
  } finally {
    await tlsServer.stop();
  }
});

void test('validate names the offending key', () => {
  const ok = { url: '127.0.0.1:50051/pkg.Service/Method' };
  assert.equal(executor.validate(ok), null);
  assert.equal(executor.validate({ url: 'localhost:1/Svc.Method', body: '{"a":1}', expectCode: '16', timeout: '2s' }), null);
  assert.equal(executor.validate({ url: '[::1]:50051/a.b.C/D' }), null);
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{}, 'url', /required/],
    [{ url: '127.0.0.1:50051' }, 'url', /host:port\/package\.Service\/Method/],
    [{ url: '127.0.0.1/pkg.Service/Method' }, 'url', /host:port/],
    [{ url: '127.0.0.1:1/pkg.Service/Me-thod' }, 'url', /host:port\/package/],
    [{ ...ok, body: '{nope' }, 'body', /JSON/],
    [{ ...ok, headers: '["x"]' }, 'headers', /Name: value/],
    [{ ...ok, headers: '["Bad Key: v"]' }, 'headers', /metadata key/],
    [{ ...ok, headers: '["grpc-timeout: 1"]' }, 'headers', /metadata key/],
    [{ ...ok, headers: '["x-bin: ???"]' }, 'headers', /base64/],
    [{ ...ok, timeout: '0' }, 'timeout', /positive/],
    [{ ...ok, timeout: 'x' }, 'timeout', /duration/],
    [{ ...ok, expectCode: '17' }, 'expectCode', /0 to 16/],
    [{ ...ok, expectCode: 'OK' }, 'expectCode', /0 to 16/],
    [{ ...ok, tls: 'yes' }, 'tls', /"true" or "false"/],
  ];
  for (const [config, key, message] of cases) {
    const problem = executor.validate(config);
    assert.equal(problem?.field, `executor_config.${key}`, JSON.stringify(config));
    assert.match(problem.message, message);
  }
});
