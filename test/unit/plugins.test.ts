import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { ExecutionOutcome, ExecutionRequest, Executor } from '../../src/executors/types.js';
import type { Execution } from '../../src/job/types.js';
import type { Processor } from '../../src/processors/types.js';
import { ExecExecutor } from '../../src/plugins/exec-executor.js';
import { ExecProcessor } from '../../src/plugins/exec-processor.js';
import { loadPlugins } from '../../src/plugins/load.js';
import type { LoadPluginsOptions } from '../../src/plugins/load.js';
import { resolveModule } from '../../src/plugins/resolve.js';
import { isDead } from '../helpers/agent.js';
import { executionRequest } from '../helpers/execution-request.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/plugins');
const BIN = join(FIXTURES, 'bin');
const BAD = join(FIXTURES, 'bad');

/** A real pino logger whose lines are kept for assertions. */
function captureLog(): { log: LoadPluginsOptions['log']; lines: Array<{ msg: string; file?: string }> } {
  const lines: Array<{ msg: string; file?: string }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
  return { log, lines };
}

function options(extra: Partial<LoadPluginsOptions>): LoadPluginsOptions {
  return { modules: [], dir: null, baseDir: FIXTURES, nodeName: 'node-a', log: captureLog().log, ...extra };
}

const request = (config: Record<string, string>, extra: Partial<ExecutionRequest> = {}): ExecutionRequest =>
  executionRequest(config, { executionId: 'exec-42', ...extra });

/** Runs and records when each live chunk arrived relative to the outcome. */
async function runLive(
  executor: Executor,
  req: ExecutionRequest,
): Promise<{ outcome: ExecutionOutcome; chunks: string[]; firstChunkAt: number; doneAt: number }> {
  const chunks: string[] = [];
  let firstChunkAt = Number.NaN;
  const outcome = await executor.execute({
    ...req,
    onOutput: (chunk) => {
      if (chunks.length === 0) firstChunkAt = performance.now();
      chunks.push(chunk.toString('utf8'));
    },
  });
  return { outcome, chunks, firstChunkAt, doneAt: performance.now() };
}

function find<T extends { name: string }>(list: T[], name: string): T {
  const found = list.find((x) => x.name === name);
  assert.ok(found, `${name} not loaded (have ${list.map((x) => x.name).join(', ')})`);
  return found;
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
    // Gone between the last check and now.
  }
  assert.fail(`process ${pid} survived the run`);
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kairos-plugins-'));
}

function execution(output: string): Execution {
  return {
    id: 'exec-1',
    job_name: 'job-1',
    started_at: '2024-05-06T07:08:09.010Z',
    finished_at: '2024-05-06T07:08:10.010Z',
    success: true,
    output,
    node_name: 'node-a',
    group: 1,
    attempt: 1,
    exit_code: 0,
    scheduled_at: '2024-05-06T07:08:09.010Z',
    trigger: 'manual',
  };
}

function processRequest(output: string, config: Record<string, string> = {}, signal = new AbortController().signal) {
  return { execution: execution(output), config, nodeName: 'node-a', signal };
}

