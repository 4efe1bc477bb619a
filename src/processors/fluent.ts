/**
 * dkron's `fluent` processor: the output goes to Fluent Bit / Fluentd over the Forward protocol
 * (TCP, Message Mode: `[tag, time, record, option]`). Target and tag come from the agent's
 * environment as in dkron (FLUENTBIT_HOST, FLUENTBIT_PORT, FLUENTBIT_TAG); the job's config keys
 * `host`, `port` and `tag` override them.
 *
 * Unlike dkron (fire and forget), the message carries a `chunk` option and we wait for the
 * server's `{ack: chunk}`, so "Output sent to Fluent" means it was received. Fluentd and Fluent Bit
 * (>= 1.5) answer it; `require_ack: "false"` turns it off for servers that don't.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { ExtData as ExtDataType } from '@msgpack/msgpack';
import { forwards } from './types.js';
import type { Processor, ProcessRequest, ProcessResult } from './types.js';

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 24224;
const DEFAULT_TAG = 'kairos';
// An ack is a tiny map; anything bigger is not a Forward server talking.
const MAX_RESPONSE_BYTES = 64 * 1024;

type Problem = { field: string; message: string };
type Env = Record<string, string | undefined>;

interface Target {
  host: string;
  port: number;
  tag: string;
  ack: boolean;
}

export class FluentProcessor implements Processor {
  readonly name = 'fluent';

  /** @param env where FLUENTBIT_HOST / FLUENTBIT_PORT / FLUENTBIT_TAG are read (normally process.env). */
  constructor(private readonly env: Env = process.env) {}

  validate(config: Record<string, string>): Problem | null {
    if (config.port !== undefined && config.port !== '' && parsePort(config.port) === null) {
      return { field: 'processors.fluent.port', message: `port must be 1-65535, got "${config.port}"` };
    }
    if (config.tag !== undefined && config.tag !== '' && !/^[\x21-\x7e]+$/.test(config.tag)) {
      return { field: 'processors.fluent.tag', message: `tag must be printable ASCII without spaces, got "${config.tag}"` };
    }
    const ack = config.require_ack;
    if (ack !== undefined && ack !== '' && ack !== 'true' && ack !== 'false') {
      return { field: 'processors.fluent.require_ack', message: `require_ack must be "true" or "false", got "${ack}"` };
    }
    return null;
  }

  async process(request: ProcessRequest): Promise<ProcessResult | undefined> {
    const target = this.target(request.config);
    const { encode, decodeMulti, ExtData } = await import('@msgpack/msgpack');
    const e = request.execution;
    const finished = e.finished_at ? Date.parse(e.finished_at) : Number.NaN;
    const chunk = randomBytes(16).toString('base64');
    const message = [
      target.tag,
      eventTime(Number.isNaN(finished) ? Date.now() : finished, ExtData),
      { host: request.nodeName, job_name: e.job_name, execution_id: e.id, success: e.success, message: e.output },
      target.ack ? { chunk } : {},
    ];
    const where = `fluent ${target.host}:${target.port}`;
    try {
      await send(target, encode(message), request.signal, (response) => {
        // Only the first value counts (a server may send more); a partial one throws RangeError: wait.
        let value: unknown;
        try {
          value = decodeMulti(response).next().value;
        } catch (err) {
          if (err instanceof RangeError) return 'more';
          throw err;
        }
        const ack = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).ack : undefined;
        if (ack !== chunk) throw new Error(`unexpected response ${JSON.stringify(value)}`);
        return 'done';
      });
    } catch (err) {
      throw new Error(`${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return forwards(request.config) ? undefined : { note: 'Output sent to Fluent' };
  }

  private target(config: Record<string, string>): Target {
    const pick = (key: string, envKey: string): string | undefined => {
      const v = config[key];
      if (v !== undefined && v !== '') return v;
      const fromEnv = this.env[envKey];
      return fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined;
    };
    const rawPort = pick('port', 'FLUENTBIT_PORT');
    const port = rawPort === undefined ? DEFAULT_PORT : parsePort(rawPort);
    if (port === null) throw new Error(`fluent port must be 1-65535, got "${rawPort}"`);
    return {
      host: pick('host', 'FLUENTBIT_HOST') ?? DEFAULT_HOST,
      port,
      tag: pick('tag', 'FLUENTBIT_TAG') ?? DEFAULT_TAG,
      ack: config.require_ack !== 'false',
    };
  }
}

function parsePort(raw: string): number | null {
  if (!/^\d{1,5}$/.test(raw.trim())) return null;
  const port = Number(raw.trim());
  return port >= 1 && port <= 65535 ? port : null;
}

/** Forward protocol EventTime: ext type 0, big-endian uint32 seconds then uint32 nanoseconds. */
function eventTime(ms: number, ExtData: typeof ExtDataType): ExtDataType {
  const data = new Uint8Array(8);
  const view = new DataView(data.buffer);
  view.setUint32(0, Math.floor(ms / 1000));
  view.setUint32(4, (ms % 1000) * 1_000_000);
  return new ExtData(0, data);
}

/**
 * Writes the message; with an ack, reads until `onResponse` says 'done', otherwise until the
 * bytes are flushed to the kernel. Then closes the connection.
 */
function send(
  target: Target,
  payload: Uint8Array,
  signal: AbortSignal,
  onResponse: (response: Uint8Array) => 'more' | 'done',
): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: target.host, port: target.port, signal });
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const received: Buffer[] = [];
    let size = 0;
    socket.once('error', (err) => finish(err));
    socket.once('connect', () => {
      if (target.ack) socket.write(payload);
      else socket.end(payload);
    });
    if (!target.ack) {
      // Flushed to the kernel and our FIN sent: nothing more to wait for without an ack.
      socket.once('finish', () => finish());
      return;
    }
    socket.on('data', (data: Buffer) => {
      received.push(data);
      size += data.length;
      if (size > MAX_RESPONSE_BYTES) return finish(new Error('response too large for an ack'));
      try {
        if (onResponse(Buffer.concat(received)) === 'done') finish();
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
      }
    });
    socket.once('end', () => finish(new Error('connection closed before the server acknowledged the message')));
  });
}
