import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { HttpExecutor } from '../../src/executors/http.js';
import { HttpAgentCache } from '../../src/executors/http-agents.js';
import type { ExecutionRequest } from '../../src/executors/types.js';
import { makeCerts } from '../helpers/certs.js';
import type { TestCerts } from '../helpers/certs.js';
import { executionRequest } from '../helpers/execution-request.js';

const request = (config: Record<string, string>, extra: Partial<ExecutionRequest> = {}): ExecutionRequest =>
  executionRequest(config, { scheduledAt: new Date(), ...extra });

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** Starts `server` on 127.0.0.1 and a free port; returns its base URL and what it received. */
async function listen(server: Server, handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const received: Received[] = [];
  let connections = 0;
  server.on('connection', () => connections++);
  server.on('secureConnection', () => connections++);
  const listener: RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  };
  server.on('request', listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  servers.push(server);
  return { port, received, connections: () => connections };
}

/** A self-signed server certificate for 127.0.0.1 (certs.ts makes CA-signed ones only). */
function selfSignedCert(dir: string): { cert: Buffer; key: Buffer } {
  const cert = join(dir, 'self.crt');
  const key = join(dir, 'self.key');
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

const servers: Server[] = [];
const executor = new HttpExecutor();
let certs: TestCerts;
let base = '';
let app: Awaited<ReturnType<typeof listen>>;

before(async () => {
  certs = makeCerts();
  app = await listen(createServer(), (req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/ok':
        res.end('all good');
        return;
      case '/status':
        res.writeHead(Number(url.searchParams.get('code'))).end(`status ${url.searchParams.get('code')}`);
        return;
      case '/echo':
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, body }));
        return;
      case '/big':
        // Streamed in pieces so the executor sees several chunks.
        for (let i = 0; i < 10; i++) res.write(`${String(i).repeat(999)}\n`);
        res.end('END');
        return;
      case '/redirect':
        res.writeHead(302, { location: '/echo' }).end();
        return;
      case '/loop':
        res.writeHead(307, { location: '/loop' }).end();
        return;
      case '/trickle':
        // Headers and a first piece of body, then nothing more.
        res.writeHead(200);
        res.write('partial ');
        return;
      case '/hang':
        // Never answers; the test's timeout or abort ends it.
        return;
      default:
        res.writeHead(404).end('no such path');
    }
  });
  base = `http://127.0.0.1:${app.port}`;
});

after(() => {
  executor.close();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  certs.remove();
});

void test('GET success: status line and body are the output, streamed as they arrive', async () => {
  const chunks: Buffer[] = [];
  const out = await executor.execute(
    request({ method: 'GET', url: `${base}/ok`, expectCode: '200' }, { onOutput: (c) => chunks.push(c) }),
  );
  assert.equal(out.success, true);
  assert.equal(out.exitCode, null);
  assert.equal(out.output, 'HTTP/1.1 200 OK\nall good');
  assert.equal(Buffer.concat(chunks).toString(), out.output);
  assert.equal(out.truncated, false);
});

void test('a status outside expectCode fails and says so; without expectCode any status succeeds (dkron)', async () => {
  const bad = await executor.execute(request({ method: 'GET', url: `${base}/status?code=503`, expectCode: '200, 204' }));
  assert.equal(bad.success, false);
  assert.equal(bad.output, 'HTTP/1.1 503 Service Unavailable\nstatus 503\nexpected status 200,204, got 503\n');

  const listed = await executor.execute(request({ method: 'GET', url: `${base}/status?code=204`, expectCode: '200,204' }));
  assert.equal(listed.success, true);

  const unchecked = await executor.execute(request({ method: 'get', url: `${base}/status?code=500` }));
  assert.equal(unchecked.success, true);
  assert.match(unchecked.output, /^HTTP\/1\.1 500 Internal Server Error\n/);
});

