/**
 * The spawner pool (src/executors/spawner/) with real processes: what the shell executor's own
 * cases (shell-executor.test.ts, run in both modes) don't reach — a spawner dying mid-run, output
 * volume and bytes through the channel, the payload on stdin, the agent dying, start failures and
 * the agent's `--spawners` option.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { once } from 'node:events';
import { pino } from 'pino';
import { ShellExecutor } from '../../src/executors/shell.js';
import { SpawnerPool } from '../../src/executors/spawner/spawner-pool.js';
import type { ExecutionRequest } from '../../src/executors/types.js';
import { Agent } from '../../src/agent/agent.js';
import { resolveConfig } from '../../src/agent/config.js';
import { silentLogger } from '../../src/util/log.js';
import { SqliteStore } from '../../src/backends/embedded/sqlite-store.js';
import { embeddedBackend } from '../../src/backends/embedded/index.js';
import { isDead } from '../helpers/agent.js';
import { executionRequest } from '../helpers/execution-request.js';

const request = (config: Record<string, string>, extra: Partial<ExecutionRequest> = {}): ExecutionRequest =>
  executionRequest(config, { jobName: 'job-spawner', ...extra });

/** Bounded wait for a process to be gone (signal delivery and reaping are asynchronous). */
async function diesSoon(pid: number): Promise<boolean> {
  for (let i = 0; i < 300; i++) {
    if (isDead(pid)) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

void describe('one spawner', () => {
  const pool = new SpawnerPool({ size: 1 });
  const shell = new ShellExecutor({ spawner: pool });
  before(() => pool.whenReady());
  after(() => pool.close());

  void test("jobs are the spawner's children, not the agent's", async () => {
    const out = await shell.execute(request({ command: 'echo $PPID', shell: 'true' }));
    assert.equal(out.success, true);
    assert.deepEqual([Number(out.output.trim())], pool.pids());
    assert.notEqual(Number(out.output.trim()), process.pid);
  });

  void test('a spawner killed mid-run fails that run with a note; the next run gets a restarted spawner', async () => {
    const [first] = pool.pids();
    assert.ok(first !== undefined);
    let jobPid = 0;
    const running = shell.execute(
      request(
        { command: 'echo $$; exec sleep 300', shell: 'true' },
        {
          onOutput: (chunk) => {
            jobPid = Number(chunk.toString().trim());
            pool.killOne(first);
          },
        },
      ),
    );
    const out = await running;
    try {
      assert.equal(out.success, false);
      assert.equal(out.exitCode, null);
      assert.equal(
        out.output,
        `${jobPid}\nthe spawner process (pid ${first}) exited (killed by SIGKILL); the job's process may still be running as pid ${jobPid}\n`,
      );
      // As when the agent itself is killed: the job lives on in its own process group.
      assert.equal(isDead(jobPid), false);
    } finally {
      killGroup(jobPid);
    }
    await pool.whenReady();
    const [second] = pool.pids();
    assert.ok(second !== undefined && second !== first);
    const next = await shell.execute(request({ command: 'echo $PPID', shell: 'true' }));
    assert.equal(next.success, true);
    assert.equal(Number(next.output.trim()), second);
  });
});

void describe('two spawners', () => {
  const pool = new SpawnerPool({ size: 2 });
  const shell = new ShellExecutor({ spawner: pool, memCheckIntervalMs: 50 });
  let dir = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kairos-spawner-'));
    await pool.whenReady();
  });
  after(async () => {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  void test('a burst is spread over the spawners', async () => {
    const outs = await Promise.all(Array.from({ length: 8 }, () => shell.execute(request({ command: 'echo $PPID', shell: 'true' }))));
    const parents = new Set(outs.map((o) => Number(o.output.trim())));
    assert.deepEqual([...parents].sort(), pool.pids().sort());
  });

  void test('more than a megabyte of text and of random bytes arrives intact and in order', async () => {
    const text = await shell.execute(
      request({ command: `awk 'BEGIN { for (i = 0; i < 300000; i++) print i }'` }, { outputLimit: 4 * 1024 * 1024 }),
    );
    let expected = '';
    for (let i = 0; i < 300_000; i++) expected += `${i}\n`;
    assert.ok(expected.length > 1024 * 1024);
    assert.equal(text.success, true);
    assert.equal(text.truncated, false);
    assert.equal(text.output, expected);

    const file = join(dir, 'random');
    const chunks: Buffer[] = [];
    const binary = await shell.execute(
      request({ command: `head -c 3145728 /dev/urandom > ${file} && cat ${file}`, shell: 'true' }, { onOutput: (c) => chunks.push(c) }),
    );
    assert.equal(binary.success, true);
    assert.ok(Buffer.concat(chunks).equals(readFileSync(file)), 'every byte, in order');
  });

  void test('timeout kills the whole process group through a spawner', async () => {
    const pidFile = join(dir, 'grandchild');
    const out = await shell.execute(request({ command: `sh -c 'sleep 300 & echo $! > ${pidFile}; sleep 300'`, timeout: '200ms' }));
    assert.equal(out.success, false);
    assert.match(out.output, /execution time exceeding defined timeout 200ms\. Job was killed\.\n$/);
    assert.ok(await diesSoon(Number(readFileSync(pidFile, 'utf8').trim())), 'the sleep grandchild is gone');
  });

  void test('the payload arrives on stdin', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 10, 104, 105]);
    const chunks: Buffer[] = [];
    const out = await shell.execute(request({ command: 'cat', payload: bytes.toString('base64') }, { onOutput: (c) => chunks.push(c) }));
    assert.equal(out.success, true);
    assert.ok(Buffer.concat(chunks).equals(bytes));
  });

  void test('mem_limit watches the job by the pid the spawner reports', async () => {
    const node = `node -e 'const b = Buffer.alloc(150 * 1024 * 1024, 1); setInterval(() => b[0]++, 1000)'`;
    const out = await shell.execute(request({ command: node, mem_limit: '50M', timeout: '30s' }));
    assert.equal(out.success, false);
    assert.match(out.output, /memory limit exceeded: .* > 50 MB limit\. Job was killed\.\n$/);
  });

  void test('an abort that lands before the spawner answered still kills the job', async () => {
    const ac = new AbortController();
    const running = shell.execute(request({ command: 'sleep 300' }, { signal: ac.signal }));
    ac.abort('shutdown deadline reached');
    const out = await running;
    assert.equal(out.success, false);
    assert.equal(out.output, 'killed: shutdown deadline reached\n');
  });
});

