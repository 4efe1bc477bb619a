/**
 * dkron's `syslog` processor: the output goes to syslog as ONE RFC 5424 message per execution
 * (facility cron, severity info on success / err on failure, APP-NAME `kairos`, MSGID the job
 * name, structured data naming job, execution and node). One message keeps an execution's
 * output together and searchable by its id; it is bounded (default 8 KiB, rsyslog's default
 * maximum) by keeping the end of the output.
 *
 * Targets (job config `address`): `udp://host:port`, `tcp://host:port` (octet-counting framing,
 * RFC 6587) or empty for the local syslog. Node cannot send to the `/dev/log` unix datagram
 * socket, so the local case runs util-linux `logger`.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import type { Execution } from '../job/types.js';
import {
  formatSyslog,
  headerField,
  parseSyslogAddress,
  APP_NAME,
  SD_ID,
  SEVERITY_ERR,
  SEVERITY_INFO,
  sdParams,
  syslogHeader,
  tailBytes,
} from './syslog-format.js';
import type { SyslogFields } from './syslog-format.js';
import { forwards } from './types.js';
import type { Processor, ProcessRequest, ProcessResult } from './types.js';

export interface SyslogProcessorOptions {
  /** Unix socket of the local syslog (logger's `--socket`). */
  socketPath?: string;
  /** The util-linux logger binary. */
  loggerPath?: string;
  /** Largest message sent, header included. */
  maxMessageBytes?: number;
}

const DEFAULT_MAX_BYTES = 8192;
// logger logs nothing for an empty message (it reads stdin instead); say so explicitly.
const EMPTY_OUTPUT = '(no output)';

export class SyslogProcessor implements Processor {
  readonly name = 'syslog';
  private readonly socketPath: string;
  private readonly loggerPath: string;
  private readonly maxBytes: number;

  constructor(options: SyslogProcessorOptions = {}) {
    this.socketPath = options.socketPath ?? '/dev/log';
    this.loggerPath = options.loggerPath ?? 'logger';
    this.maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_BYTES;
  }

  validate(config: Record<string, string>): { field: string; message: string } | null {
    const target = parseSyslogAddress(config.address);
    if (typeof target === 'string') return { field: 'processors.syslog.address', message: target };
    return null;
  }

  async process(request: ProcessRequest): Promise<ProcessResult | undefined> {
    const target = parseSyslogAddress(request.config.address);
    if (typeof target === 'string') throw new Error(target);
    const e = request.execution;
    const fields = messageFields(e, request.nodeName);
    const content = e.output === '' ? EMPTY_OUTPUT : e.output;
    if (target.kind === 'local') {
      await this.sendLocal(fields, content, request.signal);
    } else {
      const message = formatSyslog(fields, content, this.maxBytes);
      const where = `syslog ${target.address}`;
      try {
        if (target.kind === 'udp') await sendUdp(target.host, target.port, message, request.signal);
        else await sendTcp(target.host, target.port, message, request.signal);
      } catch (err) {
        throw new Error(`${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
    return forwards(request.config) ? undefined : { note: 'Output in syslog' };
  }

  private async sendLocal(f: SyslogFields, content: string, signal: AbortSignal): Promise<void> {
    // Same budget as a network message; logger adds its own timeQuality element, which --size ignores.
    const room = Math.max(0, this.maxBytes - Buffer.byteLength(syslogHeader(f)) - 1);
    const args = [
      '--rfc5424',
      '-t', APP_NAME,
      '-p', `cron.${f.severity === SEVERITY_ERR ? 'err' : 'info'}`,
      `--id=${f.procId}`,
      '--msgid', headerField(f.msgId, 32),
      '--socket', this.socketPath,
      '--socket-errors=on',
      '--size', String(this.maxBytes),
      '--sd-id', SD_ID,
      ...sdParams(f.sd).flatMap((p) => ['--sd-param', p]),
      '--',
      tailBytes(content, room),
    ];
    // An argv string can't hold NUL (spawn throws); job output sometimes does.
    await runLogger(this.loggerPath, args.map((a) => a.replace(/\0/g, '\uFFFD')), signal);
  }
}

function messageFields(e: Readonly<Execution>, nodeName: string): SyslogFields {
  const finished = e.finished_at ? new Date(e.finished_at) : new Date();
  return {
    severity: e.success ? SEVERITY_INFO : SEVERITY_ERR,
    timestamp: Number.isNaN(finished.getTime()) ? new Date() : finished,
    hostname: hostname(),
    procId: String(process.pid),
    msgId: e.job_name,
    sd: { job: e.job_name, execution: e.id, node: nodeName, success: String(e.success) },
  };
}


function runLogger(path: string, args: string[], signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['ignore', 'ignore', 'pipe'], signal });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 4096) stderr += chunk;
    });
    child.on('error', (err) => {
      if (signal.aborted) reject(err);
      else reject(new Error(`local syslog: cannot run ${path}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, sig) => {
      if (code === 0) resolve();
      else reject(new Error(`local syslog: ${stderr.trim() || `${path} exited with ${code ?? sig}`}`));
    });
  });
}

async function sendUdp(host: string, port: number, message: string, signal: AbortSignal): Promise<void> {
  const { address, family } = await lookup(host);
  signal.throwIfAborted();
  const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', signal });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.send(Buffer.from(message, 'utf8'), port, address, (err) => (err ? reject(err) : resolve()));
    });
  } finally {
    // Already closed when the signal fired.
    try {
      socket.close();
    } catch {
      // ignore
    }
  }
}

/** RFC 6587 octet counting: `<length> <message>`, then a clean close once the peer has it all. */
function sendTcp(host: string, port: number, message: string, signal: AbortSignal): Promise<void> {
  const body = Buffer.from(message, 'utf8');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, signal });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.end(Buffer.concat([Buffer.from(`${body.length} `), body]));
    });
    // 'finish' = everything handed to the kernel and our FIN sent; the receiver closing first is fine.
    socket.once('finish', () => {
      socket.destroy();
      resolve();
    });
  });
}
