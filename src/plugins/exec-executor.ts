/**
 * An executor implemented by an executable (`kairos-executor-<name>`), in any language, speaking
 * the line-delimited JSON protocol of ./protocol.ts. One process per run, in its own process
 * group. Whatever the plugin does — crash, hang, write garbage, exit early — the run ends as a
 * failed outcome with the reason, and the group is killed.
 */
import { OutputBuffer } from '../executors/output-buffer.js';
import type { ExecutionOutcome, ExecutionRequest, Executor } from '../executors/types.js';
import { formatDuration } from '../util/duration.js';
import { LineSplitter } from './lines.js';
import { errorMessage, failed, killedNote, withNote } from './outcome.js';
import { killGroup, pluginEnv, spawnPlugin } from './process-group.js';
import type { PluginChild } from './process-group.js';
import { PROTOCOL_VERSION, executorMessage, parseLine } from './protocol.js';
import type { ExecuteRequestMessage, ExecutorMessage } from './protocol.js';
import { isProblem, pluginTimeout, setDeadline } from './timeout.js';

export interface ExecExecutorOptions {
  /**
   * How long a plugin may take to exit after its result (and how long stdio may stay open once
   * the group is dead, when a grandchild left the group) before it is killed / abandoned.
   */
  closeGraceMs?: number;
  /** Longest accepted protocol line. */
  maxLineBytes?: number;
}

type Result = Extract<ExecutorMessage, { type: 'result' }>;

export class ExecExecutor implements Executor {
  private readonly closeGraceMs: number;
  private readonly maxLineBytes: number;

  constructor(
    readonly name: string,
    /** Absolute path of the executable. */
    readonly path: string,
    options: ExecExecutorOptions = {},
  ) {
    this.closeGraceMs = options.closeGraceMs ?? 1000;
    this.maxLineBytes = options.maxLineBytes ?? 4 * 1024 * 1024;
  }

  /** Only the `timeout` key is Kairos's; the rest belongs to the plugin and is checked when it runs. */
  validate(config: Record<string, string>): { field: string; message: string } | null {
    const timeout = pluginTimeout(config);
    return isProblem(timeout) ? timeout : null;
  }