void test('spawners exit when the process that started them is killed; jobs live on', async () => {
  const code = `
    const { SpawnerPool } = await import(${JSON.stringify(new URL('../../src/executors/spawner/spawner-pool.ts', import.meta.url).href)});
    const pool = new SpawnerPool({ size: 2 });
    await pool.whenReady();
    const ignore = () => undefined;
    pool.spawnJob(
      { file: 'sleep', args: ['300'], cwd: undefined, env: {}, stdin: null },
      { spawn: (job) => console.log(JSON.stringify({ spawners: pool.pids(), job })), data: ignore, exit: ignore, close: ignore, error: ignore, lost: ignore },
    );`;
  const parent = spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(parent.stdout, 'data')) as [Buffer];
  const { spawners, job } = JSON.parse(line.toString()) as { spawners: number[]; job: number };
  try {
    assert.equal(spawners.length, 2);
    parent.kill('SIGKILL');
    for (const pid of spawners) assert.ok(await diesSoon(pid), `spawner ${pid} exited`);
    assert.equal(isDead(job), false);
  } finally {
    killGroup(job);
  }
});

void test('spawners that cannot start: one warning, and jobs are spawned in-process', async () => {
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
  const pool = new SpawnerPool({ size: 2, log, modulePath: '/dev/null' });
  try {
    await pool.whenReady();
    assert.deepEqual(pool.pids(), []);
    const out = await new ShellExecutor({ spawner: pool }).execute(request({ command: 'echo $PPID', shell: 'true' }));
    assert.equal(Number(out.output.trim()), process.pid);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /spawner processes could not be started; job processes are started by the agent process/);
  } finally {
    await pool.close();
  }
});

void test('--spawners: default one per core, 0 spawns from the agent process', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kairos-spawners-'));
  const config = (spawners?: string): ReturnType<typeof resolveConfig> =>
    resolveConfig({ server: true, 'node-name': 'a1', 'http-addr': '127.0.0.1:0', 'data-dir': dataDir, ...(spawners ? { spawners } : {}) }, {});
  const { availableParallelism } = await import('node:os');
  assert.equal(config().spawners, availableParallelism());
  assert.equal(config('3').spawners, 3);
  assert.throws(() => config('-1'), /option spawners/);

  for (const spawners of ['0', '1']) {
    const agent = new Agent(config(spawners), silentLogger(), embeddedBackend(SqliteStore.open(':memory:')));
    await agent.start();
    try {
      assert.equal(agent.spawners === null, spawners === '0');
      await agent.spawners?.whenReady();
      await agent.jobs.upsert({ name: 'parent-pid', schedule: '@manually', executor: 'shell', executor_config: { command: 'echo $PPID', shell: 'true' } });
      const finished = new Promise<string>((resolve) => agent.events.on('execution.finished', (e) => resolve(e.execution.output)));
      await agent.dispatcher.runNow('parent-pid', 'manual');
      const ppid = Number((await finished).trim());
      if (spawners === '0') assert.equal(ppid, process.pid);
      else assert.deepEqual([ppid], agent.spawners?.pids());
    } finally {
      await agent.stop();
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});