void test('expectBody is a regex over the body; a mismatch fails naming it', async () => {
  const miss = await executor.execute(request({ method: 'GET', url: `${base}/ok`, expectBody: '^ready$' }));
  assert.equal(miss.success, false);
  assert.match(miss.output, /all good\nbody did not match \/\^ready\$\/\n$/);

  const hit = await executor.execute(request({ method: 'GET', url: `${base}/ok`, expectBody: 'good' }));
  assert.equal(hit.success, true);
  // Go's inline flags become JavaScript flags.
  const ci = await executor.execute(request({ method: 'GET', url: `${base}/ok`, expectBody: '(?i)ALL GOOD' }));
  assert.equal(ci.success, true);
  const named = await executor.execute(request({ method: 'GET', url: `${base}/ok`, expectBody: '(?P<word>go+d)' }));
  assert.equal(named.success, true, named.output);
  // The status line is not part of the body.
  const status = await executor.execute(request({ method: 'GET', url: `${base}/ok`, expectBody: 'HTTP/1.1' }));
  assert.equal(status.success, false);
});

void test('timeout, in seconds or as a Go duration, fails the run with a timeout line', async () => {
  const started = Date.now();
  const out = await executor.execute(request({ method: 'GET', url: `${base}/hang`, timeout: '300ms' }));
  assert.equal(out.success, false);
  assert.equal(out.output, 'timeout after 300ms\n');
  assert.ok(Date.now() - started < 5000);

  const seconds = await executor.execute(request({ method: 'GET', url: `${base}/hang`, timeout: '1' }));
  assert.equal(seconds.output, 'timeout after 1s\n');

  // The timeout covers reading the body too, as Go's Client.Timeout.
  const body = await executor.execute(request({ method: 'GET', url: `${base}/trickle`, timeout: '300ms' }));
  assert.equal(body.success, false);
  assert.equal(body.output, 'HTTP/1.1 200 OK\npartial \ntimeout after 300ms\n');
});

void test('POST sends the headers and the body', async () => {
  const before = app.received.length;
  const out = await executor.execute(
    request({
      method: 'POST',
      url: `${base}/echo?x=1`,
      headers: JSON.stringify(['Content-Type: application/json', 'X-Trace: a:b:c', '']),
      body: '{"hello":"wörld"}',
      expectCode: '200',
      expectBody: '"method":"POST"',
    }),
  );
  assert.equal(out.success, true, out.output);
  const got = app.received[before];
  assert.ok(got);
  assert.equal(got.method, 'POST');
  assert.equal(got.url, '/echo?x=1');
  assert.equal(got.headers['content-type'], 'application/json');
  // Split at the first colon only (dkron drops everything after a second one).
  assert.equal(got.headers['x-trace'], 'a:b:c');
  assert.equal(got.headers['content-length'], String(Buffer.byteLength('{"hello":"wörld"}')));
  assert.equal(got.body, '{"hello":"wörld"}');
});

void test('redirects are followed as Go does: 302 turns a POST into a GET without body', async () => {
  const before = app.received.length;
  const out = await executor.execute(request({ method: 'POST', url: `${base}/redirect`, body: 'payload' }));
  assert.equal(out.success, true);
  assert.equal(out.output, 'HTTP/1.1 200 OK\n{"method":"GET","body":""}');
  assert.deepEqual(
    app.received.slice(before).map((r) => `${r.method} ${r.url}`),
    ['POST /redirect', 'GET /echo'],
  );

  const loop = await executor.execute(request({ method: 'GET', url: `${base}/loop` }));
  assert.equal(loop.success, false);
  assert.match(loop.output, /stopped after 10 redirects/);
});

void test('keep-alive: consecutive runs reuse one connection', async () => {
  const server = await listen(createServer(), (_req, res) => res.end('x'));
  const url = `http://127.0.0.1:${server.port}/`;
  for (let i = 0; i < 3; i++) {
    const out = await executor.execute(request({ method: 'GET', url }));
    assert.equal(out.success, true);
  }
  assert.equal(server.received.length, 3);
  assert.equal(server.connections(), 1);
});

