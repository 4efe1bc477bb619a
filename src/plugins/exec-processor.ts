/**
 * A processor implemented by an executable (`kairos-processor-<name>`) speaking the protocol of
 * ./protocol.ts: one `process` request in, one `result` or `error` line out. Failures reject
 * with the reason (the processor chain records it next to the output and carries on); the
 * process group is killed whatever happens.
 */
import type { ProcessRequest, ProcessResult, Processor } from '../processors/types.js';
import { formatDuration } from '../util/duration.js';
import { LineSplitter } from './lines.js';
import { errorMessage } from './outcome.js';
import { killGroup, pluginEnv, spawnPlugin } from './process-group.js';
import type { PluginChild } from './process-group.js';
import { PROTOCOL_VERSION, parseLine, processorMessage } from './protocol.js';
import type { ProcessRequestMessage } from './protocol.js';
import { setDeadline } from './timeout.js';

export interface ExecProcessorOptions {
  /** Longest one run may take before its group is killed. */
  timeoutMs?: number;
  /** Longest accepted protocol line (the result carries the whole output). */
  maxLineBytes?: number;
  /** stderr bytes kept for the error message. */
  stderrLimit?: number;
}

export class ExecProcessor implements Processor {
  private readonly timeoutMs: number;
  private readonly maxLineBytes: number;
  private readonly stderrLimit: number;

  constructor(
    readonly name: string,
    /** Absolute path of the executable. */
    readonly path: string,
    options: ExecProcessorOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxLineBytes = options.maxLineBytes ?? 64 * 1024 * 1024;
    this.stderrLimit = options.stderrLimit ?? 4096;
  }

  /** The config belongs to the plugin; it sees it (and can refuse it) when it runs. */
  validate(_config: Record<string, string>): { field: string; message: string } | null {
    return null;
  }

  process(request: ProcessRequest): Promise<ProcessResult> {
    if (request.signal.aborted) return Promise.reject(new Error(abortReason(request.signal)));
    const message: ProcessRequestMessage = {
      type: 'process',
      protocol: PROTOCOL_VERSION,
      node_name: request.nodeName,
      execution: request.execution,
      config: request.config,
    };
    let child: PluginChild;
    try {
      child = spawnPlugin(this.path, message, pluginEnv({ KAIROS_NODE_NAME: request.nodeName }));
    } catch (err) {
      return Promise.reject(new Error(`cannot start plugin ${this.path}: ${errorMessage(err)}`));
    }
    return this.supervise(child, request.signal);
  }

  private supervise(child: PluginChild, signal: AbortSignal): Promise<ProcessResult> {
    return new Promise<ProcessResult>((resolve, reject) => {
      const pid = child.pid;
      const lines = new LineSplitter(this.maxLineBytes);
      let stderr = '';
      let answer: { result: ProcessResult } | { error: string } | null = null;
      let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
      let settled = false;
      let closeGrace: NodeJS.Timeout | undefined;

      const finish = (): void => {
        if (settled) return;
        const last = lines.end();
        // A last line without its newline still counts; answering settles through finish() again.
        if (last !== null) handle(last);
        if (settled) return;
        settled = true;
        cancelDeadline();
        clearTimeout(closeGrace);
        signal.removeEventListener('abort', onAbort);
        killGroup(pid);
        child.stdout.destroy();
        child.stderr.destroy();
        if (answer && 'result' in answer) return resolve(answer.result);
        if (answer) return reject(new Error(answer.error));
        const how = exit === null ? 'unknown status' : exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
        reject(new Error(`plugin exited (${how}) before sending a result${stderrTail(stderr)}`));
      };
      // Any answer (or failure) is final: the group is killed and the run settles.
      const settle = (a: { result: ProcessResult } | { error: string }): void => {
        if (answer) return;
        answer = a;
        finish();
      };
      const handle = (line: string): void => {
        if (answer || line.trim() === '') return;
        const parsed = parseLine(line, processorMessage);
        if (!parsed.ok) return settle({ error: `${parsed.reason}${stderrTail(stderr)}` });
        const msg = parsed.message;
        if (msg.type === 'error') return settle({ error: msg.message });
        const result: ProcessResult = {};
        if (msg.output !== undefined) result.output = msg.output;
        if (msg.note !== undefined) result.note = msg.note;
        // Settled at once, not at exit: a plugin lingering after its answer must not hold the chain.
        settle({ result });
      };
      const onAbort = (): void => settle({ error: `${abortReason(signal)}${stderrTail(stderr)}` });
      const cancelDeadline =
        pid === undefined
          ? () => undefined
          : setDeadline(this.timeoutMs, () =>
              settle({ error: `did not finish within ${formatDuration(this.timeoutMs)}; plugin was killed${stderrTail(stderr)}` }),
            );

      child.stdout.on('data', (chunk: Buffer) => {
        if (settled) return;
        const split = lines.push(chunk);
        if ('error' in split) return settle({ error: split.error });
        for (const line of split.lines) handle(line);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < this.stderrLimit) stderr += chunk.toString('utf8').slice(0, this.stderrLimit - stderr.length);
      });
      child.on('error', (err) => {
        if (pid === undefined) settle({ error: `cannot start plugin ${this.path}: ${err.message}` });
      });
      child.on('exit', (code, sig) => {
        exit = { code, signal: sig };
        killGroup(pid);
        closeGrace = setTimeout(finish, 1000);
      });
      child.on('close', () => {
        if (pid !== undefined) finish();
      });
      if (pid !== undefined) signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return `aborted: ${reason instanceof Error ? reason.message : String(reason ?? 'aborted')}`;
}

function stderrTail(stderr: string): string {
  const text = stderr.trim();
  return text === '' ? '' : ` (stderr: ${text})`;
}