void test('an npm package plugin (ESM, import-only exports map) is resolved from node_modules, listed and run live', async () => {
  const base = tempDir();
  try {
    mkdirSync(join(base, 'node_modules'));
    symlinkSync(join(FIXTURES, 'kairos-executor-echo'), join(base, 'node_modules', 'kairos-executor-echo'));
    const loaded = await loadPlugins(options({ modules: ['kairos-executor-echo'], baseDir: base }));
    assert.deepEqual(loaded.plugins, [
      { name: 'echo', kind: 'executor', form: 'module', source: 'kairos-executor-echo', version: '1.2.3' },
    ]);
    assert.equal(loaded.processors.length, 0);
    const echo = find(loaded.executors, 'echo');

    assert.deepEqual(echo.validate({}), { field: 'executor_config.message', message: 'message is required' });
    assert.equal(echo.validate({ message: 'hi', timeout: 'soon' })?.field, 'executor_config.timeout');
    assert.equal(echo.validate({ message: 'hi', timeout: '5s' }), null);

    const run = await runLive(echo, request({ message: 'hello', times: '3', delay_ms: '100' }));
    assert.equal(run.outcome.success, true, run.outcome.output);
    assert.equal(run.outcome.output, 'hello 1/3 (job job-1)\nhello 2/3 (job job-1)\nhello 3/3 (job job-1)\n');
    assert.deepEqual(run.chunks, ['hello 1/3 (job job-1)\n', 'hello 2/3 (job job-1)\n', 'hello 3/3 (job job-1)\n']);
    // Live: the first chunk came while the run still had ~300 ms of work left.
    assert.ok(run.doneAt - run.firstChunkAt >= 150, `first chunk only ${run.doneAt - run.firstChunkAt} ms before the end`);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

void test('a local module by path: a factory gets the node name and logger, and may bring processors', async () => {
  const { log, lines } = captureLog();
  const loaded = await loadPlugins(options({ modules: ['./modules/factory.js'], log }));
  assert.deepEqual(loaded.plugins, [
    { name: 'whoami', kind: 'executor', form: 'module', source: './modules/factory.js' },
    { name: 'reverse', kind: 'processor', form: 'module', source: './modules/factory.js' },
  ]);
  assert.ok(lines.some((l) => l.msg === 'factory plugin starting'));

  const out = await find(loaded.executors, 'whoami').execute(request({}));
  assert.deepEqual(out, { success: true, exitCode: 0, output: 'running on node-a for job-1\n', truncated: false });

  const reverse = find(loaded.processors, 'reverse');
  assert.deepEqual(reverse.validate({ bad: 'x' }), { field: 'processors.reverse.bad', message: 'bad is not allowed' });
  assert.deepEqual(await reverse.process(processRequest('abc')), { output: 'cba' });
});

void test('executables in --plugin-dir are discovered, listed and run with live output', async () => {
  const loaded = await loadPlugins(options({ dir: BIN }));
  // README.md in the same directory is not a plugin.
  assert.deepEqual(loaded.plugins, [
    { name: 'pyecho', kind: 'executor', form: 'executable', source: join(BIN, 'kairos-executor-pyecho') },
    { name: 'upper', kind: 'processor', form: 'executable', source: join(BIN, 'kairos-processor-upper') },
  ]);
  const pyecho = find(loaded.executors, 'pyecho');
  const run = await runLive(pyecho, request({ message: 'hi', times: '3', delay_ms: '100' }));
  assert.equal(run.outcome.success, true, run.outcome.output);
  assert.equal(run.outcome.exitCode, 0);
  const expected = [1, 2, 3].map((i) => `hi ${i}/3 (job job-1, execution exec-42)\n`);
  assert.deepEqual(run.chunks, expected);
  assert.equal(run.outcome.output, expected.join(''));
  assert.ok(run.doneAt - run.firstChunkAt >= 150, `first chunk only ${run.doneAt - run.firstChunkAt} ms before the end`);

  const failed = await pyecho.execute(request({ message: 'hi', times: '1', fail: 'true' }));
  assert.equal(failed.success, false);
  assert.equal(failed.exitCode, 1);
  assert.equal(failed.output, 'hi 1/1 (job job-1, execution exec-42)\nasked to fail\n');

  const upper = find(loaded.processors, 'upper');
  assert.deepEqual(await upper.process(processRequest('quiet output\n')), { output: 'QUIET OUTPUT\n' });
  await assert.rejects(upper.process(processRequest('x', { refuse: 'true' })), /refused by config/);
});

void test('executable output is bounded to outputLimit and the run still succeeds', async () => {
  const pyecho = new ExecExecutor('pyecho', join(BIN, 'kairos-executor-pyecho'));
  const out = await pyecho.execute(request({ message: 'x'.repeat(50), times: '5', delay_ms: '0' }, { outputLimit: 100 }));
  assert.equal(out.success, true);
  assert.equal(out.truncated, true);
  assert.ok(out.output.length <= 100, out.output);
  assert.ok(out.output.endsWith('5/5 (job job-1, execution exec-42)\n'));
});

void test('misbehaving executables are contained: failed with a reason, process group killed', async () => {
  const { log, lines } = captureLog();
  const loaded = await loadPlugins(options({ dir: BAD, log }));
  assert.deepEqual(
    loaded.plugins.map((p) => `${p.kind} ${p.name}`),
    ['executor crash', 'executor garbage', 'executor hang', 'processor hang'],
  );
  assert.ok(lines.some((l) => l.file === join(BAD, 'kairos-executor-notexec') && /not executable/.test(l.msg)));

  const crash = await find(loaded.executors, 'crash').execute(request({}));
  assert.equal(crash.success, false);
  assert.equal(crash.exitCode, 3);
  assert.equal(crash.output, 'about to crash\nplugin exited (code 3) before sending a result\n');

  const garbage = await find(loaded.executors, 'garbage').execute(request({}));
  assert.equal(garbage.success, false);
  assert.equal(garbage.exitCode, null);
  assert.match(garbage.output, /plugin wrote an invalid protocol line: this is not JSON <<<\n$/);
  await assertDiesSoon(Number(/^pid (\d+)$/m.exec(garbage.output)?.[1]));

  const started = performance.now();
  const hang = await find(loaded.executors, 'hang').execute(request({ timeout: '300ms' }));
  assert.equal(hang.success, false);
  assert.match(hang.output, /execution time exceeding defined timeout 300ms\. Plugin was killed\.\n$/);
  assert.ok(performance.now() - started < 5000);
  const child = Number(/^child (\d+)$/m.exec(hang.output)?.[1]);
  assert.ok(child > 0, hang.output);
  await assertDiesSoon(child);
});

void test('aborting a run kills an executable plugin at once, its children too', async () => {
  const hang = new ExecExecutor('hang', join(BAD, 'kairos-executor-hang'));
  const controller = new AbortController();
  let child = 0;
  const out = await hang.execute(
    request({}, {
      signal: controller.signal,
      onOutput: (chunk) => {
        child = Number(/child (\d+)/.exec(chunk.toString())?.[1]);
        controller.abort(new Error('agent shutting down'));
      },
    }),
  );
  assert.equal(out.success, false);
  assert.match(out.output, /killed: agent shutting down\n$/);
  await assertDiesSoon(child);
});

void test('a plugin that cannot start, or exits without answering, is a failed run', async () => {
  const out = await new ExecExecutor('ghost', '/nonexistent/kairos-executor-ghost').execute(request({}));
  assert.equal(out.success, false);
  assert.match(out.output, /^cannot start plugin \/nonexistent\/kairos-executor-ghost: .*ENOENT/);
  // Exits without reading its request or answering.
  const silent = await new ExecExecutor('false', '/bin/false').execute(request({}));
  assert.deepEqual(silent, { success: false, exitCode: 1, output: 'plugin exited (code 1) before sending a result\n', truncated: false });
});

void test('an executable processor that hangs is killed at its deadline or abort; bad answers and early exits are reported', async () => {
  const hang: Processor = new ExecProcessor('hang', join(BAD, 'kairos-processor-hang'), { timeoutMs: 300 });
  const timedOut = await hang.process(processRequest('x')).then(
    () => assert.fail('a hanging processor resolved'),
    (err: Error) => err.message,
  );
  assert.match(timedOut, /^did not finish within 300ms; plugin was killed \(stderr: child \d+\)$/);
  await assertDiesSoon(Number(/child (\d+)/.exec(timedOut)?.[1]));
  const controller = new AbortController();
  const aborted = hang.process(processRequest('x', {}, controller.signal));
  controller.abort(new Error('chain deadline'));
  await assert.rejects(aborted, /aborted: chain deadline/);
  const crash: Processor = new ExecProcessor('crash', join(BAD, 'kairos-executor-crash'));
  // Its first line is an `output` message, which no processor may send.
  await assert.rejects(crash.process(processRequest('x')), /^Error: plugin wrote an invalid protocol line: \{"type": "output", "data": "about to crash\\n"\}$/);
  const silent: Processor = new ExecProcessor('false', '/bin/false');
  await assert.rejects(silent.process(processRequest('x')), /^Error: plugin exited \(code 1\) before sending a result$/);
});

void test('misbehaving module executors are contained: throw, hang past timeout, bad outcome, bad validate', async () => {
  const loaded = await loadPlugins(options({ modules: ['./modules/misbehaving.js'] }));

  const thrown = await find(loaded.executors, 'throws').execute(request({}));
  assert.deepEqual(thrown, {
    success: false,
    exitCode: null,
    output: 'before the throw\nexecutor plugin "throws" threw: kaboom\n',
    truncated: false,
  });

  const hung = await find(loaded.executors, 'hangs').execute(request({ timeout: '200ms' }));
  assert.equal(hung.success, false);
  assert.equal(hung.output, 'waiting forever\nexecution time exceeding defined timeout 200ms. Plugin run abandoned.\n');

  const controller = new AbortController();
  const aborted = find(loaded.executors, 'hangs').execute(
    request({}, { signal: controller.signal, onOutput: () => controller.abort('shutdown') }),
  );
  assert.match((await aborted).output, /killed: shutdown\n$/);

  const bad = await find(loaded.executors, 'bad-outcome').execute(request({}));
  assert.equal(bad.success, false);
  assert.match(bad.output, /returned an invalid outcome/);

  assert.deepEqual(find(loaded.executors, 'bad-validate').validate({}), {
    field: 'executor_config',
    message: 'executor plugin "bad-validate" failed to validate: validate blew up',
  });
});

void test('a misconfigured module stops loading with an error naming it', async () => {
  const cases: Array<[string, RegExp]> = [
    ['kairos-executor-missing', /^Error: plugin module "kairos-executor-missing": cannot resolve: package "kairos-executor-missing" not found/],
    ['./modules/nope.js', /^Error: plugin module "\.\/modules\/nope\.js": cannot resolve: file .*nope\.js does not exist/],
    ['./modules/empty.js', /^Error: plugin module "\.\/modules\/empty\.js": exports no executors and no processors$/],
    ['./modules/no-default.js', /^Error: plugin module "\.\/modules\/no-default\.js": has no default export/],
    ['./modules/throws-on-import.js', /^Error: plugin module "\.\/modules\/throws-on-import\.js": failed to load .*: cannot connect to the license server$/],
  ];
  for (const [spec, message] of cases) {
    await assert.rejects(loadPlugins(options({ modules: [spec] })), message, spec);
  }
});

void test('name clashes are refused, naming both sides', async () => {
  await assert.rejects(
    loadPlugins(options({ modules: ['./modules/shell-clash.js'] })),
    /^Error: executor plugin "shell" \(module \.\/modules\/shell-clash\.js\) clashes with the built-in executor "shell"$/,
  );

  const dir = tempDir();
  try {
    symlinkSync(join(BIN, 'kairos-executor-pyecho'), join(dir, 'kairos-executor-whoami'));
    await assert.rejects(
      loadPlugins(options({ modules: ['./modules/factory.js'], dir })),
      new RegExp(`executor plugin "whoami" \\(executable ${join(dir, 'kairos-executor-whoami')}\\) clashes with executor plugin "whoami" \\(module \\./modules/factory\\.js\\)$`),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('discovery strips one extension, skips odd names, and refuses two files with one name', async () => {
  const dir = tempDir();
  try {
    copyFileSync(join(BIN, 'kairos-executor-pyecho'), join(dir, 'kairos-executor-hello.py'));
    copyFileSync(join(BIN, 'kairos-executor-pyecho'), join(dir, 'kairos-executor-a.b.c'));
    mkdirSync(join(dir, 'kairos-processor-adir'));
    const { log, lines } = captureLog();
    const loaded = await loadPlugins(options({ dir, log }));
    assert.deepEqual(
      loaded.plugins.map((p) => [p.kind, p.name]),
      [['executor', 'hello']],
    );
    assert.equal((await find(loaded.executors, 'hello').execute(request({ message: 'm', times: '1' }))).success, true);
    assert.ok(lines.some((l) => l.file === join(dir, 'kairos-executor-a.b.c') && /not a valid executor name/.test(l.msg)));
    assert.ok(lines.some((l) => l.file === join(dir, 'kairos-processor-adir') && /not a regular file/.test(l.msg)));

    copyFileSync(join(BIN, 'kairos-executor-pyecho'), join(dir, 'kairos-executor-hello'));
    await assert.rejects(loadPlugins(options({ dir })), /executor plugin "hello" \(executable .*kairos-executor-hello\.py\) clashes with executor plugin "hello" \(executable .*kairos-executor-hello\)$/);

    await assert.rejects(loadPlugins(options({ dir: join(dir, 'missing') })), /cannot read plugin dir/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('package resolution: scoped names, subpath exports, main', () => {
  const base = tempDir();
  try {
    const scoped = join(base, 'node_modules', '@acme', 'kairos-plugins');
    mkdirSync(join(scoped, 'lib'), { recursive: true });
    writeFileSync(
      join(scoped, 'package.json'),
      JSON.stringify({ name: '@acme/kairos-plugins', version: '0.4.0', exports: { './kafka': { require: './lib/kafka.cjs', import: './lib/kafka.js' }, './x/*': './lib/*.js' } }),
    );
    writeFileSync(join(scoped, 'lib', 'kafka.js'), '');
    writeFileSync(join(scoped, 'lib', 'y.js'), '');
    const plain = join(base, 'node_modules', 'plain');
    mkdirSync(plain, { recursive: true });
    writeFileSync(join(plain, 'package.json'), JSON.stringify({ main: 'main.js' }));
    writeFileSync(join(plain, 'main.js'), '');
    const nested = join(base, 'etc', 'kairos');
    mkdirSync(nested, { recursive: true });

    // Found from a config directory below the node_modules folder, as Node walks up.
    assert.deepEqual(resolveModule('@acme/kairos-plugins/kafka', nested), { file: join(scoped, 'lib', 'kafka.js'), version: '0.4.0' });
    assert.deepEqual(resolveModule('@acme/kairos-plugins/x/y', nested), { file: join(scoped, 'lib', 'y.js'), version: '0.4.0' });
    assert.throws(() => resolveModule('@acme/kairos-plugins', nested), /exports nothing for "\."/);
    assert.deepEqual(resolveModule('plain', base), { file: join(plain, 'main.js') });
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