  async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    try {
      return await this.run(request);
    } catch (err) {
      // Callers treat a rejection as a lost run; anything unexpected is just a failed attempt.
      return { success: false, exitCode: null, output: `${errorMessage(err)}\n`, truncated: false };
    }
  }

  private run(request: ExecutionRequest): Promise<ExecutionOutcome> {
    const output = new OutputBuffer(request.outputLimit);
    const timeout = pluginTimeout(request.config);
    if (isProblem(timeout)) return Promise.resolve(failed(output, `${timeout.field}: ${timeout.message}`));
    if (request.signal.aborted) return Promise.resolve(failed(output, killedNote(request.signal)));

    const message: ExecuteRequestMessage = {
      type: 'execute',
      protocol: PROTOCOL_VERSION,
      job_name: request.jobName,
      execution_id: request.executionId,
      node_name: request.nodeName,
      attempt: request.attempt,
      scheduled_at: request.scheduledAt.toISOString(),
      config: request.config,
    };
    let child: PluginChild;
    try {
      child = spawnPlugin(this.path, message, pluginEnv(runEnv(request)));
    } catch (err) {
      return Promise.resolve(failed(output, `cannot start plugin ${this.path}: ${errorMessage(err)}`));
    }
    return this.supervise(child, request, output, timeout);
  }

  private supervise(
    child: PluginChild,
    request: ExecutionRequest,
    output: OutputBuffer,
    timeoutMs: number | null,
  ): Promise<ExecutionOutcome> {
    return new Promise<ExecutionOutcome>((resolve) => {
      const pid = child.pid;
      const lines = new LineSplitter(this.maxLineBytes);
      const notes: string[] = [];
      let result: Result | null = null;
      // The first reason the run went wrong; later symptoms (the exit caused by our kill) are noise.
      let failure: string | null = null;
      let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
      let settled = false;
      let cancelDeadline: (() => void) | undefined;
      let resultGrace: NodeJS.Timeout | undefined;
      let closeGrace: NodeJS.Timeout | undefined;

      const kill = (): void => {
        const problem = killGroup(pid);
        if (problem) notes.push(problem);
      };
      const failWith = (reason: string): void => {
        if (settled || result || failure) return;
        failure = reason;
        kill();
      };
      const emit = (chunk: Buffer): void => {
        if (settled || chunk.length === 0) return;
        output.append(chunk);
        try {
          request.onOutput?.(chunk);
        } catch {
          // A broken live-output consumer must not break the run itself.
        }
      };
      const handle = (line: string): void => {
        if (result || failure || line.trim() === '') return;
        const parsed = parseLine(line, executorMessage);
        if (!parsed.ok) return failWith(parsed.reason);
        const msg = parsed.message;
        if (msg.type === 'output') return emit(Buffer.from(msg.data, 'utf8'));
        result = msg;
        // The result is final: a plugin that lingers after it is not waited for.
        resultGrace = setTimeout(kill, this.closeGraceMs);
      };

      const finish = (): void => {
        if (settled) return;
        // A last line without its newline still counts.
        const last = lines.end();
        if (last !== null) handle(last);
        settled = true;
        cancelDeadline?.();
        clearTimeout(resultGrace);
        clearTimeout(closeGrace);
        request.signal.removeEventListener('abort', onAbort);
        kill();
        child.stdout.destroy();
        child.stderr.destroy();
        resolve(this.outcome(output, result, failure, exit, notes));
      };

      const onAbort = (): void => failWith(killedNote(request.signal));

      child.stdout.on('data', (chunk: Buffer) => {
        if (settled) return;
        const split = lines.push(chunk);
        if ('error' in split) return failWith(split.error);
        for (const line of split.lines) handle(line);
      });
      // stderr is the plugin's diagnostics (a traceback): part of the output, bounded with it.
      child.stderr.on('data', emit);

      child.on('error', (err) => {
        if (pid === undefined) {
          // Never started: no 'exit' follows.
          failure ??= `cannot start plugin ${this.path}: ${err.message}`;
          finish();
        } else {
          notes.push(err.message);
        }
      });
      child.on('exit', (code, signal) => {
        exit = { code, signal };
        // Reap what the plugin left behind; it would keep stdout open and 'close' from firing.
        kill();
        closeGrace = setTimeout(finish, this.closeGraceMs);
      });
      child.on('close', () => {
        if (pid !== undefined) finish();
      });

      if (pid === undefined) return;
      request.signal.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== null) {
        cancelDeadline = setDeadline(timeoutMs, () =>
          failWith(`execution time exceeding defined timeout ${formatDuration(timeoutMs)}. Plugin was killed.`),
        );
      }
    });
  }

  private outcome(
    output: OutputBuffer,
    result: Result | null,
    failure: string | null,
    exit: { code: number | null; signal: NodeJS.Signals | null } | null,
    notes: string[],
  ): ExecutionOutcome {
    const extra = notes.length > 0 ? `\n${notes.join('\n')}` : '';
    if (failure !== null) return failed(output, `${failure}${extra}`);
    if (result === null) {
      const how = exit === null ? 'unknown status' : exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
      return failed(output, `plugin exited (${how}) before sending a result${extra}`, exit?.code ?? null);
    }
    const reason = result.success ? '' : (result.error ?? 'plugin reported failure without a reason');
    const note = `${reason}${reason && extra ? extra : extra.trimStart()}`;
    return {
      success: result.success,
      exitCode: result.exit_code ?? exit?.code ?? null,
      output: withNote(output, note),
      truncated: output.truncated,
    };
  }
}

/** Same variables the shell executor sets, for plugins that prefer the environment. */
function runEnv(request: ExecutionRequest): Record<string, string> {
  return {
    KAIROS_JOB_NAME: request.jobName,
    KAIROS_EXECUTION_ID: request.executionId,
    KAIROS_NODE_NAME: request.nodeName,
    KAIROS_ATTEMPT: String(request.attempt),
    KAIROS_SCHEDULED_AT: request.scheduledAt.toISOString(),
  };
}
