import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Execution } from '../../src/job/types.js';
import { SyslogProcessor } from '../../src/processors/syslog.js';
import { headerField, parseSyslogAddress, tailBytes } from '../../src/processors/syslog-format.js';
import type { ProcessRequest } from '../../src/processors/types.js';

const JOB = 'nightly backup/with spaces and a name longer than thirty-two chars';
const MSGID = 'nightly_backup/with_spaces_and_a';

function request(config: Record<string, string>, extra: Partial<Execution> = {}, signal = new AbortController().signal): ProcessRequest {
  return {
    execution: {
      id: '1715000000000001000-node-a',
      job_name: JOB,
      started_at: '2024-05-06T07:08:09.000Z',
      finished_at: '2024-05-06T07:08:10.500Z',
      success: true,
      output: 'first line\nsecond "line" ]\n',
      node_name: 'node-a',
      group: 1715000000000000,
      attempt: 1,
      exit_code: 0,
      scheduled_at: '2024-05-06T07:08:09.000Z',
      trigger: 'schedule',
      ...extra,
    },
    config,
    nodeName: 'node-a',
    signal,
  };
}

interface Parsed {
  pri: number;
  version: string;
  timestamp: string;
  hostname: string;
  app: string;
  procId: string;
  msgId: string;
  sd: string;
  msg: string;
}

/** Splits an RFC 5424 message; SD may hold escaped `]` and several elements (logger adds timeQuality). */
function parse(text: string): Parsed {
  const m = /^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+) ([\s\S]*)$/.exec(text);
  assert.ok(m, `not an RFC 5424 message: ${JSON.stringify(text)}`);
  const [, pri, version, timestamp, hostname, app, procId, msgId, sd, msg] = m as unknown as string[];
  return { pri: Number(pri), version: version!, timestamp: timestamp!, hostname: hostname!, app: app!, procId: procId!, msgId: msgId!, sd: sd!, msg: msg! };
}

