import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShellExecutor } from '../../src/executors/shell.js';
import { formatBytes, memoryExceededNote, parseMemoryLimit, processTreeRss } from '../../src/executors/shell-memory.js';
import { parsePayload } from '../../src/executors/shell-payload.js';
import { parseSu, resolveSu, switchProblem } from '../../src/executors/shell-user.js';
import type { ExecutionRequest } from '../../src/executors/types.js';
import { isDead } from '../helpers/agent.js';
import { executionRequest } from '../helpers/execution-request.js';

// dkron's remaining shell keys: mem_limit, su, payload (and cwd failures).

const request = (config: Record<string, string>, extra: Partial<ExecutionRequest> = {}): ExecutionRequest =>
  executionRequest(config, { jobName: 'job-keys', ...extra });

async function assertDiesSoon(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (isDead(pid)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone between the last check and now.
  }
  assert.fail(`process ${pid} survived the run`);
}

const isRoot = process.getuid?.() === 0;
const MB = 1024 * 1024;
const shell = new ShellExecutor({ memCheckIntervalMs: 50 });

// Node touches every page of a filled buffer, so the allocation is resident (calloc'd memory would not be).
function allocator(mb: number): string {
  return `node -e 'const b = Buffer.alloc(${mb} * 1024 * 1024, 1); console.log(process.pid); setInterval(() => b[0]++, 1000)'`;
}

void test('mem_limit parses bytes and binary units, any case, decimals allowed', () => {
  assert.equal(parseMemoryLimit(undefined), null);
  assert.equal(parseMemoryLimit(''), null);
  assert.equal(parseMemoryLimit('1024'), 1024);
  assert.equal(parseMemoryLimit('10B'), 10);
  assert.equal(parseMemoryLimit('512kb'), 512 * 1024);
  assert.equal(parseMemoryLimit('2K'), 2048);
  assert.equal(parseMemoryLimit('100M'), 100 * MB);
  assert.equal(parseMemoryLimit('1.5G'), 1.5 * 1024 * MB);
  assert.equal(parseMemoryLimit('.5GB'), 512 * MB);
  assert.equal(parseMemoryLimit('1TB'), 1024 ** 4);
  assert.equal(parseMemoryLimit(' 64MB '), 64 * MB);
});

void test('formatBytes and the exceeded note read like the limit', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(210 * MB + 12345), '210 MB');
  assert.equal(formatBytes(1.5 * 1024 * MB), '1.5 GB');
  assert.equal(
    memoryExceededNote(210 * MB, 100 * MB),
    'memory limit exceeded: 210 MB used > 100 MB limit. Job was killed.',
  );
  // Equal after rounding: exact bytes instead of "100 MB used > 100 MB limit".
  assert.equal(
    memoryExceededNote(100 * MB + 10, 100 * MB),
    `memory limit exceeded: ${100 * MB + 10} bytes used > ${100 * MB} bytes limit. Job was killed.`,
  );
});

void test('mem_limit kills the process tree once it allocates past the limit', async () => {
  // sh stays the parent (a command follows node), so the allocation is in a grandchild of the run.
  // The timeout only bounds the test if the limit never fires.
  const out = await shell.execute(
    request({ command: `${allocator(200)}; echo after`, shell: 'true', mem_limit: '100M', timeout: '30s' }),
  );
  assert.equal(out.success, false);
  assert.equal(out.exitCode, null);
  const lines = out.output.trim().split('\n');
  // Just past the limit, both round to "100 MB": the note then gives exact bytes.
  assert.match(lines.at(-1) ?? '', /^memory limit exceeded: (\d+(\.\d)? MB used > 100 MB|\d+ bytes used > 104857600 bytes) limit\. Job was killed\.$/);
  const m = /exceeded: ([\d.]+) (MB|bytes)/.exec(out.output);
  const used = Number(m?.[1]) / (m?.[2] === 'bytes' ? 1024 * 1024 : 1);
  assert.ok(used > 100 && used < 1024, `reported usage ${used} MB`);
  assert.doesNotMatch(out.output, /after/, 'the shell was killed with its child');
  await assertDiesSoon(Number(lines[0]));
});