void test('output is bounded by outputLimit, keeping the tail', async () => {
  const chunks: Buffer[] = [];
  const out = await executor.execute(
    request({ method: 'GET', url: `${base}/big`, expectBody: '^0{999}\n' }, { outputLimit: 100, onOutput: (c) => chunks.push(c) }),
  );
  assert.equal(out.success, true, out.output);
  assert.equal(out.truncated, true);
  assert.equal(Buffer.byteLength(out.output), 100);
  assert.ok(out.output.endsWith('9999\nEND'));
  // Live output still sees everything.
  assert.equal(Buffer.concat(chunks).length, 'HTTP/1.1 200 OK\n'.length + 10 * 1000 + 3);
});

void test('aborting the run ends the request and says why', async () => {
  const ctl = new AbortController();
  const before = app.received.length;
  const run = executor.execute(request({ method: 'GET', url: `${base}/hang` }, { signal: ctl.signal }));
  // Abort once the server has the request, so the in-flight path is what's tested.
  const deadline = Date.now() + 5000;
  while (app.received.length === before && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  ctl.abort(new Error('agent shutting down'));
  const out = await run;
  assert.equal(out.success, false);
  assert.equal(out.output, 'aborted: agent shutting down\n');
});

void test('debug echoes the config with Authorization masked', async () => {
  const out = await executor.execute(
    request({
      method: 'GET',
      url: `http://user:secret@127.0.0.1:${app.port}/ok`,
      headers: '["Authorization: Bearer hunter2", "X-Plain: visible"]',
      debug: 'true',
    }),
  );
  assert.equal(out.success, true);
  const first = out.output.split('\n')[0] ?? '';
  assert.match(first, /^Config: \{/);
  assert.ok(!first.includes('hunter2') && !first.includes('secret'), first);
  assert.ok(first.includes('Authorization: ***') && first.includes('X-Plain: visible'), first);
  assert.match(out.output, /\nHTTP\/1\.1 200 OK\nall good$/);
});

void test('connection errors fail with the reason', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const out = await executor.execute(request({ method: 'GET', url: `http://127.0.0.1:${port}/` }));
  assert.equal(out.success, false);
  assert.match(out.output, /^request failed: connect ECONNREFUSED/);
});

void test('TLS: tlsRootCAsFile trusts a private CA; client certificates are sent', async () => {
  const tlsServer = await listen(
    createHttpsServer({
      cert: readFileSync(certs.serverCert),
      key: readFileSync(certs.serverKey),
      ca: readFileSync(certs.ca),
      requestCert: true,
      rejectUnauthorized: false,
    }),
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      res.end(socket.authorized ? `client ${peer.subject.CN}` : 'anonymous');
    },
  );
  const url = `https://127.0.0.1:${tlsServer.port}/`;

  const untrusted = await executor.execute(request({ method: 'GET', url }));
  assert.equal(untrusted.success, false);
  // Which of the two depends on whether the server sends its CA along.
  assert.match(untrusted.output, /^request failed: (unable to verify the first certificate|self-signed certificate in certificate chain)/);

  const trusted = await executor.execute(request({ method: 'GET', url, tlsRootCAsFile: certs.ca }));
  assert.equal(trusted.output, 'HTTP/1.1 200 OK\nanonymous');

  const mutual = await executor.execute(
    request({
      method: 'GET',
      url,
      tlsRootCAsFile: certs.ca,
      tlsCertificateFile: certs.clientCert,
      tlsCertificateKeyFile: certs.clientKey,
      expectBody: '^client kairos-test-client$',
    }),
  );
  assert.equal(mutual.success, true, mutual.output);

  const missing = await executor.execute(request({ method: 'GET', url, tlsRootCAsFile: `${certs.dir}/nope.pem` }));
  assert.equal(missing.success, false);
  assert.match(missing.output, /cannot read TLS file ".*nope\.pem"/);
});

