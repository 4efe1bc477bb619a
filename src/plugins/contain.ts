/**
 * Wrappers around executors and processors from plugin modules. Their code runs inside the
 * agent, so it cannot be killed; what can be contained is its effect on a run: a throw becomes
 * a failed outcome, a run that overruns its `timeout` (or is aborted) is answered at once and
 * the plugin's late result ignored, and a malformed outcome is refused.
 */
import { OutputBuffer } from '../executors/output-buffer.js';
import type { ExecutionOutcome, ExecutionRequest, Executor } from '../executors/types.js';
import type { ProcessRequest, ProcessResult, Processor } from '../processors/types.js';
import { formatDuration } from '../util/duration.js';
import { errorMessage, failed, killedNote } from './outcome.js';
import { isProblem, pluginTimeout, setDeadline } from './timeout.js';

type Problem = { field: string; message: string };

export class ContainedExecutor implements Executor {
  readonly name: string;

  constructor(private readonly inner: Executor) {
    this.name = inner.name;
  }

  validate(config: Record<string, string>): Problem | null {
    let problem: Problem | null;
    try {
      problem = this.inner.validate(config);
    } catch (err) {
      return { field: 'executor_config', message: `executor plugin "${this.name}" failed to validate: ${errorMessage(err)}` };
    }
    if (problem) return problem;
    const timeout = pluginTimeout(config);
    return isProblem(timeout) ? timeout : null;
  }

  async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    // Streamed output is kept here too, so a run that throws or hangs still shows what it printed.
    const streamed = new OutputBuffer(request.outputLimit);
    const timeout = pluginTimeout(request.config);
    if (isProblem(timeout)) return failed(streamed, `${timeout.field}: ${timeout.message}`);
    if (request.signal.aborted) return failed(streamed, killedNote(request.signal));

    // The plugin sees its own signal, aborted on our deadline as well as the agent's.
    const controller = new AbortController();
    let settled = false;
    const onOutput = (chunk: Buffer): void => {
      if (settled) return;
      streamed.append(chunk);
      try {
        request.onOutput?.(chunk);
      } catch {
        // A broken live-output consumer must not break the run itself.
      }
    };

    let cancelDeadline = (): void => undefined;
    let onAbort = (): void => undefined;
    const stopped = new Promise<string>((resolve) => {
      onAbort = () => resolve(killedNote(request.signal));
      request.signal.addEventListener('abort', onAbort, { once: true });
      if (timeout !== null) {
        cancelDeadline = setDeadline(timeout, () =>
          resolve(`execution time exceeding defined timeout ${formatDuration(timeout)}. Plugin run abandoned.`),
        );
      }
    });

    let run: Promise<ExecutionOutcome>;
    try {
      run = Promise.resolve(this.inner.execute({ ...request, signal: controller.signal, onOutput }));
    } catch (err) {
      run = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    try {
      const first = await Promise.race([run.then((outcome) => ({ outcome })), stopped.then((reason) => ({ reason }))]);
      if ('reason' in first) {
        controller.abort(new Error(first.reason));
        // Its eventual rejection has nobody left to handle it.
        run.catch(() => undefined);
        return failed(streamed, first.reason);
      }
      return this.checked(first.outcome, streamed, request.outputLimit);
    } catch (err) {
      return failed(streamed, `executor plugin "${this.name}" threw: ${errorMessage(err)}`);
    } finally {
      settled = true;
      cancelDeadline();
      request.signal.removeEventListener('abort', onAbort);
    }
  }

  /** A plugin's outcome, bounded to `outputLimit`; anything not shaped like an outcome fails the run. */
  private checked(outcome: unknown, streamed: OutputBuffer, limit: number): ExecutionOutcome {
    const o = outcome as Partial<ExecutionOutcome> | null | undefined;
    if (typeof o !== 'object' || o === null || typeof o.success !== 'boolean') {
      return failed(streamed, `executor plugin "${this.name}" returned an invalid outcome (expected { success, exitCode, output })`);
    }
    const bounded = new OutputBuffer(limit);
    bounded.append(Buffer.from(typeof o.output === 'string' ? o.output : '', 'utf8'));
    return {
      success: o.success,
      exitCode: typeof o.exitCode === 'number' && Number.isInteger(o.exitCode) ? o.exitCode : null,
      output: bounded.toString(),
      truncated: bounded.truncated || o.truncated === true,
    };
  }
}

/**
 * The processor chain already races processors against its deadline and records throws; this
 * wrapper covers the save-time path, where a throwing validate() would fail the job's save
 * with a 500 instead of naming the plugin.
 */
export class ContainedProcessor implements Processor {
  readonly name: string;

  constructor(private readonly inner: Processor) {
    this.name = inner.name;
  }

  validate(config: Record<string, string>): Problem | null {
    try {
      return this.inner.validate(config);
    } catch (err) {
      return { field: `processors.${this.name}`, message: `processor plugin "${this.name}" failed to validate: ${errorMessage(err)}` };
    }
  }

  async process(request: ProcessRequest): Promise<ProcessResult | undefined> {
    return this.inner.process(request);
  }
}
