/**
 * TLS end to end, with real processes and certificates made by openssl:
 * the API over HTTPS (and with required client certificates), start-up
 * errors for bad TLS options, and the etcd backend over TLS with etcd's own
 * authentication turned on.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { api, BIN, eventually, finishedRun, removeDir, ROOT, shellJob, startAgent, stopAndRemove, tempDir, type AgentHandle } from '../helpers/agent.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { enableEtcdAuth, startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { randomKeyspace, startClusterAgent } from '../helpers/cluster.js';
import type { Execution } from '../../src/job/types.js';

/** PEM files a client trusts and presents. */
interface ClientTls {
  ca?: string;
  cert?: string;
  key?: string;
}

interface Reply<T> {
  status: number;
  body: T;
}

/** One request over HTTPS on a fresh connection (fetch can't be given a CA on Node 20). */
function httpsApi<T = unknown>(base: string, method: string, path: string, tls: ClientTls, body?: unknown): Promise<Reply<T>> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, base),
      {
        method,
        ...(tls.ca ? { ca: readFileSync(tls.ca) } : {}),
        ...(tls.cert && tls.key ? { cert: readFileSync(tls.cert), key: readFileSync(tls.key) } : {}),
        headers: payload === undefined ? {} : { 'content-type': 'application/json' },
        // No shared agent: no kept-alive connection or TLS session reused across client identities.
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('error', reject);
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = text === '' ? null : JSON.parse(text);
          } catch {
            // non-JSON body stays text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** A plain-http GET: "status N", or "error CODE" when the connection fails. */
function plainHttpGet(port: number, path: string): Promise<string> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      resolve(`status ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`));
    req.end();
  });
}

interface Run {
  code: number | null;
  output: string;
}

/** Runs `kairos <args>` to completion (for options that must stop the start). */
function runKairos(args: string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kairos ${args.join(' ')} did not exit within ${timeoutMs} ms; output:\n${output}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

let certs: TestCerts;

before(() => {
  certs = makeCerts();
});

after(() => {
  certs?.remove();
});

describe('the API over HTTPS', () => {
  let agent: AgentHandle | undefined;

  before(async () => {
    agent = await startAgent({ args: ['--tls-cert', certs.serverCert, '--tls-key', certs.serverKey] });
  });

  after(async () => {
    await stopAndRemove(agent, agent?.dataDir ?? '');
  });

  test('serves HTTPS to a client that trusts the CA, and nothing over plain http', async () => {
    const a = agent!;
    assert.match(a.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const info = await httpsApi<{ agent?: { name?: string } }>(a.url, 'GET', '/v1', { ca: certs.ca });
    assert.equal(info.status, 200);
    await assert.rejects(httpsApi(a.url, 'GET', '/v1', {}), /self[- ]signed|unable to verify|certificate/i, 'the test CA is not a public one');
    assert.doesNotMatch(await plainHttpGet(a.port, '/v1'), /^status 2/, 'plain http gets no answer from the HTTPS port');
  });

  test('a job is created and run over HTTPS', async () => {
    const a = agent!;
    const tls = { ca: certs.ca };
    const created = await httpsApi(a.url, 'POST', '/v1/jobs', tls, shellJob('over-tls', 'echo secure'));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await httpsApi(a.url, 'POST', '/v1/jobs/over-tls/run', tls)).status, 202);
    const [run] = await eventually('the run over HTTPS to finish', async () => {
      const r = await httpsApi<Execution[]>(a.url, 'GET', '/v1/jobs/over-tls/executions', tls);
      const done = r.status === 200 ? r.body.filter(finishedRun) : [];
      return done.length === 1 ? done : undefined;
    });
    assert.equal(run?.success, true, run?.output);
    assert.match(run?.output ?? '', /secure/);
  });
});