void test('TLS: tlsNoVerifyPeer accepts a self-signed server', async () => {
  const { cert, key } = selfSignedCert(certs.dir);
  const selfSigned = await listen(
    createHttpsServer({ cert, key }),
    (_req, res) => res.end('self'),
  );
  const url = `https://127.0.0.1:${selfSigned.port}/`;
  const refused = await executor.execute(request({ method: 'GET', url }));
  assert.equal(refused.success, false);
  assert.match(refused.output, /^request failed: self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);

  const accepted = await executor.execute(request({ method: 'GET', url, tlsNoVerifyPeer: 'true' }));
  assert.equal(accepted.success, true, accepted.output);
  assert.equal(accepted.output, 'HTTP/1.1 200 OK\nself');
});

void test('validate names the offending key', () => {
  const ok = { method: 'GET', url: 'https://example.com/' };
  assert.equal(executor.validate(ok), null);
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ url: 'http://x' }, 'method', /required/],
    [{ ...ok, method: 'FETCH' }, 'method', /unknown HTTP method/],
    [{ method: 'GET' }, 'url', /required/],
    [{ ...ok, url: 'not a url' }, 'url', /not a valid URL/],
    [{ ...ok, url: 'ftp://example.com/' }, 'url', /http or https/],
    [{ ...ok, headers: '{"a":1}' }, 'headers', /JSON array/],
    [{ ...ok, headers: '["NoColon"]' }, 'headers', /Name: value/],
    [{ ...ok, headers: '["Bad Name: x"]' }, 'headers', /Bad Name/],
    [{ ...ok, headers: '[' }, 'headers', /JSON array/],
    [{ ...ok, timeout: '-1' }, 'timeout', /positive|duration/],
    [{ ...ok, timeout: 'soon' }, 'timeout', /duration/],
    [{ ...ok, expectCode: '200,abc' }, 'expectCode', /"abc"/],
    [{ ...ok, expectBody: '(unclosed' }, 'expectBody', /regular expression/],
    [{ ...ok, tlsNoVerifyPeer: 'maybe' }, 'tlsNoVerifyPeer', /true.*false/],
    [{ ...ok, tlsCertificateFile: '/c.pem' }, 'tlsCertificateKeyFile', /required/],
    [{ ...ok, tlsCertificateKeyFile: '/k.pem' }, 'tlsCertificateFile', /required/],
  ];
  for (const [config, key, message] of cases) {
    const problem = executor.validate(config);
    assert.equal(problem?.field, `executor_config.${key}`, JSON.stringify(config));
    assert.match(problem.message, message);
  }
  // dkron's accepted spellings.
  assert.equal(executor.validate({ ...ok, timeout: '0', tlsNoVerifyPeer: 'True', expectCode: '200,' }), null);
});

void test('an invalid config at run time fails without sending anything', async () => {
  const before = app.received.length;
  const out = await executor.execute(request({ method: 'GET', url: `${base}/ok`, expectCode: 'x' }));
  assert.equal(out.success, false);
  assert.match(out.output, /^executor_config\.expectCode: /);
  assert.equal(app.received.length, before);
});

void test('the agent cache reuses agents per TLS setup and evicts the least recently used', async () => {
  const cache = new HttpAgentCache(2);
  const tls = (caFile: string, noVerifyPeer = false) => ({ noVerifyPeer, certFile: '', keyFile: '', caFile });
  const a = await cache.get('https:', tls(certs.ca));
  assert.equal(await cache.get('https:', tls(certs.ca)), a);
  const b = await cache.get('https:', tls(certs.otherCa));
  assert.notEqual(b, a);
  // Touch `a`, so `b` is the least recently used when a third setup arrives.
  await cache.get('https:', tls(certs.ca));
  await cache.get('https:', tls('', true));
  assert.equal(cache.size, 2);
  assert.equal(await cache.get('https:', tls(certs.ca)), a);
  assert.notEqual(await cache.get('https:', tls(certs.otherCa)), b);
  cache.destroy();
  assert.equal(cache.size, 0);
});
