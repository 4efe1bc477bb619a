import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { OutputBuffer } from '../../src/executors/output-buffer.js';
import { ShellExecutor, type ShellExecutorOptions } from '../../src/executors/shell.js';
import { SpawnerPool } from '../../src/executors/spawner/spawner-pool.js';
import { inProcessSpawner } from '../../src/executors/spawner/in-process.js';
import { onInstant, writeRelease } from '../../src/executors/spawner/held-start.js';
import type { JobSpawner } from '../../src/executors/spawner/job-spawner.js';
import type { ExecutionRequest } from '../../src/executors/types.js';
import { isDead } from '../helpers/agent.js';
import { executionRequest } from '../helpers/execution-request.js';

const SCHEDULED = new Date('2024-05-06T07:08:09.010Z');

const request = (config: Record<string, string>, extra: Partial<ExecutionRequest> = {}): ExecutionRequest =>
  executionRequest(config, { executionId: 'exec-42', attempt: 2, scheduledAt: SCHEDULED, ...extra });

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kairos-shell-'));
}

/** The argv of every held process whose command line contains `needle` (reads /proc). */
function heldCommandLines(needle: string): string[][] {
  const found: string[][] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes('kairos-held') && argv.some((a) => a.includes(needle))) found.push(argv);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** Pid of the process whose command line contains `needle`, or 0 (reads /proc). */
