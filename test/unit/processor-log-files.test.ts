import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Execution } from '../../src/job/types.js';
import { FilesProcessor, fileName } from '../../src/processors/files.js';
import { LogProcessor } from '../../src/processors/log.js';
import type { ProcessRequest } from '../../src/processors/types.js';

function execution(extra: Partial<Execution> = {}): Execution {
  return {
    id: '1715000000000001000-node-a',
    job_name: 'backup',
    started_at: '2024-05-06T07:08:09.000Z',
    finished_at: '2024-05-06T07:08:10.500Z',
    success: true,
    output: 'line 1\nline 2\n',
    node_name: 'node-a',
    group: 1715000000000000,
    attempt: 1,
    exit_code: 0,
    scheduled_at: '2024-05-06T07:08:09.000Z',
    trigger: 'schedule',
    ...extra,
  };
}

function request(config: Record<string, string>, extra: Partial<Execution> = {}, signal = new AbortController().signal): ProcessRequest {
  return { execution: execution(extra), config, nodeName: 'node-a', signal };
}

function collector(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

void test('log: a success goes to stdout between the markers, the record keeps a pointer', async () => {
  const out = collector();
  const err = collector();
  const log = new LogProcessor({ stdout: out.stream, stderr: err.stream });
  const result = await log.process(request({}));
  assert.deepEqual(result, { note: 'Output in kairos log' });
  assert.equal(
    out.text(),
    '----- BEGIN OUTPUT job=backup execution=1715000000000001000-node-a -----\nline 1\nline 2\n----- END OUTPUT -----\n',
  );
  assert.equal(err.text(), '');
});

void test('log: a failure goes to stderr; output without a final newline still ends its line', async () => {
  const out = collector();
  const err = collector();
  const log = new LogProcessor({ stdout: out.stream, stderr: err.stream });
  await log.process(request({}, { success: false, output: 'boom' }));
  assert.equal(out.text(), '');
  assert.equal(err.text(), '----- BEGIN OUTPUT job=backup execution=1715000000000001000-node-a -----\nboom\n----- END OUTPUT -----\n');
});

void test('log: forward "true" keeps the output in the record, anything else does not', async () => {
  const out = collector();
  const log = new LogProcessor({ stdout: out.stream, stderr: collector().stream });
  assert.equal(await log.process(request({ forward: 'true' })), undefined);
  assert.deepEqual(await log.process(request({ forward: 'false' })), { note: 'Output in kairos log' });
  assert.equal(out.text().split('----- BEGIN OUTPUT').length - 1, 2, 'both runs were printed');
  assert.equal(log.validate(), null);
});

void test('log: an already aborted request writes nothing and rejects', async () => {
  const out = collector();
  const log = new LogProcessor({ stdout: out.stream, stderr: out.stream });
  const c = new AbortController();
  c.abort(new Error('deadline'));
  await assert.rejects(log.process(request({}, {}, c.signal)), /deadline/);
  assert.equal(out.text(), '');
});

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kairos-files-'));
}

void test('files: writes <default dir>/<execution id>.log, creating the dir; the note is the path', async (t) => {
  const root = tempDir();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'nested', 'logs');
  const files = new FilesProcessor(dir);
  const result = await files.process(request({}));
  const path = join(dir, '1715000000000001000-node-a.log');
  assert.deepEqual(result, { note: path });
  assert.equal(readFileSync(path, 'utf8'), 'line 1\nline 2\n');
});

void test('files: log_dir overrides the default; forward keeps the output and still writes the file', async (t) => {
  const root = tempDir();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const files = new FilesProcessor(join(root, 'default'));
  const custom = join(root, 'custom');
  const result = await files.process(request({ log_dir: custom, forward: 'true' }, { output: 'ünïcode ✓\n' }));
  assert.equal(result, undefined);
  assert.equal(readFileSync(join(custom, '1715000000000001000-node-a.log'), 'utf8'), 'ünïcode ✓\n');
  assert.equal(existsSync(join(root, 'default')), false, 'the default dir is not touched');
});

void test('files: an execution id from a node name with a slash stays inside log_dir', async (t) => {
  const root = tempDir();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const files = new FilesProcessor(root);
  const result = await files.process(request({}, { id: '17-../../etc/x' }));
  const expected = join(root, '17-.._.._etc_x.log');
  assert.deepEqual(result, { note: expected });
  assert.equal(readFileSync(expected, 'utf8'), 'line 1\nline 2\n');
  assert.equal(fileName('..'), '_..');
  assert.equal(fileName('1-host.example.com'), '1-host.example.com');
});

void test('files: validate wants an absolute log_dir; process refuses a relative default too', async () => {
  const files = new FilesProcessor('/var/log/kairos');
  assert.equal(files.validate({}), null);
  assert.equal(files.validate({ log_dir: '/srv/logs' }), null);
  assert.deepEqual(files.validate({ log_dir: 'logs' }), {
    field: 'processors.files.log_dir',
    message: 'log_dir must be an absolute path, got "logs"',
  });
  await assert.rejects(new FilesProcessor('relative').process(request({})), /absolute path/);
});

void test('files: an unwritable target rejects with the reason', async (t) => {
  const root = tempDir();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const blocker = join(root, 'file');
  await new FilesProcessor(root).process(request({}, { id: 'file' }));
  // `<root>/file.log` exists as a file; using it as a directory must fail.
  await assert.rejects(new FilesProcessor(join(blocker + '.log', 'sub')).process(request({})), /ENOTDIR|EEXIST/);
});
