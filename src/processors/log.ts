/**
 * dkron's `log` processor: the output goes to the agent's own stdout (success) or stderr
 * (failure) between BEGIN/END marker lines, for whoever collects the agent's logs.
 */
import type { Writable } from 'node:stream';
import { forwards } from './types.js';
import type { Processor, ProcessRequest, ProcessResult } from './types.js';

export interface LogProcessorOptions {
  /** Where successful outputs go (default process.stdout). */
  stdout?: Writable;
  /** Where failed outputs go (default process.stderr). */
  stderr?: Writable;
}

export class LogProcessor implements Processor {
  readonly name = 'log';
  private readonly stdout: Writable;
  private readonly stderr: Writable;

  constructor(options: LogProcessorOptions = {}) {
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
  }

  validate(): { field: string; message: string } | null {
    return null;
  }

  async process(request: ProcessRequest): Promise<ProcessResult | undefined> {
    request.signal.throwIfAborted();
    const e = request.execution;
    const sep = e.output === '' || e.output.endsWith('\n') ? '' : '\n';
    // One write, so concurrent executions' blocks don't interleave line by line.
    const block = `----- BEGIN OUTPUT job=${e.job_name} execution=${e.id} -----\n${e.output}${sep}----- END OUTPUT -----\n`;
    await writeAll(e.success ? this.stdout : this.stderr, block, request.signal);
    return forwards(request.config) ? undefined : { note: 'Output in kairos log' };
  }
}

/** Resolves once the stream has taken the block (flushed to the fd for stdio), or the signal fires. */
function writeAll(stream: Writable, text: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    stream.write(text, (err) => {
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    });
  });
}
