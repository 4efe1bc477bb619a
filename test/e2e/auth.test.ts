/**
 * Tokens, roles, scopes, the audit log and limits, against the real binary.
 * One table states the expected status of every route for no token, a wrong
 * token and each role; the test walks it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { api, BIN, ROOT, removeDir, shellJob, startAgent, stopAndRemove, tempDir, type AgentHandle } from '../helpers/agent.js';

/** `kairos token create` against a data dir; returns the secret (stdout's only line). */
function createToken(dataDir: string, name: string, role: string, scope: string[] = []): string {
  const res = spawnSync(process.execPath, [BIN, 'token', 'create', '--name', name, '--role', role, '--data-dir', dataDir, ...scope.flatMap((s) => ['--scope', s])], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(res.status, 0, res.stderr);
  const secret = res.stdout.trim();
  assert.match(secret, /^kairos_[A-Za-z0-9_-]{43}$/);
  assert.match(res.stderr, new RegExp(`Token "${name}"`));
  return secret;
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

type Who = 'none' | 'wrong' | 'read' | 'operate' | 'admin';
const WHO: Who[] = ['none', 'wrong', 'read', 'operate', 'admin'];

interface Row {
  method: string;
  /** `{who}` is replaced by the caller's column name, so rows that consume a resource get one each. */
  path: string;
  body?: unknown;
  /** Expected status for read, operate, admin; `null`: don't call (e.g. leave would stop the agent). */
  expect: [number, number, number | null];
  /** Public routes answer without a token too. */
  public?: number;
}

const J = shellJob('auth-job', 'echo hi');
const ROWS: Row[] = [
  { method: 'GET', path: '/health', expect: [200, 200, 200], public: 200 },
  { method: 'GET', path: '/ui/', expect: [200, 200, 200], public: 200 },
  { method: 'GET', path: '/v1', expect: [200, 200, 200] },
  { method: 'GET', path: '/v1/jobs', expect: [200, 200, 200] },
  { method: 'GET', path: '/v1/jobs/auth-job', expect: [200, 200, 200] },
  { method: 'GET', path: '/v1/jobs/auth-job/executions', expect: [200, 200, 200] },
  { method: 'GET', path: '/v1/jobs/auth-job/executions/nope', expect: [404, 404, 404] },
  { method: 'GET', path: '/v1/members', expect: [200, 200, 200] },
  { method: 'GET', path: '/v1/leader', expect: [200, 200, 200] },
  { method: 'GET', path: '/v1/isleader', expect: [200, 200, 200] },
  { method: 'GET', path: '/v1/busy', expect: [200, 200, 200] },
  { method: 'GET', path: '/v1/pause', expect: [200, 200, 200] },
  { method: 'GET', path: '/v1/audit', expect: [200, 200, 200] },
  { method: 'GET', path: '/v1/auth/whoami', expect: [200, 200, 200] },
  { method: 'GET', path: '/v1/no-such-route', expect: [404, 404, 404] },
  { method: 'GET', path: '/v1/tokens', expect: [403, 403, 200] },
  { method: 'POST', path: '/v1/jobs', body: shellJob('made-by-{who}', 'true'), expect: [403, 403, 201] },
  { method: 'PATCH', path: '/v1/jobs', body: shellJob('patched-by-{who}', 'true'), expect: [403, 403, 201] },
  { method: 'PUT', path: '/v1/jobs/put-by-{who}', body: shellJob('put-by-{who}', 'true'), expect: [403, 403, 201] },
  { method: 'POST', path: '/v1/jobs/auth-job', expect: [403, 202, 202] },
  { method: 'POST', path: '/v1/jobs/auth-job/run?force=true', expect: [403, 202, 202] },
  { method: 'POST', path: '/v1/jobs/auth-job/toggle', expect: [403, 200, 200] },
  { method: 'POST', path: '/v1/pause', expect: [403, 200, 200] },
  { method: 'POST', path: '/v1/unpause', expect: [403, 200, 200] },
  { method: 'DELETE', path: '/v1/jobs/auth-job/executions', expect: [403, 403, 200] },
  { method: 'DELETE', path: '/v1/jobs/victim-{who}', expect: [403, 403, 200] },
  { method: 'POST', path: '/v1/restore', body: [shellJob('restored-{who}', 'true')], expect: [403, 403, 200] },
  { method: 'POST', path: '/v1/tokens', body: { name: 'new-{who}', role: 'read' }, expect: [403, 403, 201] },
  { method: 'DELETE', path: '/v1/tokens/spare-{who}', expect: [403, 403, 200] },
  { method: 'POST', path: '/v1/leave', expect: [403, 403, null] },
];

describe('API tokens and roles', () => {
  let agent: AgentHandle;
  let dir: string;
  const tokens: Partial<Record<Who, string>> = {};

  before(async () => {
    dir = tempDir();
    agent = await startAgent({ dataDir: dir, args: ['--tag', 'team=data'] });
    // Before any token exists the API is open (loopback default), so set-up goes through it.
    for (const body of [J, ...['read', 'operate', 'admin'].map((w) => shellJob(`victim-${w}`, 'true'))]) {
      assert.equal((await api(agent.url, 'POST', '/v1/jobs', body)).status, 201);
    }
    const adminToken = createToken(dir, 'root-admin', 'admin');
    tokens.admin = adminToken;
    for (const role of ['read', 'operate'] as const) {
      const res: { status: number; body: { token: string; role: string } } = await api<{ token: string; role: string }>(agent.url, 'POST', '/v1/tokens', { name: `t-${role}`, role }, bearer(adminToken));
      assert.equal(res.status, 201);
      assert.equal(res.body.role, role);
      tokens[role] = res.body.token;
    }
    for (const w of ['read', 'operate', 'admin']) {
      assert.equal((await api(agent.url, 'POST', '/v1/tokens', { name: `spare-${w}`, role: 'read' }, bearer(adminToken))).status, 201);
    }
    tokens.wrong = `kairos_${'x'.repeat(43)}`;
  });

  after(() => stopAndRemove(agent, dir));

  test('every (route, caller) pair answers as the table says', async () => {
    const failures: string[] = [];
    for (const who of WHO) {
      for (const row of ROWS) {
        const column = { read: 0, operate: 1, admin: 2 }[who as 'read'];
        const expected = who === 'none' || who === 'wrong' ? (row.public ?? 401) : row.expect[column];
        if (expected === null || expected === undefined) continue;
        const path = row.path.replaceAll('{who}', who);
        const body = row.body === undefined ? undefined : JSON.parse(JSON.stringify(row.body).replaceAll('{who}', who));
        const res = await api<{ code?: string }>(agent.url, row.method, path, body, who === 'none' ? {} : bearer(tokens[who] as string));
        if (res.status !== expected) failures.push(`${who} ${row.method} ${path}: ${res.status} (expected ${expected}) ${JSON.stringify(res.body)}`);
        else if (expected === 401) assert.equal(res.body.code, who === 'none' ? 'KAIROS_AUTH_REQUIRED' : 'KAIROS_AUTH_INVALID');
        else if (expected === 403) assert.equal(res.body.code, 'KAIROS_ROLE_TOO_LOW', `${who} ${row.method} ${path}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  test('whoami names the caller; a malformed header is 401 once tokens exist', async () => {
    const me = await api<{ name: string; role: string; auth_required: boolean }>(agent.url, 'GET', '/v1/auth/whoami', undefined, bearer(tokens.operate as string));
    assert.deepEqual([me.body.name, me.body.role, me.body.auth_required], ['t-operate', 'operate', true]);
    const basic = await api<{ code: string }>(agent.url, 'GET', '/v1/jobs', undefined, { authorization: 'Basic YTpi' });
    assert.equal(basic.status, 401);
    assert.equal(basic.body.code, 'KAIROS_AUTH_INVALID');
    const listed = await api<{ name: string; hash?: string }[]>(agent.url, 'GET', '/v1/tokens', undefined, bearer(tokens.admin as string));
    assert.ok(listed.body.some((t) => t.name === 't-read'));
    assert.ok(listed.body.every((t) => t.hash === undefined), 'the API never shows hashes');
  });

  test('a revoked token stops working', async () => {
    const res = await api<{ token: string }>(agent.url, 'POST', '/v1/tokens', { name: 'short-lived', role: 'read' }, bearer(tokens.admin as string));
    assert.equal((await api(agent.url, 'GET', '/v1/jobs', undefined, bearer(res.body.token))).status, 200);
    const dup = await api<{ code: string }>(agent.url, 'POST', '/v1/tokens', { name: 'short-lived', role: 'admin' }, bearer(tokens.admin as string));
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, 'KAIROS_TOKEN_EXISTS');
    assert.equal((await api(agent.url, 'DELETE', '/v1/tokens/short-lived', undefined, bearer(tokens.admin as string))).status, 200);
    const after = await api<{ code: string }>(agent.url, 'GET', '/v1/jobs', undefined, bearer(res.body.token));
    assert.equal(after.status, 401);
    assert.equal(after.body.code, 'KAIROS_AUTH_INVALID');
  });

  test('a scoped token sees and touches only jobs with its tags', async () => {
    const admin = bearer(tokens.admin as string);
    assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob('data-job', 'echo data', { tags: { team: 'data' } }), admin)).status, 201);
    assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob('web-job', 'echo web', { tags: { team: 'web' } }), admin)).status, 201);
    const scopedAdmin = bearer(createToken(dir, 'data-admin', 'admin', ['team=data']));
    const scopedOp = bearer(createToken(dir, 'data-operator', 'operate', ['team=data']));

    const list = await api<{ name: string }[]>(agent.url, 'GET', '/v1/jobs', undefined, scopedOp);
    assert.deepEqual(list.body.map((j) => j.name), ['data-job']);
    assert.equal(list.headers.get('x-total-count'), '1');
    for (const [method, path] of [
      ['GET', '/v1/jobs/web-job'],
      ['GET', '/v1/jobs/web-job/executions'],
      ['POST', '/v1/jobs/web-job'],
      ['POST', '/v1/jobs/web-job/toggle'],
    ] as const) {
      const res = await api<{ code: string }>(agent.url, method, path, undefined, scopedOp);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.code, 'KAIROS_JOB_NOT_FOUND');
    }
    for (const [method, path, body] of [
      ['DELETE', '/v1/jobs/web-job', undefined],
      ['POST', '/v1/jobs', shellJob('web-job', 'echo mine now', { tags: { team: 'data' } })],
      ['POST', '/v1/jobs', shellJob('untagged', 'true')],
      ['POST', '/v1/jobs', shellJob('other', 'true', { tags: { team: 'web' } })],
      ['POST', '/v1/jobs', shellJob('child', 'true', { tags: { team: 'data' }, parent_job: 'web-job' })],
      ['POST', '/v1/pause', undefined],
      ['POST', '/v1/tokens', { name: 'x', role: 'read' }],
    ] as const) {
      const res = await api<{ code: string }>(agent.url, method, path, body, scopedAdmin);
      assert.ok([403, 404].includes(res.status), `${method} ${path} ${JSON.stringify(body)}: ${res.status}`);
      assert.ok(['KAIROS_OUT_OF_SCOPE', 'KAIROS_JOB_NOT_FOUND', 'KAIROS_PARENT_NOT_FOUND'].includes(res.body.code), res.body.code);
    }
    const web = await api<{ executor_config: { command: string }; disabled: boolean }>(agent.url, 'GET', '/v1/jobs/web-job', undefined, admin);
    assert.equal(web.body.executor_config.command, 'echo web', 'the out-of-scope job is untouched');
    assert.equal(web.body.disabled, false);
    // Inside the scope everything works.
    assert.equal((await api(agent.url, 'POST', '/v1/jobs/data-job', undefined, scopedOp)).status, 202);
    assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob('data-two', 'true', { tags: { team: 'data' } }), scopedAdmin)).status, 201);
    const audit = await api<{ job: string | null }[]>(agent.url, 'GET', '/v1/audit', undefined, scopedOp);
    assert.ok(audit.body.length > 0);
    assert.ok(audit.body.every((e) => e.job === 'data-job' || e.job === 'data-two'), JSON.stringify(audit.body.map((e) => e.job)));
  });

  test('secrets are never stored or logged in clear text', async () => {
    const secrets = Object.values(tokens).filter((t) => t !== tokens.wrong) as string[];
    assert.ok(secrets.length >= 3);
    const files = readdirSync(dir).map((f) => join(dir, f));
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const s of secrets) assert.equal(bytes.includes(s), false, `${file} holds a token secret`);
    }
    const log = agent.logs.join('\n');
    for (const s of secrets) assert.equal(log.includes(s), false, 'the agent log holds a token secret');
    assert.match(log, /API token created/, 'token creation is logged (by name)');
  });
});

describe('audit log', () => {
  test('create, update and delete are recorded with the token name and survive a restart', async () => {
    const dir = tempDir();
    let agent = await startAgent({ dataDir: dir });
    try {
      const alice = bearer(createToken(dir, 'alice', 'admin'));
      const bob = bearer(createToken(dir, 'bob', 'admin'));
      assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob('audited', 'echo one'), alice)).status, 201);
      assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob('audited', 'echo two'), bob)).status, 201);
      assert.equal((await api(agent.url, 'POST', '/v1/jobs/audited/toggle', undefined, bob)).status, 200);
      assert.equal((await api(agent.url, 'DELETE', '/v1/jobs/audited', undefined, alice)).status, 200);
      assert.equal(await agent.stop('SIGTERM'), 0);
      agent = await startAgent({ dataDir: dir });
      type Entry = { actor: string; action: string; before: { executor_config?: { command: string } } | null; after: { executor_config?: { command: string } } | null };
      const res = await api<Entry[]>(agent.url, 'GET', '/v1/audit?job=audited', undefined, alice);
      assert.deepEqual(
        res.body.map((e) => `${e.actor} ${e.action}`),
        ['alice job.delete', 'bob job.toggle', 'bob job.update', 'alice job.create'],
      );
      const update = res.body[2] as Entry;
      assert.equal(update.before?.executor_config?.command, 'echo one');
      assert.equal(update.after?.executor_config?.command, 'echo two');
      assert.equal(res.body[0]?.after, null);
      const tokensMade = await api<Entry[]>(agent.url, 'GET', '/v1/audit', undefined, alice);
      assert.ok(tokensMade.body.some((e) => e.action === 'token.create' && e.actor.startsWith('cli:')));
    } finally {
      await stopAndRemove(agent, dir);
    }
  });
});

describe('limits', () => {
  test('--max-jobs and --run-rate-limit answer 4xx naming the limit, and are counted', async () => {
    const dir = tempDir();
    const agent = await startAgent({ dataDir: dir, args: ['--max-jobs', '2', '--run-rate-limit', '2'] });
    try {
      for (const n of ['l1', 'l2']) assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob(n, 'true'))).status, 201);
      const third = await api<{ code: string; error: string; message: string }>(agent.url, 'POST', '/v1/jobs', shellJob('l3', 'true'));
      assert.equal(third.status, 403);
      assert.equal(third.body.code, 'KAIROS_LIMIT_MAX_JOBS');
      assert.match(third.body.error, /--max-jobs 2/);
      assert.equal(third.body.message, third.body.error, 'message repeats error for generic admin UIs');
      assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob('l2', 'echo changed'))).status, 201, 'updates are not creates');
      assert.equal((await api(agent.url, 'POST', '/v1/jobs/l1?force=true')).status, 202);
      assert.equal((await api(agent.url, 'POST', '/v1/jobs/l1?force=true')).status, 202);
      const limited = await api<{ code: string; error: string }>(agent.url, 'POST', '/v1/jobs/l1?force=true');
      assert.equal(limited.status, 429);
      assert.equal(limited.body.code, 'KAIROS_RATE_LIMITED');
      assert.match(limited.body.error, /2 per minute/);
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      const info = await api<{ limit_hits: Record<string, number> }>(agent.url, 'GET', '/v1');
      assert.deepEqual(info.body.limit_hits, { 'max-jobs': 1, 'run-rate-limit': 1 });
    } finally {
      await stopAndRemove(agent, dir);
    }
  });
});

describe('binding beyond loopback', () => {
  test('without auth it warns at start and in GET /v1; --auth required refuses to start', async () => {
    const dir = tempDir();
    const agent = await startAgent({ dataDir: dir, args: ['--http-addr', '0.0.0.0:0'] });
    try {
      await agent.waitForLog(/WARNING: this agent listens beyond loopback with no API token/);
      const info = await api<{ security: { warning?: string; auth: string } }>(agent.url, 'GET', '/v1');
      assert.match(info.body.security.warning ?? '', /anyone who can reach it can run commands/);
      assert.equal(info.body.security.auth, 'none');
    } finally {
      await stopAndRemove(agent, dir);
    }
    const dir2 = tempDir();
    try {
      const res = spawnSync(process.execPath, [BIN, 'agent', '--server', '--data-dir', dir2, '--http-addr', '0.0.0.0:0', '--auth', 'required'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
      assert.equal(res.status, 1);
      assert.match(res.stdout + res.stderr, /--auth required: refusing to listen on 0\.0\.0\.0/);
      // With a token in the store, the same start succeeds.
      createToken(dir2, 'ops', 'admin');
      const ok = await startAgent({ dataDir: dir2, args: ['--http-addr', '0.0.0.0:0', '--auth', 'required'] });
      const info = await api<{ security: { warning?: string; auth: string } }>(ok.url, 'GET', '/v1');
      assert.equal(info.status, 401);
      assert.equal(await ok.stop('SIGTERM'), 0);
    } finally {
      removeDir(dir2);
    }
  });
});
