/**
 * The `kairos` client commands, run as processes against a real agent that
 * requires tokens: tables and `-o json|yaml|wide`, exit codes (not found 3,
 * auth 4, conflict 5, usage 2), --token / KAIROS_TOKEN, logs, completion.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { api, BIN, eventually, shellJob, startAgent, stopAndRemove, tempDir, type AgentHandle, finishedRun } from '../helpers/agent.js';
import { kairos, kairosOk } from '../helpers/cli.js';
import { makeCerts } from '../helpers/certs.js';

let agent: AgentHandle | undefined;
let dir = '';
let admin = '';
let reader = '';
let A: string[] = [];
const auth = (): Record<string, string> => ({ authorization: `Bearer ${admin}` });

function createToken(dataDir: string, name: string, role: string): string {
  const r = spawnSync(process.execPath, [BIN, 'token', 'create', '--name', name, '--role', role, '--data-dir', dataDir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

before(async () => {
  dir = tempDir('kairos-cli-');
  admin = createToken(dir, 't', 'admin');
  reader = createToken(dir, 'r', 'read');
  agent = await startAgent({ dataDir: dir });
  A = ['--address', agent.url, '--token', admin];
  for (const job of [shellJob('alpha', 'echo alpha-output'), shellJob('beta', 'echo beta', { tags: { team: 'b' } }), shellJob('kid', 'echo kid', { parent_job: 'alpha', schedule: '' })]) {
    const r: { status: number; body: unknown } = await api(agent.url, 'POST', '/v1/jobs', job, auth());
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
});

after(() => stopAndRemove(agent, dir));

test('jobs ls: a table by default, json, yaml and wide on request', async () => {
  const table = await kairosOk(['jobs', 'ls', ...A]);
  const lines = table.stdout.trim().split('\n');
  assert.match(lines[0] ?? '', /^NAME\s+SCHEDULE\s+STATUS\s+NEXT/);
  assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[0]), ['alpha', 'beta', 'kid']);
  const json = JSON.parse((await kairosOk(['jobs', 'ls', '-o', 'json', ...A])).stdout) as { name: string }[];
  assert.deepEqual(json.map((j) => j.name), ['alpha', 'beta', 'kid']);
  const yaml = parseYaml((await kairosOk(['jobs', 'ls', '-o', 'yaml', ...A])).stdout) as { name: string }[];
  assert.deepEqual(yaml.map((j) => j.name), ['alpha', 'beta', 'kid']);
  const wide = await kairosOk(['jobs', 'ls', '-o', 'wide', ...A]);
  assert.match(wide.stdout.split('\n')[0] ?? '', /TAGS/);
  assert.match(wide.stdout, /team=b/);
  const filtered = JSON.parse((await kairosOk(['jobs', 'ls', '-q', 'bet', '-o', 'json', ...A])).stdout) as { name: string }[];
  assert.deepEqual(filtered.map((j) => j.name), ['beta']);
});

test('jobs get: every field, as a table or json', async () => {
  const table = await kairosOk(['jobs', 'get', 'alpha', ...A]);
  assert.match(table.stdout, /^FIELD\s+VALUE/);
  assert.match(table.stdout, /dependent_jobs\s+kid/);
  const job = JSON.parse((await kairosOk(['jobs', 'get', 'alpha', '-o', 'json', ...A])).stdout) as { name: string; dependent_jobs: string[] };
  assert.equal(job.name, 'alpha');
  assert.deepEqual(job.dependent_jobs, ['kid']);
});

test('jobs run, executions and logs: the output of the latest or a given execution', async () => {
  const ran = JSON.parse((await kairosOk(['jobs', 'run', 'alpha', '-o', 'json', ...A])).stdout) as { name: string };
  assert.equal(ran.name, 'alpha');
  const execs = await eventually('a finished run of alpha', async () => {
    const r = await kairosOk(['jobs', 'executions', 'alpha', '-o', 'json', ...A]);
    const list = JSON.parse(r.stdout) as { id: string; finished_at: string | null; success: boolean }[];
    return list.length > 0 && list.every((e) => finishedRun(e)) ? list : null;
  });
  assert.equal(execs[0]?.success, true);
  const table = await kairosOk(['jobs', 'executions', 'alpha', ...A]);
  assert.match(table.stdout, /^ID\s+STARTED\s+RESULT/);
  assert.match(table.stdout, /success/);
  assert.equal((await kairosOk(['logs', 'alpha', ...A])).stdout, 'alpha-output\n');
  assert.equal((await kairosOk(['logs', 'alpha', execs[0]?.id ?? '', ...A])).stdout, 'alpha-output\n');
  // -f on a finished execution prints it and exits with its result.
  assert.equal((await kairosOk(['logs', '-f', 'alpha', ...A])).stdout, 'alpha-output\n');
  const none = await kairos(['logs', 'beta', ...A]);
  assert.equal(none.code, 3, 'a job with no executions yet: not found');
  assert.equal((await kairos(['logs', 'alpha', 'no-such-exec', ...A])).code, 3);
});

test('logs -f follows a running execution to its end; its exit code is the result', async () => {
  const slow = { name: 'slow-lines', schedule: '@every 1h', executor: 'shell', executor_config: { shell: 'true', command: 'for i in 1 2 3; do echo line$i; sleep 0.5; done; exit 4' } };
  assert.equal((await api(agent?.url ?? '', 'POST', '/v1/jobs', slow, auth())).status, 201);
  await kairosOk(['jobs', 'run', 'slow-lines', ...A]);
  const follow = await kairos(['logs', '-f', 'slow-lines', ...A]);
  assert.equal(follow.stdout, 'line1\nline2\nline3\n');
  assert.equal(follow.code, 1, 'the execution failed (exit 4)');
  assert.match(follow.stderr, /failed \(exit 4\)/);
  assert.equal((await api(agent?.url ?? '', 'DELETE', '/v1/jobs/slow-lines', undefined, auth())).status, 200);
});

test('jobs toggle and skips', async () => {
  const off = JSON.parse((await kairosOk(['jobs', 'toggle', 'beta', '-o', 'json', ...A])).stdout) as { disabled: boolean };
  assert.equal(off.disabled, true);
  const table = await kairosOk(['jobs', 'toggle', 'beta', ...A]);
  assert.match(table.stderr, /enabled/);
  assert.match(table.stdout, /^NAME/);
  const skips = JSON.parse((await kairosOk(['jobs', 'skips', 'beta', '-o', 'json', ...A])).stdout) as unknown[];
  assert.ok(Array.isArray(skips));
  assert.match((await kairosOk(['jobs', 'skips', 'beta', ...A])).stdout, /^SCHEDULED\s+COUNT\s+CODE\s+REASON/);
});

test('members, leader and status', async () => {
  const members = JSON.parse((await kairosOk(['members', '-o', 'json', ...A])).stdout) as { Name: string }[];
  assert.deepEqual(members.map((m) => m.Name), ['test-node']);
  assert.match((await kairosOk(['members', ...A])).stdout, /^NAME\s+ADDRESS\s+STATUS[\s\S]*test-node\s+\S+\s+alive/);
  const leader = JSON.parse((await kairosOk(['leader', '-o', 'json', ...A])).stdout) as { Name: string };
  assert.equal(leader.Name, 'test-node');
  assert.match((await kairosOk(['leader', ...A])).stdout, /test-node/);
  const status = JSON.parse((await kairosOk(['status', '-o', 'json', ...A])).stdout) as { agent: { name: string }; health: { status: string } };
  assert.equal(status.agent.name, 'test-node');
  assert.equal(status.health.status, 'healthy');
  const table = await kairosOk(['status', ...A]);
  assert.match(table.stdout, /health\s+healthy/);
  assert.match(table.stdout, /auth\s+tokens/);
  const yaml = parseYaml((await kairosOk(['status', '-o', 'yaml', ...A])).stdout) as { leader: boolean };
  assert.equal(yaml.leader, true);
});

test('exit codes: not found 3, auth 4, conflict 5, usage 2, unreachable 1', async () => {
  const missing = await kairos(['jobs', 'get', 'nope', ...A]);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /KAIROS_JOB_NOT_FOUND/);
  const conflict = await kairos(['jobs', 'rm', 'alpha', ...A]);
  assert.equal(conflict.code, 5, conflict.stderr);
  assert.match(conflict.stderr, /KAIROS_JOB_HAS_DEPENDENTS/);
  const noToken = await kairos(['jobs', 'ls', '--address', agent!.url]);
  assert.equal(noToken.code, 4);
  assert.match(noToken.stderr, /KAIROS_AUTH_REQUIRED/);
  assert.equal((await kairos(['jobs', 'ls', '--address', agent!.url, '--token', 'kairos_wrong'])).code, 4);
  const lowRole = await kairos(['jobs', 'rm', 'beta', '--address', agent!.url, '--token', reader]);
  assert.equal(lowRole.code, 4);
  assert.match(lowRole.stderr, /KAIROS_ROLE_TOO_LOW/);
  const file = join(dir, 'one.yaml');
  writeFileSync(file, 'name: from-file\nschedule: "@daily"\nexecutor: shell\nexecutor_config: {command: "true"}\n');
  const readOnlyApply = await kairos(['apply', '-f', file, '--address', agent!.url, '--token', reader]);
  assert.equal(readOnlyApply.code, 4, 'apply needs an admin token');
  assert.equal((await kairos(['apply', ...A])).code, 2, 'apply without -f');
  assert.equal((await kairos(['jobs', 'ls', '--bogus', ...A])).code, 2);
  assert.equal((await kairos(['jobs', 'ls', '-o', 'xml', ...A])).code, 2);
  assert.equal((await kairos(['jobs', 'get', ...A])).code, 2, 'missing argument');
  assert.equal((await kairos(['jobs', 'ls', '--address', 'http://127.0.0.1:1', '--token', admin])).code, 1);
});

test('KAIROS_ADDR and KAIROS_TOKEN stand for --address and --token', async () => {
  const r = await kairosOk(['jobs', 'ls', '-o', 'json'], { env: { KAIROS_ADDR: agent!.url, KAIROS_TOKEN: reader } });
  assert.equal((JSON.parse(r.stdout) as unknown[]).length, 3);
});

test('jobs rm deletes (children first), then the job is not found', async () => {
  const r = await kairosOk(['jobs', 'rm', 'kid', ...A]);
  assert.match(r.stderr, /deleted/);
  const deleted = JSON.parse((await kairosOk(['jobs', 'rm', 'beta', '-o', 'json', ...A])).stdout) as { name: string };
  assert.equal(deleted.name, 'beta');
  assert.equal((await kairos(['jobs', 'get', 'kid', ...A])).code, 3);
});

test('completion: bash and zsh scripts generated from the command tree', async () => {
  const bash = (await kairosOk(['completion', 'bash'])).stdout;
  for (const word of ['jobs', 'apply', 'import', 'crontab', '--output', '--address']) assert.ok(bash.includes(word), word);
  const file = join(dir, 'completion.bash');
  writeFileSync(file, bash);
  const check = spawnSync('bash', ['-c', `source ${file}; COMP_WORDS=(kairos jobs l); COMP_CWORD=2; _kairos_complete; echo "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
  assert.equal(check.stdout.trim(), 'ls list');
  assert.match((await kairosOk(['completion', 'zsh'])).stdout, /^#compdef kairos/);
  assert.equal((await kairos(['completion', 'fish'])).code, 2);
});

test('TLS: --ca trusts the agent, --cert/--key present a client certificate, --insecure skips the check', async () => {
  const certs = makeCerts();
  const tlsDir = tempDir('kairos-cli-tls-');
  let tlsAgent: AgentHandle | undefined;
  try {
    tlsAgent = await startAgent({ dataDir: tlsDir, args: ['--tls-cert', certs.serverCert, '--tls-key', certs.serverKey, '--tls-client-ca', certs.ca] });
    assert.match(tlsAgent.url, /^https:/);
    const base = ['status', '-o', 'json', '--address', tlsAgent.url];
    const ok = await kairosOk([...base, '--ca', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey]);
    assert.equal((JSON.parse(ok.stdout) as { health: { status: string } }).health.status, 'healthy');
    const insecure = await kairos([...base, '--insecure', '--cert', certs.clientCert, '--key', certs.clientKey]);
    assert.equal(insecure.code, 0, insecure.stderr);
    const untrusted = await kairos([...base, '--cert', certs.clientCert, '--key', certs.clientKey]);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /cannot reach/);
    const noClientCert = await kairos([...base, '--ca', certs.ca]);
    assert.equal(noClientCert.code, 1);
    assert.equal((await kairos([...base, '--cert', certs.clientCert])).code, 2, '--cert without --key');
  } finally {
    await stopAndRemove(tlsAgent, tlsDir);
    certs.remove();
  }
});