void test('a run under its mem_limit is unaffected across several checks', async () => {
  // ~10 checks at 50 ms while a small tree (sh + sleep) runs.
  const out = await shell.execute(request({ command: 'sleep 0.5; echo ok', shell: 'true', mem_limit: '100M' }));
  assert.equal(out.success, true);
  assert.equal(out.exitCode, 0);
  assert.equal(out.output, 'ok\n');
});

void test('processTreeRss counts descendants, including ones that left the group', async () => {
  const { spawn } = await import('node:child_process');
  // setsid moves the allocating child out of the group; its parent chain still leads to the root.
  const child = spawn('sh', ['-c', `setsid ${allocator(60)}; true`], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  const root = child.pid as number;
  let allocatorPid = 0;
  try {
    // The allocator prints its pid once its memory is resident.
    allocatorPid = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    assert.notEqual(readFileSync(`/proc/${allocatorPid}/stat`, 'utf8').split(') ')[1]?.split(' ')[2], String(root), 'left the group');
    const rss = await processTreeRss(root);
    assert.ok(rss >= 60 * MB, `tree rss ${rss} covers the 60 MB allocation`);
    assert.ok(rss < 1024 * MB, `tree rss ${rss} is not the whole host`);
  } finally {
    // Killing the group does not reach the setsid'ed allocator: it goes by pid.
    if (allocatorPid > 0) process.kill(allocatorPid, 'SIGKILL');
    process.kill(-root, 'SIGKILL');
  }
});

void test('payload is decoded onto stdin, which is then closed', async () => {
  const text = 'hello\nwörld\n';
  const out = await shell.execute(request({ command: 'cat', payload: Buffer.from(text).toString('base64') }));
  assert.equal(out.success, true);
  assert.equal(out.output, text);

  // No payload: stdin is /dev/null, so cat ends at once instead of waiting.
  const none = await shell.execute(request({ command: 'cat', timeout: '10s' }));
  assert.equal(none.success, true);
  assert.equal(none.output, '');
});

void test('a job that ignores a large payload does not break the run', async () => {
  // Bigger than a pipe buffer: writing to the exited job fails with EPIPE, which must be swallowed.
  const payload = Buffer.alloc(4 * MB, 7).toString('base64');
  const out = await shell.execute(request({ command: 'echo done', payload }));
  assert.equal(out.success, true);
  assert.equal(out.output, 'done\n');
});

void test('payload validation is strict base64', () => {
  assert.equal(parsePayload(undefined), null);
  assert.deepEqual(parsePayload('aGk='), Buffer.from('hi'));
  assert.deepEqual(parsePayload('aGVs\nbG8='), Buffer.from('hello'));
  assert.equal((parsePayload('aGk') as { field: string }).field, 'executor_config.payload');
  assert.equal((parsePayload('not base64!') as { field: string }).field, 'executor_config.payload');
  for (const bad of ['A===', '====', 'aG=k', 'aGk=aGk=', 'aGVsbG8']) {
    assert.ok(!Buffer.isBuffer(parsePayload(bad)), `"${bad}" is refused`);
  }
  // Megabytes of payload validate without exhausting the regexp engine.
  const big = Buffer.alloc(3 * MB, 1);
  assert.deepEqual(parsePayload(big.toString('base64')), big);
});

void test('su runs the job as another user and group', { skip: !isRoot && 'needs root' }, async () => {
  const out = await shell.execute(request({ command: 'id -un', su: 'nobody' }));
  assert.equal(out.success, true, out.output);
  assert.equal(out.output, 'nobody\n');

  const expectedUid = readFileSync('/etc/passwd', 'utf8').match(/^nobody:[^:]*:(\d+):(\d+):/m);
  const numeric = await shell.execute(request({ command: 'sh -c "id -u; id -g"', su: `${expectedUid?.[1]}:0` }));
  assert.equal(numeric.output, `${expectedUid?.[1]}\n0\n`);

  // A group without an account: only the id is known, which is allowed for numeric ids.
  const bare = await shell.execute(request({ command: 'sh -c "id -u; id -g"', su: '54321:54322' }));
  assert.equal(bare.success, true, bare.output);
  assert.equal(bare.output, '54321\n54322\n');
});

void test('su failures name the account and happen before anything runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kairos-su-'));
  try {
    const marker = join(dir, 'ran');
    const out = await shell.execute(request({ command: `touch ${marker}`, shell: 'true', su: 'no-such-user-kairos' }));
    assert.equal(out.success, false);
    assert.equal(out.exitCode, null);
    assert.equal(out.output, 'su: unknown user "no-such-user-kairos" on this agent\n');
    assert.throws(() => readFileSync(marker), { code: 'ENOENT' });

    const badGroup = await shell.execute(request({ command: 'true', su: 'nobody:no-such-group-kairos' }));
    assert.equal(badGroup.output, 'su: unknown group "no-such-group-kairos" on this agent\n');

    const bareUid = await shell.execute(request({ command: 'true', su: '54321' }));
    assert.match(bareUid.output, /^su: uid 54321 has no account on this agent/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('su resolves from /etc files without getent', async () => {
  const viaFiles = await resolveSu({ user: 'root' }, { useGetent: false });
  assert.deepEqual(viaFiles, { uid: 0, gid: 0 });
  const byId = await resolveSu({ user: '0', group: 'root' }, { useGetent: false });
  assert.deepEqual(byId, { uid: 0, gid: 0 });
  await assert.rejects(resolveSu({ user: 'no-such-user-kairos' }, { useGetent: false }), /unknown user "no-such-user-kairos"/);
});

void test('only a root agent may switch users', () => {
  const nobody = { uid: 65534, gid: 65534 };
  assert.equal(switchProblem('nobody', nobody, { uid: 0, gid: 0 }), null);
  assert.equal(switchProblem('me', { uid: 1000, gid: 1000 }, { uid: 1000, gid: 1000 }), null);
  assert.equal(
    switchProblem('nobody', nobody, { uid: 1000, gid: 1000 }),
    'su: running as "nobody" (uid 65534, gid 65534) needs an agent running as root; this agent runs as uid 1000',
  );
  assert.match(switchProblem('me:other', { uid: 1000, gid: 5 }, { uid: 1000, gid: 1000 }) ?? '', /needs an agent running as root/);
});

void test('a missing cwd fails clearly, with and without a shell', async () => {
  for (const shellFlag of ['true', 'false']) {
    const out = await shell.execute(request({ command: 'echo hi', shell: shellFlag, cwd: '/no/such/dir-kairos' }));
    assert.equal(out.success, false);
    assert.equal(out.exitCode, null);
    assert.match(out.output, /cwd "\/no\/such\/dir-kairos" does not exist/);
  }
});

void test('validate names mem_limit, su and payload', () => {
  assert.equal(shell.validate({ command: 'x', mem_limit: '1.5G', su: 'nobody:nogroup', payload: 'aGk=' }), null);
  assert.equal(shell.validate({ command: 'x', mem_limit: '', su: '', payload: '' }), null);
  assert.equal(shell.validate({ command: 'x', su: '1000' }), null);
  // Accounts are per agent: an unknown name is only refused when the job runs.
  assert.equal(shell.validate({ command: 'x', su: 'someone-elsewhere' }), null);

  for (const bad of ['abc', '0', '-1', '10 MB', '1.5X', '1.2.3M', '0.1B']) {
    const problem = shell.validate({ command: 'x', mem_limit: bad });
    assert.equal(problem?.field, 'executor_config.mem_limit', bad);
    assert.match(problem?.message ?? '', /^Error parsing job memory limit value: /);
    assert.ok(problem?.message.includes(bad.trim()), `message names "${bad}": ${problem?.message}`);
  }
  for (const bad of ['a:b:c', ':wheel', 'user:', 'two words', '-x', 'a/b']) {
    const problem = shell.validate({ command: 'x', su: bad });
    assert.equal(problem?.field, 'executor_config.su', bad);
    assert.ok(problem?.message.includes(`"${bad}"`), problem?.message);
  }
  assert.deepEqual(parseSu('www-data'), { user: 'www-data' });
  assert.deepEqual(parseSu('app:staff'), { user: 'app', group: 'staff' });

  const payload = shell.validate({ command: 'x', payload: 'hello world' });
  assert.equal(payload?.field, 'executor_config.payload');
  assert.match(payload?.message ?? '', /"hello world"/);
});

void test('invalid new keys at run time fail instead of throwing', async () => {
  const out = await shell.execute(request({ command: 'true', mem_limit: 'lots' }));
  assert.equal(out.success, false);
  assert.match(out.output, /^executor_config\.mem_limit: Error parsing job memory limit value/);
});