function checkHeader(p: Parsed, pri: number): void {
  assert.equal(p.pri, pri);
  assert.equal(p.version, '1');
  assert.equal(p.app, 'kairos');
  assert.equal(p.msgId, MSGID);
  assert.equal(p.procId, String(process.pid));
  assert.match(p.sd, /\[kairos@32473 job="nightly backup\/with spaces[^"]*" execution="1715000000000001000-node-a" node="node-a" success="(true|false)"\]/);
}

async function udpListener(): Promise<{ port: number; next: () => Promise<string>; close: () => void }> {
  const socket = createSocket('udp4');
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  socket.on('message', (msg) => {
    queue.push(msg.toString('utf8'));
    wake?.();
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const next = async (): Promise<string> => {
    while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return queue.shift()!;
  };
  return { port: socket.address().port, next, close: () => socket.close() };
}

/** Collects each connection's bytes until it closes. */
async function tcpListener(): Promise<{ port: number; next: () => Promise<Buffer>; close: () => Promise<void> }> {
  const done: Buffer[] = [];
  const sockets = new Set<Socket>();
  let wake: (() => void) | undefined;
  const server = createServer((s) => {
    sockets.add(s);
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => {
      s.end();
      done.push(Buffer.concat(chunks));
      wake?.();
    });
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const next = async (): Promise<Buffer> => {
    while (done.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return done.shift()!;
  };
  const close = (): Promise<void> => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return { port: (server.address() as AddressInfo).port, next, close };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

void test('address parsing and validate()', () => {
  assert.deepEqual(parseSyslogAddress(''), { kind: 'local' });
  assert.deepEqual(parseSyslogAddress(undefined), { kind: 'local' });
  assert.deepEqual(parseSyslogAddress('udp://logs.example.com:5140'), { kind: 'udp', host: 'logs.example.com', port: 5140, address: 'udp://logs.example.com:5140' });
  assert.deepEqual(parseSyslogAddress('tcp://[::1]:601'), { kind: 'tcp', host: '::1', port: 601, address: 'tcp://[::1]:601' });
  assert.equal((parseSyslogAddress('tcp://10.0.0.1') as { port: number }).port, 514);
  const p = new SyslogProcessor();
  assert.equal(p.validate({ address: 'udp://127.0.0.1:514' }), null);
  assert.equal(p.validate({}), null);
  for (const bad of ['127.0.0.1:514', 'http://x:1', 'udp://:514', 'tcp://host:0', 'tcp://host:70000', 'udp://h:1/path']) {
    const problem = p.validate({ address: bad });
    assert.equal(problem?.field, 'processors.syslog.address', bad);
  }
});

void test('header fields and the byte bound keep valid UTF-8 and the end of the output', () => {
  assert.equal(headerField(JOB, 32), MSGID);
  assert.equal(headerField('', 32), '-');
  assert.equal(headerField('é', 32), '_');
  const text = 'é'.repeat(100); // 200 bytes
  const cut = tailBytes(text, 50);
  assert.ok(Buffer.byteLength(cut) <= 50, `${Buffer.byteLength(cut)} bytes`);
  assert.match(cut, /^\[truncated \d+ bytes\] é+$/);
  const dropped = Number(/\d+/.exec(cut)![0]);
  assert.equal(dropped + Buffer.byteLength(cut.replace(/^\[[^\]]*\] /, '')), 200);
  assert.equal(tailBytes('short', 50), 'short');
});

void test('udp: one RFC 5424 message, cron.info on success and cron.err on failure', async (t) => {
  const l = await udpListener();
  t.after(() => l.close());
  const syslog = new SyslogProcessor();
  const address = `udp://127.0.0.1:${l.port}`;
  assert.deepEqual(await syslog.process(request({ address })), { note: 'Output in syslog' });
  const ok = parse(await l.next());
  checkHeader(ok, 78);
  assert.equal(ok.timestamp, '2024-05-06T07:08:10.500Z');
  assert.equal(ok.msg, 'first line\nsecond "line" ]\n');
  assert.match(ok.sd, /success="true"/);

  assert.equal(await syslog.process(request({ address, forward: 'true' }, { success: false, output: 'it broke' })), undefined);
  const failed = parse(await l.next());
  checkHeader(failed, 75);
  assert.match(failed.sd, /success="false"/);
  assert.equal(failed.msg, 'it broke');
});

void test('udp: a large output is cut to the message bound, keeping its end', async (t) => {
  const l = await udpListener();
  t.after(() => l.close());
  const syslog = new SyslogProcessor({ maxMessageBytes: 600 });
  const output = Array.from({ length: 200 }, (_, i) => `row ${i}`).join('\n');
  await syslog.process(request({ address: `udp://127.0.0.1:${l.port}` }, { output }));
  const raw = await l.next();
  assert.ok(Buffer.byteLength(raw) <= 600, `${Buffer.byteLength(raw)} bytes`);
  const p = parse(raw);
  checkHeader(p, 78);
  assert.match(p.msg, /^\[truncated \d+ bytes\] /);
  assert.ok(p.msg.endsWith('row 198\nrow 199'));
});

void test('tcp: octet-counted frame whose length is the UTF-8 byte count', async (t) => {
  const l = await tcpListener();
  t.after(() => l.close());
  const syslog = new SyslogProcessor();
  const result = await syslog.process(request({ address: `tcp://127.0.0.1:${l.port}` }, { output: 'ünïcode ✓\nok\n' }));
  assert.deepEqual(result, { note: 'Output in syslog' });
  const frame = await l.next();
  const space = frame.indexOf(0x20);
  const length = Number(frame.subarray(0, space).toString('ascii'));
  const body = frame.subarray(space + 1);
  assert.equal(length, body.length, 'octet count matches the message bytes');
  const p = parse(body.toString('utf8'));
  checkHeader(p, 78);
  assert.equal(p.msg, 'ünïcode ✓\nok\n');

  assert.equal(await syslog.process(request({ address: `tcp://127.0.0.1:${l.port}`, forward: 'true' })), undefined);
  assert.match((await l.next()).toString('utf8'), /^\d+ <78>1 /);
});

void test('tcp: an unreachable target rejects with the address and the reason', async () => {
  const port = await freePort();
  await assert.rejects(
    new SyslogProcessor().process(request({ address: `tcp://127.0.0.1:${port}` })),
    new RegExp(`^Error: syslog tcp://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`),
  );
});

void test('an invalid address at run time (job saved without validation) rejects', async () => {
  await assert.rejects(new SyslogProcessor().process(request({ address: 'nope' })), /address must be udp:\/\/host:port/);
});

const python = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p));
const loggerWorks = spawnSync('logger', ['--version']).status === 0;
// Node can't bind a unix datagram socket; python can. Without python or logger, skip with the reason.
const localSkip = !loggerWorks ? 'util-linux logger is not installed' : !python ? 'python3 (to listen on a unix datagram socket) is not installed' : false;

const LISTENER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    print(json.dumps(s.recv(1 << 20).decode("utf-8")), flush=True)
`;

void test('local: runs logger against the unix socket, same header fields', { skip: localSkip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kairos-syslog-'));
  const socketPath = join(dir, 'log.sock');
  const child = spawn(python!, ['-c', LISTENER, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  assert.equal((await lines.next()).value, 'ready');

  const syslog = new SyslogProcessor({ socketPath });
  assert.deepEqual(await syslog.process(request({})), { note: 'Output in syslog' });
  const ok = parse(JSON.parse((await lines.next()).value as string) as string);
  checkHeader(ok, 78);
  assert.equal(ok.msg, 'first line\nsecond "line" ]\n');

  assert.equal(await syslog.process(request({ forward: 'true' }, { success: false, output: '' })), undefined);
  const failed = parse(JSON.parse((await lines.next()).value as string) as string);
  checkHeader(failed, 75);
  assert.equal(failed.msg, '(no output)');

  await syslog.process(request({}, { output: 'a\0b' }));
  assert.equal(parse(JSON.parse((await lines.next()).value as string) as string).msg, 'a\uFFFDb', 'NUL cannot be an argv byte');
});

void test('local: a missing socket rejects with logger\'s reason', { skip: loggerWorks ? false : 'util-linux logger is not installed' }, async () => {
  const syslog = new SyslogProcessor({ socketPath: join(tmpdir(), 'kairos-no-such-socket') });
  await assert.rejects(syslog.process(request({})), /^Error: local syslog: .*No such file or directory/);
});

void test('an aborted request signal stops every transport', async (t) => {
  const l = await tcpListener();
  t.after(() => l.close());
  const c = new AbortController();
  c.abort(new Error('deadline'));
  const syslog = new SyslogProcessor({ socketPath: join(tmpdir(), 'kairos-no-such-socket') });
  for (const address of [`tcp://127.0.0.1:${l.port}`, `udp://127.0.0.1:${l.port}`, '']) {
    await assert.rejects(syslog.process(request({ address }, {}, c.signal)), /abort|deadline/i, address || 'local');
  }
});