describe('the API with required client certificates (--tls-client-ca)', () => {
  let agent: AgentHandle | undefined;

  before(async () => {
    agent = await startAgent({ args: ['--tls-cert', certs.serverCert, '--tls-key', certs.serverKey, '--tls-client-ca', certs.ca] });
  });

  after(async () => {
    await stopAndRemove(agent, agent?.dataDir ?? '');
  });

  test('a certificate signed by the client CA is let in', async () => {
    const r = await httpsApi(agent!.url, 'GET', '/v1', { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
    assert.equal(r.status, 200);
  });

  test('a client without a certificate is refused', async () => {
    await assert.rejects(httpsApi(agent!.url, 'GET', '/v1', { ca: certs.ca }));
  });

  test('a certificate from another CA is refused', async () => {
    await assert.rejects(httpsApi(agent!.url, 'GET', '/v1', { ca: certs.ca, cert: certs.otherClientCert, key: certs.otherClientKey }));
  });
});

describe('bad TLS options stop the start with a message naming them', () => {
  let dir: string;

  before(() => {
    dir = tempDir();
  });

  after(() => {
    removeDir(dir);
  });

  const base = (): string[] => ['agent', '--http-addr', '127.0.0.1:0', '--data-dir', join(dir, 'data')];

  test('--tls-cert without --tls-key exits 2', async () => {
    const r = await runKairos([...base(), '--tls-cert', certs.serverCert]);
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /option tls-cert/);
    assert.match(r.output, /--tls-key/);
  });

  test('an unreadable certificate file fails the start, naming the path', async () => {
    const missing = join(dir, 'no-such-cert.pem');
    const r = await runKairos([...base(), '--tls-cert', missing, '--tls-key', certs.serverKey]);
    assert.notEqual(r.code, 0, r.output);
    assert.ok(r.output.includes(missing), r.output);
    assert.match(r.output, /tls-cert/);
    assert.doesNotMatch(r.output, /HTTP server listening/);
  });

  test('a key that does not belong to the certificate fails the start', async () => {
    const r = await runKairos([...base(), '--tls-cert', certs.serverCert, '--tls-key', certs.clientKey]);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /option tls-key: .* is not the private key of the certificate/);
  });

  test('an unreadable backend CA fails the start, naming the option and path', async () => {
    const missing = join(dir, 'no-such-ca.pem');
    const r = await runKairos([...base(), '--backend', 'etcd', '--backend-machine', '127.0.0.1:9', '--backend-tls-ca', missing]);
    assert.equal(r.code, 1, r.output);
    assert.ok(r.output.includes(`option backend-tls-ca: cannot read ${missing}: ENOENT`), r.output);
  });

  test('a plain http:// etcd endpoint with backend TLS options fails the start', async () => {
    const r = await runKairos([...base(), '--backend', 'etcd', '--backend-machine', 'http://127.0.0.1:9', '--backend-tls-ca', certs.ca]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /endpoint http:\/\/127\.0\.0\.1:9 is plain http, but TLS is configured/);
  });
});

describe('etcd over TLS with client certificates and etcd auth', () => {
  const PASSWORD = 'kairos-s3cret';
  let etcd: EtcdCluster | undefined;
  let keyspace: string;
  const agents: AgentHandle[] = [];

  const backendFlags = (password: string | null, tls = true): string[] => [
    ...(tls ? ['--backend-tls-ca', certs.ca, '--backend-tls-cert', certs.clientCert, '--backend-tls-key', certs.clientKey] : []),
    ...(password === null ? [] : ['--backend-username', 'kairos', '--backend-password', password]),
  ];

  before(async () => {
    etcd = await startEtcd(1, {
      tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, clientCertAuth: true, clientCert: certs.clientCert, clientKey: certs.clientKey },
    });
    keyspace = randomKeyspace();
    enableEtcdAuth(etcd, { keyspace, user: 'kairos', password: PASSWORD, rootPassword: 'root-s3cret' });
  });

  after(async () => {
    for (const a of agents) await stopAndRemove(a, a.dataDir);
    await etcd?.stop();
  });

  test('an agent with the right certificates and password leads and runs jobs', async () => {
    const a = await startClusterAgent({ endpoints: etcd!.endpoints, keyspace, name: 'secure', extra: backendFlags(PASSWORD) });
    agents.push(a);
    await a.waitForLog(/Cluster leadership acquired/);
    assert.equal((await api(a.url, 'GET', '/health')).status, 200);

    assert.equal((await api(a.url, 'POST', '/v1/jobs', shellJob('via-secure-etcd', 'echo stored'))).status, 201);
    assert.equal((await api(a.url, 'POST', '/v1/jobs/via-secure-etcd/run')).status, 202);
    const [run] = await eventually('the run to be recorded', async () => {
      const r = await api<Execution[]>(a.url, 'GET', '/v1/jobs/via-secure-etcd/executions');
      const done = r.body.filter((e) => finishedRun(e));
      return done.length === 1 ? done : undefined;
    });
    assert.equal(run?.success, true, run?.output);
    assert.match(run?.output ?? '', /stored/);

    // The job really lives in the secured etcd, under the keyspace the user may write.
    const keys = etcd!.etcdctl(['get', '--prefix', '--keys-only', `${keyspace}/jobs/`], 'root:root-s3cret');
    assert.match(keys, new RegExp(`${keyspace}/jobs/via-secure-etcd`));
  });

  test('a wrong password: the agent stays up, /health and the logs say authentication failed', async () => {
    const a = await startClusterAgent({ endpoints: etcd!.endpoints, keyspace, name: 'wrong-password', extra: backendFlags('not-the-password') });
    agents.push(a);
    await a.waitForLog(/WARN .*authentication failed, invalid user ID or password/);
    const health = await eventually('health to report the store failing', async () => {
      const r = await api<{ status: string; checks: Record<string, string> }>(a.url, 'GET', '/health');
      return r.status === 503 ? r.body : undefined;
    });
    assert.equal(health.status, 'degraded');
    assert.match(health.checks.store ?? '', /authentication failed/);
    assert.equal(a.proc.exitCode, null, 'the agent is still running');
  });

  test('no TLS against an etcd that requires it: /health explains', async () => {
    const a = await startClusterAgent({ endpoints: etcd!.endpoints, keyspace, name: 'no-tls', extra: backendFlags(PASSWORD, false) });
    agents.push(a);
    const health = await eventually('health to report the store failing', async () => {
      const r = await api<{ checks: Record<string, string> }>(a.url, 'GET', '/health');
      return r.status === 503 ? r.body : undefined;
    });
    assert.match(health.checks.store ?? '', /speaks TLS but this client connects without it/);
    assert.equal(a.proc.exitCode, null, 'the agent is still running');
  });
});