function heldProcess(needle: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(needle) && cmd.includes('kairos-held')) return Number(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  return 0;
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function assertDiesSoon(pid: number): Promise<void> {
  // SIGKILL delivery is asynchronous; poll with a bound instead of sleeping a fixed time.
  for (let i = 0; i < 200; i++) {
    if (isDead(pid)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone between the last check and now.
  }
  assert.fail(`process ${pid} survived the run`);
}

// Every case runs twice: spawning from this process (`--spawners 0`) and through a spawner pool.
const pool = new SpawnerPool({ size: 2 });
const modes: Array<[string, (o?: ShellExecutorOptions) => ShellExecutor]> = [
  ['in-process', (o = {}) => new ShellExecutor(o)],
  ['spawner pool', (o = {}) => new ShellExecutor({ ...o, spawner: pool })],
];

for (const [mode, make] of modes) {
  void describe(`shell executor (${mode})`, () => {
    const shell = make();
    if (mode === 'spawner pool') {
      before(() => pool.whenReady());
      after(() => pool.close());
    }

    void test('shell=true runs through /bin/sh: pipes and $VAR expansion', async () => {
      const out = await shell.execute(
        request({ command: 'echo hello | tr a-z A-Z; echo "$FOO-$HOME"', shell: 'true', env: 'FOO=bar' }),
      );
      assert.equal(out.success, true);
      assert.equal(out.exitCode, 0);
      assert.equal(out.output, `HELLO\nbar-${process.env.HOME ?? ''}\n`);
      assert.equal(out.truncated, false);
    });

    void test('shell=false splits argv like a shell, without running one', async () => {
      const out = await shell.execute(request({ command: `printf '%s|' "a b" c` }));
      assert.equal(out.success, true);
      assert.equal(out.output, 'a b|c|');

      const escaped = await shell.execute(request({ command: String.raw`printf '%s|' a\ b "x\"y" 'q'"r"`, shell: 'false' }));
      assert.equal(escaped.output, 'a b|x"y|qr|');
    });

    void test('shell=false leaves variables for the program, as dkron does', async () => {
      const out = await shell.execute(request({ command: `sh -c 'echo "$X"'`, env: 'X=1' }));
      assert.equal(out.output, '1\n');
      const literal = await shell.execute(request({ command: 'printf %s $X', env: 'X=1' }));
      assert.equal(literal.success, true);
      // Braced, but any shell that later sees the argument reads it the same way.
      assert.equal(literal.output, '${X}');
    });

    void test('shell=false rejects operators and globs with a clear outcome', async () => {
      const piped = await shell.execute(request({ command: 'echo a | tr a b' }));
      assert.equal(piped.success, false);
      assert.equal(piped.exitCode, null);
      assert.match(piped.output, /shell operator "\|"/);

      const globbed = await shell.execute(request({ command: 'ls *.ts' }));
      assert.equal(globbed.success, false);
      assert.match(globbed.output, /glob "\*\.ts"/);
    });

    void test('env config entries are added to the environment', async () => {
      const out = await shell.execute(request({ command: 'echo "$K|$K2|$PATH"', shell: 'true', env: 'K=V,K2=a=b,' }));
      assert.equal(out.output, `V|a=b|${process.env.PATH ?? ''}\n`);
    });

    void test('KAIROS_* and ENV_JOB_NAME describe the run', async () => {
      const out = await shell.execute(
        request({
          command:
            'echo "$KAIROS_JOB_NAME|$KAIROS_EXECUTION_ID|$KAIROS_NODE_NAME|$KAIROS_ATTEMPT|$KAIROS_SCHEDULED_AT|$ENV_JOB_NAME"',
          shell: 'true',
        }),
      );
      assert.equal(out.output, 'job-1|exec-42|node-a|2|2024-05-06T07:08:09.010Z|job-1\n');
    });

    void test('cwd sets the working directory', async () => {
      const dir = tempDir();
      try {
        const out = await shell.execute(request({ command: 'pwd', cwd: dir }));
        assert.equal(out.success, true);
        assert.equal(realpathSync(out.output.trim()), realpathSync(dir));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    void test('a non-zero exit is a failure carrying the exit code', async () => {
      const out = await shell.execute(request({ command: 'echo oops; exit 3', shell: 'true' }));
      assert.equal(out.success, false);
      assert.equal(out.exitCode, 3);
      assert.equal(out.output, 'oops\n');
    });

    void test('stderr is captured interleaved with stdout in arrival order', async () => {
      // Separate pipes are read independently, so the child pauses between writes
      // to make arrival order match write order.
      const out = await shell.execute(
        request({ command: 'echo a; sleep 0.05; echo b >&2; sleep 0.05; echo c', shell: 'true' }),
      );
      assert.equal(out.output, 'a\nb\nc\n');
    });

    void test('output is capped to the last outputLimit bytes', async () => {
      const chunks: Buffer[] = [];
      const out = await shell.execute(
        request(
          { command: `awk 'BEGIN { for (i = 0; i < 100000; i++) printf "%c", 97 + i % 26 }'` },
          { outputLimit: 1000, onOutput: (c) => chunks.push(c) },
        ),
      );
      let all = '';
      for (let i = 0; i < 100000; i++) all += String.fromCharCode(97 + (i % 26));
      assert.equal(out.success, true);
      assert.equal(out.truncated, true);
      assert.equal(out.output, all.slice(-1000));
      assert.equal(Buffer.concat(chunks).toString(), all, 'onOutput sees every byte');
    });

    void test('timeout kills the process group, grandchildren included', async () => {
      const dir = tempDir();
      const pidFile = join(dir, 'pid');
      try {
        // Had the timeout not fired, this would wait out the 300 s sleep and then fail on the message below.
        const out = await shell.execute(
          request({ command: `sh -c 'sleep 300 & echo $! > ${pidFile}; sleep 300'`, timeout: '300ms' }),
        );
        assert.equal(out.success, false);
        assert.equal(out.exitCode, null);
        assert.match(out.output, /execution time exceeding defined timeout 300ms\. Job was killed\.\n$/);
        await assertDiesSoon(Number(readFileSync(pidFile, 'utf8').trim()));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    void test('background children are killed once the main process exits', async () => {
      const out = await shell.execute(request({ command: 'sleep 300 & echo $!', shell: 'true' }));
      assert.equal(out.success, true);
      assert.equal(out.exitCode, 0);
      await assertDiesSoon(Number(out.output.trim()));
    });

    void test('a grandchild that escaped the group does not hang the run', { skip: !hasSetsid() }, async () => {
      const executor = make({ closeGraceMs: 200 });
      // The escaped sleep keeps stdout open, so 'close' never comes.
      const out = await executor.execute(request({ command: 'setsid sleep 300 & echo $!', shell: 'true' }));
      const pid = Number(out.output.trim());
      try {
        assert.equal(out.success, true);
        assert.ok(pid > 0);
      } finally {
        if (pid > 0) process.kill(pid, 'SIGKILL');
      }
    });

    void test('aborting the signal kills the run at once', async () => {
      const ac = new AbortController();
      const out = await shell.execute(
        request(
          { command: 'echo ready; sleep 30', shell: 'true' },
          { signal: ac.signal, onOutput: () => ac.abort('shutdown deadline reached') },
        ),
      );
      assert.equal(out.success, false);
      assert.equal(out.exitCode, null);
      assert.equal(out.output, 'ready\nkilled: shutdown deadline reached\n');
    });

    void test('an already-aborted signal fails without spawning', async () => {
      const dir = tempDir();
      try {
        const marker = join(dir, 'ran');
        const ac = new AbortController();
        ac.abort();
        const out = await shell.execute(request({ command: `touch ${marker}`, shell: 'true' }, { signal: ac.signal }));
        assert.equal(out.success, false);
        assert.equal(out.exitCode, null);
        assert.match(out.output, /^killed: AbortError/);
        assert.throws(() => readFileSync(marker), { code: 'ENOENT' });

        const withReason = new AbortController();
        withReason.abort('stopping');
        const out2 = await shell.execute(request({ command: 'true' }, { signal: withReason.signal }));
        assert.equal(out2.output, 'killed: stopping\n');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    void test('a missing binary fails without throwing', async () => {
      const out = await shell.execute(request({ command: 'nosuchcmd-kairos --flag' }));
      assert.equal(out.success, false);
      assert.equal(out.exitCode, null);
      assert.match(out.output, /spawn nosuchcmd-kairos ENOENT/);

      const badCwd = await shell.execute(request({ command: 'true', cwd: '/no/such/dir-kairos' }));
      assert.equal(badCwd.success, false);
      assert.match(badCwd.output, /cwd "\/no\/such\/dir-kairos" does not exist/);
    });

    void test('a run given startAt is held: its command starts on the instant, never before, with its payload and its pid', async () => {
      const startAt = Date.now() + 400;
      const starts: number[] = [];
      const out = await shell.execute(
        request(
          { command: 'echo "$$ $(date +%s%3N)"; cat', shell: 'true', payload: Buffer.from('the payload').toString('base64') },
          { startAt, onStart: (at) => starts.push(at) },
        ),
      );
      assert.equal(out.success, true, out.output);
      assert.equal(out.started, true);
      const [line, payload] = out.output.split('\n');
      const [pid, ranAt] = (line ?? '').split(' ').map(Number);
      assert.equal(payload, 'the payload');
      assert.equal(starts.length, 1, 'onStart is called once');
      const [at] = starts as [number];
      assert.ok(at >= startAt, `released at ${at}, before its instant ${startAt}`);
      assert.ok((ranAt ?? 0) >= startAt, `the command ran at ${ranAt}, before its instant ${startAt}`);
      assert.ok(pid !== undefined && pid > 0 && pid !== process.pid);
    });

    void test('runs held for one instant are released together by one gate, none before it; the gate is removed once they are done', async () => {
      const startAt = Date.now() + 700;
      const tag = `gate-${mode.replace(' ', '-')}-${startAt}`;
      const starts: number[] = [];
      const runs = Array.from({ length: 10 }, (_, i) =>
        shell.execute(request({ command: `sh -c 'date +%s%3N' ${tag}-${i}` }, { startAt, onStart: (at) => starts.push(at) })),
      );
      let gate = '';
      await until('the held processes', () => heldCommandLines(tag).length === 10);
      // The shell's arguments: -c, script, $0, the gate, the command.
      const gates = new Set(heldCommandLines(tag).map((argv) => argv[4] ?? ''));
      assert.equal(gates.size, 1, `one gate for the instant, got ${[...gates].join(', ')}`);
      gate = [...gates][0] as string;
      assert.ok(existsSync(gate));
      const outs = await Promise.all(runs);
      for (const out of outs) {
        assert.equal(out.success, true, out.output);
        assert.ok(Number(out.output.trim()) >= startAt, `ran at ${out.output.trim()}, before ${startAt}`);
      }
      assert.equal(starts.length, 10);
      assert.equal(new Set(starts).size, 1, `one release time, got ${starts.join(', ')}`);
      assert.ok((starts[0] ?? 0) >= startAt);
      await until('the gate to be removed', () => !existsSync(gate));
    });

    void test('a held run aborted before its instant never runs its command, and its held process is gone', async () => {
      const dir = tempDir();
      try {
        const marker = join(dir, 'ran');
        const ac = new AbortController();
        let starts = 0;
        let heldPid = 0;
        const running = shell.execute(request({ command: `touch ${marker}`, shell: 'true' }, { signal: ac.signal, startAt: Date.now() + 60_000, onStart: () => starts++ }));
        // The held shell exists (prepared ahead) and waits: find it by the marker in its command line.
        await until('the held process', () => (heldPid = heldProcess(marker)) > 0);
        ac.abort('agent is shutting down');
        const out = await running;
        assert.equal(out.success, false);
        assert.equal(out.started, false);
        assert.equal(starts, 0);
        assert.equal(out.output, 'killed: agent is shutting down\n');
        await assertDiesSoon(heldPid);
        assert.throws(() => readFileSync(marker), { code: 'ENOENT' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    void test('a run given startAt whose command cannot start is not held: it fails on its instant as a direct spawn does', async () => {
      const startAt = Date.now() + 300;
      const starts: number[] = [];
      const out = await shell.execute(request({ command: 'nosuchcmd-kairos --flag' }, { startAt, onStart: (at) => starts.push(at) }));
      assert.equal(out.success, false);
      assert.match(out.output, /spawn nosuchcmd-kairos ENOENT/);
      assert.ok((starts[0] ?? 0) >= startAt, `started at ${starts[0]}, before ${startAt}`);
    });

    void test("a held run's timeout counts from its start, not from when it was prepared", async () => {
      const out = await shell.execute(request({ command: 'sleep 1', timeout: '2s' }, { startAt: Date.now() + 1500 }));
      assert.equal(out.success, true, out.output);
    });

    void test('invalid config at run time fails instead of throwing', async () => {
      const out = await shell.execute(request({ command: 'true', timeout: 'soon' }));
      assert.equal(out.success, false);
      assert.match(out.output, /Error parsing job timeout value/);

      const badDate = await shell.execute(request({ command: 'true' }, { scheduledAt: new Date(Number.NaN) }));
      assert.equal(badDate.success, false);
      assert.match(badDate.output, /Invalid time value/);
    });
  });
}

void test('a held run whose release is reported after its exit (another spawner released the gate) waits for the report: started, once, at the release', async () => {
  const releases: number[] = [];
  // Writes the gate on the instant, as a spawner does, but reports it 300 ms later: the job's
  // `true` has exited and closed its output by then.
  const laggard: JobSpawner = {
    spawnJob: (o, events) => inProcessSpawner.spawnJob(o, events),
    releaseGate: (path, at, report) => {
      const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
      onInstant(at, () => {
        const when = Date.now();
        releases.push(when);
        writeRelease(fd);
        closeSync(fd);
        setTimeout(() => report.released(when), 300);
      });
      return true;
    },
  };
  const executor = new ShellExecutor({ spawner: laggard });
  const startAt = Date.now() + 300;
  const starts: number[] = [];
  const out = await executor.execute(request({ command: 'true' }, { startAt, onStart: (at) => starts.push(at) }));
  const settledWith = starts.length;
  assert.equal(out.success, true, out.output);
  assert.equal(out.started, true, 'the run started');
  assert.equal(settledWith, 1, 'its start was announced before it ended');
  assert.deepEqual(starts, releases, 'at the time the gate was written');
  assert.ok((starts[0] ?? 0) >= startAt);
});

const shell = new ShellExecutor();

void test('OutputBuffer keeps the tail across chunks', () => {
  const b = new OutputBuffer(5);
  b.append(Buffer.from('abc'));
  assert.equal(b.toString(), 'abc');
  assert.equal(b.truncated, false);
  b.append(Buffer.from('de'));
  assert.equal(b.truncated, false);
  assert.equal(b.bytes, 5);
  b.append(Buffer.from('f'));
  assert.equal(b.toString(), 'bcdef');
  assert.equal(b.truncated, true);
  b.append(Buffer.from('0123456789'));
  assert.equal(b.toString(), '56789');
  assert.equal(b.bytes, 5);
  assert.equal(b.totalBytes, 16);

  const many = new OutputBuffer(10);
  for (let i = 0; i < 1000; i++) many.append(Buffer.from(String(i % 10)));
  assert.equal(many.toString(), '0123456789');
});

void test('OutputBuffer drops a multi-byte character split by the cut', () => {
  const b = new OutputBuffer(4);
  b.append(Buffer.from('x€y', 'utf8')); // x, e2 82 ac, y: the cut falls on a boundary
  assert.equal(b.toString(), '€y');
  b.append(Buffer.from('z'));
  // Kept bytes are now 82 ac 'y' 'z': the orphaned continuation bytes go.
  assert.equal(b.toString(), 'yz');
  assert.equal(b.truncated, true);

  const split = new OutputBuffer(100);
  const euro = Buffer.from('€');
  split.append(euro.subarray(0, 1));
  split.append(euro.subarray(1));
  assert.equal(split.toString(), '€', 'chunks split mid-character are joined before decoding');
});

void test('OutputBuffer with limit 0 keeps nothing', () => {
  const b = new OutputBuffer(0);
  b.append(Buffer.from('hello'));
  assert.equal(b.toString(), '');
  assert.equal(b.bytes, 0);
  assert.equal(b.truncated, true);
  const empty = new OutputBuffer(0);
  assert.equal(empty.truncated, false);
});

void test('validate reports problems by executor_config key', () => {
  assert.equal(shell.validate({ command: 'echo hi' }), null);
  assert.equal(shell.validate({ command: 'echo hi', shell: 'true', timeout: '1m30s', env: 'A=1,B=2', cwd: '/tmp' }), null);
  assert.equal(shell.validate({ command: 'x', shell: '', timeout: '', env: '' }), null);
  assert.equal(shell.validate({ command: 'x', shell: 'false' }), null);

  assert.deepEqual(shell.validate({}), {
    field: 'executor_config.command',
    message: 'command is required for the shell executor',
  });
  assert.equal(shell.validate({ command: '  ' })?.field, 'executor_config.command');

  const badTimeout = shell.validate({ command: 'x', timeout: '10' });
  assert.equal(badTimeout?.field, 'executor_config.timeout');
  assert.match(badTimeout?.message ?? '', /^Error parsing job timeout value: /);
  assert.equal(shell.validate({ command: 'x', timeout: 'abc' })?.field, 'executor_config.timeout');
  assert.equal(shell.validate({ command: 'x', timeout: '0s' })?.field, 'executor_config.timeout');
  assert.equal(shell.validate({ command: 'x', timeout: '-5s' })?.field, 'executor_config.timeout');

  assert.equal(shell.validate({ command: 'x', shell: 'yes' })?.field, 'executor_config.shell');
  assert.equal(shell.validate({ command: 'x', env: 'A=1,B' })?.field, 'executor_config.env');
  assert.equal(shell.validate({ command: 'x', env: '=1' })?.field, 'executor_config.env');
});

function hasSetsid(): boolean {
  try {
    execFileSync('setsid', ['true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
