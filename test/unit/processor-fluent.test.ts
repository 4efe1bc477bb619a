import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { decodeMultiStream, encode, ExtData } from '@msgpack/msgpack';
import type { Execution } from '../../src/job/types.js';
import { runProcessors } from '../../src/processors/chain.js';
import { FluentProcessor } from '../../src/processors/fluent.js';
import { ProcessorRegistry } from '../../src/processors/registry.js';
import type { ProcessRequest } from '../../src/processors/types.js';
import { silentLogger } from '../../src/util/log.js';

function execution(extra: Partial<Execution> = {}): Execution {
  return {
    id: '1715000000000001000-node-a',
    job_name: 'backup',
    started_at: '2024-05-06T07:08:09.000Z',
    finished_at: '2024-05-06T07:08:10.500Z',
    success: true,
    output: 'all good\n',
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

type Reply = 'ack' | 'silent' | 'close' | 'wrong-ack';

/** A Forward-protocol server: decodes each connection's msgpack entries and answers per `reply`. */
async function fluentServer(reply: Reply = 'ack'): Promise<{ port: number; entries: unknown[][]; next: () => Promise<unknown[]>; close: () => Promise<void> }> {
  const entries: unknown[][] = [];
  let taken = 0;
  let wake: (() => void) | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    void (async () => {
      try {
        for await (const entry of decodeMultiStream(socket)) {
          assert.ok(Array.isArray(entry), 'message mode sends an array');
          entries.push(entry);
          wake?.();
          const option = entry[3] as { chunk?: string } | undefined;
          if (reply === 'close') socket.end();
          else if (reply === 'wrong-ack') socket.write(encode({ ack: 'not-it' }));
          else if (reply === 'ack' && option?.chunk !== undefined) {
            // Split the ack in two writes: the client must wait for a whole msgpack value.
            const bytes = encode({ ack: option.chunk });
            socket.write(bytes.subarray(0, 3));
            setImmediate(() => socket.write(bytes.subarray(3)));
          }
        }
      } catch {
        // Client went away mid-message (abort tests).
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const next = async (): Promise<unknown[]> => {
    while (entries.length <= taken) await new Promise<void>((resolve) => (wake = resolve));
    return entries[taken++]!;
  };
  const close = (): Promise<void> => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return { port: (server.address() as AddressInfo).port, entries, next, close };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

void test('sends [tag, EventTime, record, {chunk}] from the env target and waits for the ack', async (t) => {
  const server = await fluentServer();
  t.after(() => server.close());
  const fluent = new FluentProcessor({ FLUENTBIT_HOST: '127.0.0.1', FLUENTBIT_PORT: String(server.port), FLUENTBIT_TAG: 'cron.jobs' });
  assert.deepEqual(await fluent.process(request({})), { note: 'Output sent to Fluent' });
  const [tag, time, record, option] = await server.next();
  assert.equal(tag, 'cron.jobs');
  assert.ok(time instanceof ExtData && time.type === 0, 'EventTime ext type 0');
  const view = new DataView((time.data as Uint8Array).buffer, (time.data as Uint8Array).byteOffset, 8);
  assert.equal(view.getUint32(0), Date.parse('2024-05-06T07:08:10.500Z') / 1000 - 0.5);
  assert.equal(view.getUint32(4), 500_000_000);
  assert.deepEqual(record, { host: 'node-a', job_name: 'backup', execution_id: '1715000000000001000-node-a', success: true, message: 'all good\n' });
  assert.match((option as { chunk: string }).chunk, /^[A-Za-z0-9+/]{22}==$/);
});

void test('job config host/port/tag override the env; forward keeps the output', async (t) => {
  const server = await fluentServer();
  t.after(() => server.close());
  const fluent = new FluentProcessor({ FLUENTBIT_HOST: '192.0.2.1', FLUENTBIT_PORT: '1', FLUENTBIT_TAG: 'env-tag' });
  const config = { host: '127.0.0.1', port: String(server.port), tag: 'job-tag', forward: 'true' };
  assert.equal(await fluent.process(request(config, { success: false, output: 'bad' })), undefined);
  const [tag, , record] = await server.next();
  assert.equal(tag, 'job-tag');
  assert.deepEqual(record, { host: 'node-a', job_name: 'backup', execution_id: '1715000000000001000-node-a', success: false, message: 'bad' });
});

void test('with no tag anywhere the tag is "kairos"', async (t) => {
  const server = await fluentServer();
  t.after(() => server.close());
  await new FluentProcessor({}).process(request({ host: '127.0.0.1', port: String(server.port) }));
  assert.equal((await server.next())[0], 'kairos');
});

void test('require_ack "false": no chunk option, done once written', async (t) => {
  const server = await fluentServer('silent');
  t.after(() => server.close());
  const fluent = new FluentProcessor({ FLUENTBIT_PORT: String(server.port) });
  assert.deepEqual(await fluent.process(request({ require_ack: 'false' })), { note: 'Output sent to Fluent' });
  const entry = await server.next();
  assert.deepEqual(entry[3], {});
  assert.equal((entry[2] as { message: string }).message, 'all good\n');
});

void test('a server that closes without an ack, or acks another chunk, is a failure', async (t) => {
  const closing = await fluentServer('close');
  const wrong = await fluentServer('wrong-ack');
  t.after(() => Promise.all([closing.close(), wrong.close()]));
  await assert.rejects(
    new FluentProcessor({ FLUENTBIT_PORT: String(closing.port) }).process(request({})),
    new RegExp(`^Error: fluent 127\\.0\\.0\\.1:${closing.port}: connection closed before the server acknowledged`),
  );
  await assert.rejects(new FluentProcessor({ FLUENTBIT_PORT: String(wrong.port) }).process(request({})), /unexpected response \{"ack":"not-it"\}/);
});

void test('an unreachable target rejects with the address and the reason', async () => {
  const port = await freePort();
  await assert.rejects(
    new FluentProcessor({ FLUENTBIT_HOST: '127.0.0.1', FLUENTBIT_PORT: String(port) }).process(request({})),
    new RegExp(`^Error: fluent 127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`),
  );
});

void test('the request signal ends a wait for an ack that never comes', async (t) => {
  const server = await fluentServer('silent');
  t.after(() => server.close());
  const c = new AbortController();
  const pending = new FluentProcessor({ FLUENTBIT_PORT: String(server.port) }).process(request({}, {}, c.signal));
  await server.next(); // the message arrived; the processor now waits for the ack
  c.abort(new Error('deadline'));
  await assert.rejects(pending, /abort/i);
});

void test('validate: port, tag and require_ack', () => {
  const fluent = new FluentProcessor({});
  assert.equal(fluent.validate({ host: 'fluent', port: '24224', tag: 'a.b', require_ack: 'false' }), null);
  assert.equal(fluent.validate({ port: '0' })?.field, 'processors.fluent.port');
  assert.equal(fluent.validate({ port: 'abc' })?.field, 'processors.fluent.port');
  assert.equal(fluent.validate({ tag: 'has space' })?.field, 'processors.fluent.tag');
  assert.equal(fluent.validate({ require_ack: 'yes' })?.field, 'processors.fluent.require_ack');
});

void test('in the chain, a failed delivery keeps the output and names the processor', async () => {
  const port = await freePort();
  const registry = new ProcessorRegistry();
  registry.register(new FluentProcessor({ FLUENTBIT_PORT: String(port) }));
  const stored = await runProcessors({ fluent: {} }, execution(), {
    registry,
    nodeName: 'node-a',
    log: silentLogger(),
    timeoutMs: 5000,
  });
  assert.match(stored, new RegExp(`^all good\\nprocessor "fluent" failed: fluent 127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`));
});
