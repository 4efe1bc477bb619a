import { existsSync } from 'node:fs';
import { parse } from 'shell-quote';
import type { ParseEntry } from 'shell-quote';
import { formatDuration, parseGoDuration } from '../util/duration.js';
import { OutputBuffer } from './output-buffer.js';
import { memoryExceededNote, parseMemoryLimit, watchMemory } from './shell-memory.js';
import type { MemoryWatch } from './shell-memory.js';
import { parsePayload } from './shell-payload.js';
import { parseSu, resolveSu, switchProblem } from './shell-user.js';
import type { Credentials, SuSpec } from './shell-user.js';
import type { ExecutionOutcome, ExecutionRequest, Executor } from './types.js';
import { inProcessSpawner } from './spawner/in-process.js';
import type { JobSpawner } from './spawner/job-spawner.js';
import { canHold, HELD_NEVER_RAN, heldArgs, HOLD_SHELL, onInstant } from './spawner/held-start.js';
import { holdUntil, type Ticket } from './spawner/gates.js';

export interface ShellExecutorOptions {
  /**
   * How long to wait for stdio to close once the process group is dead. Only a
   * grandchild that left the group (setsid, daemonizing) can hold the pipes
   * open that long; its later output is abandoned.
   */
  closeGraceMs?: number;
  /** How often `mem_limit` is checked (dkron: every second). Tests shorten it. */
  memCheckIntervalMs?: number;
  /** Starts the job's processes: in this process (default) or through the agent's spawner pool. */
  spawner?: JobSpawner;
}

type Problem = { field: string; message: string };

// setTimeout fires immediately for delays above this (with a warning).
const MAX_TIMER_MS = 2_147_483_647;
/** How long a held run that ran waits for its release report (it comes over IPC, in milliseconds). */
const RELEASE_REPORT_WAIT_MS = 5000;

/**
 * dkron's `shell` executor: runs `command` either through `/bin/sh -c` or,
 * by default, split into argv and executed directly. Each run gets its own
 * process group so timeouts, aborts and normal exits can reap everything the
 * job started.
 */
export class ShellExecutor implements Executor {
  readonly name = 'shell';
  readonly holdsStart = true;
  private readonly closeGraceMs: number;
  private readonly memCheckIntervalMs: number;
  private readonly spawner: JobSpawner;

  constructor(options: ShellExecutorOptions = {}) {
    this.closeGraceMs = options.closeGraceMs ?? 1000;
    this.memCheckIntervalMs = options.memCheckIntervalMs ?? 1000;
    this.spawner = options.spawner ?? inProcessSpawner;
  }

  validate(config: Record<string, string>): Problem | null {
    const command = config.command;
    if (command === undefined || command.trim() === '') {
      return { field: 'executor_config.command', message: 'command is required for the shell executor' };
    }
    const timeout = parseTimeout(config.timeout);
    if (timeout !== null && typeof timeout === 'object') return timeout;
    const shell = config.shell;
    if (shell !== undefined && shell !== '' && shell !== 'true' && shell !== 'false') {
      return { field: 'executor_config.shell', message: `shell must be "true" or "false", got "${shell}"` };
    }
    const env = parseEnv(config.env);
    if (!Array.isArray(env)) return env;
    const memLimit = parseMemoryLimit(config.mem_limit);
    if (memLimit !== null && typeof memLimit === 'object') return memLimit;
    // Only the syntax: accounts are resolved on the agent that runs the job.
    const su = parseSu(config.su);
    if (su !== null && 'field' in su) return su;
    const payload = parsePayload(config.payload);
    if (payload !== null && !Buffer.isBuffer(payload)) return payload;
    // Refused at save, not at every run: without a shell, `a | b` or `> file` can never work
    // (dkron saves such jobs and every run fails; a restore names the job and the field).
    if (shell !== 'true') {
      const argv = splitCommand(command);
      if (typeof argv === 'string') return { field: 'executor_config.command', message: argv };
    }
    return null;
  }

  async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    try {
      return await this.run(request);
    } catch (err) {
      // Callers treat a rejection as a lost run; a bad request (e.g. an invalid
      // scheduledAt) is just a failed attempt.
      const message = err instanceof Error ? err.message : String(err);
      return { success: false, exitCode: null, output: `${message}\n`, truncated: false };
    }
  }

  private async run(request: ExecutionRequest): Promise<ExecutionOutcome> {
    const output = new OutputBuffer(request.outputLimit);
    const fail = (note: string): ExecutionOutcome => ({
      success: false,
      exitCode: null,
      output: withNote(output, note),
      truncated: output.truncated,
    });

    const problem = this.validate(request.config);
    if (problem) return fail(`${problem.field}: ${problem.message}`);
    const { command, cwd } = request.config as { command: string; cwd?: string };
    const timeoutMs = parseTimeout(request.config.timeout) as number | null;
    const envEntries = parseEnv(request.config.env) as Array<[string, string]>;
    const memLimit = parseMemoryLimit(request.config.mem_limit) as number | null;
    const payload = parsePayload(request.config.payload) as Buffer | null;

    let credentials: Credentials | undefined;
    const su = parseSu(request.config.su) as SuSpec | null;
    if (su !== null) {
      if (!process.getuid || !process.getgid) return fail('su: switching users is only supported on Unix agents');
      try {
        credentials = await resolveSu(su);
      } catch (err) {
        return fail((err as Error).message);
      }
      const current = { uid: process.getuid(), gid: process.getgid() };
      const refused = switchProblem(request.config.su as string, credentials, current);
      if (refused) return fail(refused);
    }

    if (request.signal.aborted) return fail(killedNote(request.signal));

    let file: string;
    let args: string[];
    if (request.config.shell === 'true') {
      file = '/bin/sh';
      args = ['-c', command];
    } else {
      const argv = splitCommand(command);
      if (typeof argv === 'string') return fail(argv);
      file = argv[0] as string;
      args = argv.slice(1);
    }

    // On top of the agent's environment (the spawner adds them).
    const env: Record<string, string> = {};
    for (const [k, v] of envEntries) env[k] = v;
    env.KAIROS_JOB_NAME = request.jobName;
    env.KAIROS_EXECUTION_ID = request.executionId;
    env.KAIROS_NODE_NAME = request.nodeName;
    env.KAIROS_ATTEMPT = String(request.attempt);
    env.KAIROS_SCHEDULED_AT = request.scheduledAt.toISOString();
    env.ENV_JOB_NAME = request.jobName;

    // A run to start later is held (spawner/held-start.ts) when its command can be; otherwise it waits here.
    const startAt = request.startAt;
    const workDir = cwd === '' ? undefined : cwd;
    let ticket: Ticket | null = null;
    // Set with the run's state below; a release cannot come before (it is a timer).
    let onRelease: (at: number) => void = () => undefined;
    if (startAt !== undefined && startAt > Date.now()) {
      if (canHold({ file, cwd: workDir, env, ...(credentials ? { uid: credentials.uid } : {}) }, process.env)) {
        const releaser = this.spawner.releaseGate?.bind(this.spawner);
        ticket = holdUntil(startAt, (at) => onRelease(at), releaser);
      }
      if (ticket === null && !(await waitUntil(startAt, request.signal))) return { ...fail(killedNote(request.signal)), started: false };
    }
    if (startAt !== undefined && ticket === null) request.onStart?.(Date.now());

    return new Promise<ExecutionOutcome>((resolve) => {
      let pid: number | undefined;
      const notes: string[] = [];
      let exitCode: number | null = null;
      let exited = false;
      let killedByUs = false;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let graceTimer: NodeJS.Timeout | undefined;
      let memoryWatch: MemoryWatch | undefined;
      let started = ticket === null;

      const killGroup = (): void => {
        if (pid === undefined) return;
        try {
          process.kill(-pid, 'SIGKILL');
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ESRCH') notes.push(`failed to kill process group ${pid}: ${(err as Error).message}`);
        }
      };

      // A held process that exited normally, other than the gate script's 125, ran its command: its
      // gate was released, but the release may be reported after the exit (one spawner writes the
      // gate, another reports its job's exit first). The run waits for that report, so its start
      // is known and announced (execution.started, the pre-webhook) before it ends.
      let awaitingRelease: NodeJS.Timeout | undefined;
      const finish = (): void => {
        if (settled || awaitingRelease !== undefined) return;
        if (ticket !== null && startAt !== undefined && !started && !killedByUs && typeof exitCode === 'number' && exitCode !== HELD_NEVER_RAN) {
          // Not reported in time (it always is, in milliseconds): the instant is when it can have started at the earliest.
          awaitingRelease = setTimeout(() => onRelease(startAt), RELEASE_REPORT_WAIT_MS);
          return;
        }
        settled = true;
        if (timer) clearTimeout(timer);
        if (graceTimer) clearTimeout(graceTimer);
        memoryWatch?.stop();
        request.signal.removeEventListener('abort', onAbort);
        ticket?.cancel();
        // Events never arrive within spawnJob itself, so `handle` is set by then.
        handle.release();
        resolve({
          success: !killedByUs && exitCode === 0,
          exitCode,
          output: withNote(output, notes.join('\n')),
          truncated: output.truncated,
          ...(startAt !== undefined ? { started } : {}),
        });
      };

      // Before the pid is known (a spawner has not answered yet) this only marks the run;
      // the process is killed as soon as it is reported.
      const onAbort = (): void => {
        if (settled) return;
        killedByUs = true;
        notes.push(killedNote(request.signal));
        killGroup();
      };

      const onSpawn = (spawned: number): void => {
        pid = spawned;
        if (killedByUs) {
          killGroup();
          return;
        }
        if (memLimit !== null) {
          memoryWatch = watchMemory(spawned, memLimit, this.memCheckIntervalMs, (used) => {
            if (settled) return;
            killedByUs = true;
            notes.push(memoryExceededNote(used, memLimit));
            killGroup();
          });
        }
        // A held process's time counts from its release.
        if (started) armTimeout();
      };

      const armTimeout = (): void => {
        if (timeoutMs !== null) {
          const onTimeout = (): void => {
            if (settled) return;
            killedByUs = true;
            notes.push(`execution time exceeding defined timeout ${formatDuration(timeoutMs)}. Job was killed.`);
            killGroup();
          };
          const deadline = Date.now() + timeoutMs;
          const arm = (): void => {
            const left = deadline - Date.now();
            if (left > MAX_TIMER_MS) timer = setTimeout(arm, MAX_TIMER_MS);
            else timer = setTimeout(onTimeout, Math.max(1, Math.ceil(left)));
          };
          arm();
        }
      };

      onRelease = (at) => {
        if (started || settled) return;
        started = true;
        request.onStart?.(at);
        if (awaitingRelease !== undefined) {
          clearTimeout(awaitingRelease);
          awaitingRelease = undefined;
          finish();
          return;
        }
        if (pid !== undefined && !killedByUs) armTimeout();
      };

      request.signal.addEventListener('abort', onAbort, { once: true });
      const handle = this.spawner.spawnJob(
        {
          file: ticket ? HOLD_SHELL : file,
          args: ticket ? heldArgs(ticket.gate, file, args) : args,
          cwd: workDir,
          env,
          stdin: payload,
          ...(credentials ? { uid: credentials.uid, gid: credentials.gid } : {}),
        },
        {
          spawn: onSpawn,
          data: (chunk) => {
            output.append(chunk);
            if (request.onOutput) {
              try {
                request.onOutput(chunk);
              } catch {
                // A broken live-output consumer must not break the run itself.
              }
            }
          },
          error: (err, spawned) => {
            // Never spawned: nothing else follows.
            notes.push(spawned ? err.message : spawnErrorMessage(err, cwd));
            if (!spawned) finish();
          },
          exit: (code) => {
            exited = true;
            // A process that exits while held (killed) no longer waits on its gate. One that ran its
            // command has left it too; finish() may still wait for the gate's release report.
            ticket?.leave();
            exitCode = code;
            memoryWatch?.stop();
            // Reap whatever the job left behind (`cmd &`); they would otherwise
            // outlive the run and keep stdout open so 'close' never fires.
            killGroup();
            // After the grace period something outside the group may still hold the pipes.
            graceTimer = setTimeout(finish, this.closeGraceMs);
          },
          close: finish,
          lost: (reason) => {
            // A process still held never ran its command and never will: nothing may be left waiting.
            if (!started) killGroup();
            // Once the exit is known the run's outcome is too; only its late output is missing.
            if (!exited) notes.push(reason);
            finish();
          },
        },
      );
    });
  }
}

/** Milliseconds, null for "no timeout", or the validation problem. */
function parseTimeout(raw: string | undefined): number | null | Problem {
  if (raw === undefined || raw.trim() === '') return null;
  let ms: number;
  try {
    ms = parseGoDuration(raw);
  } catch (err) {
    return { field: 'executor_config.timeout', message: `Error parsing job timeout value: ${(err as Error).message}` };
  }
  if (!(ms > 0)) {
    return {
      field: 'executor_config.timeout',
      message: `Error parsing job timeout value: timeout must be positive, got "${raw}"`,
    };
  }
  return ms;
}

/** dkron's `K=V,K2=V2`; empty items (trailing commas) are ignored. */
function parseEnv(raw: string | undefined): Array<[string, string]> | Problem {
  const entries: Array<[string, string]> = [];
  if (raw === undefined) return entries;
  for (const item of raw.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) {
      return { field: 'executor_config.env', message: `env entry "${item}" must be KEY=VALUE` };
    }
    entries.push([item.slice(0, eq), item.slice(eq + 1)]);
  }
  return entries;
}

/**
 * Splits like a shell would (quotes, escapes) without running one. Returns
 * argv, or an error message for syntax only a shell can execute.
 */
// Words of these characters only mean the same to every shell: split on blanks, skip the parser.
const PLAIN_COMMAND = /^[A-Za-z0-9_\-./:=,@%+ \t]*$/;

function splitCommand(command: string): string[] | string {
  if (PLAIN_COMMAND.test(command)) {
    const words = command.split(/[ \t]+/).filter((w) => w !== '');
    return words.length > 0 ? words : 'command is empty after parsing';
  }
  let entries: ParseEntry[];
  try {
    // dkron passes `$VAR` through literally when not using a shell. shell-quote
    // only hands us the name, so the braced form is returned: same meaning to
    // any shell the argument later reaches, and `${X}y` / `${X:-d}` survive.
    entries = parse(command, (key: string): string | undefined => (key === '' ? undefined : `\${${key}}`));
  } catch (err) {
    return `cannot parse command: ${(err as Error).message}`;
  }
  const argv: string[] = [];
  for (const entry of entries) {
    if (typeof entry === 'string') {
      argv.push(entry);
    } else if ('comment' in entry) {
      break;
    } else if (entry.op === 'glob') {
      return `command contains the glob "${entry.pattern}", which needs a shell: quote it or set shell to "true"`;
    } else {
      return `command contains the shell operator "${entry.op}", which needs a shell: quote it or set shell to "true"`;
    }
  }
  if (argv.length === 0) return 'command is empty after parsing';
  return argv;
}

function killedNote(signal: AbortSignal): string {
  // The reason is whatever the agent aborted with; any value is printable.
  const reason: unknown = signal.reason;
  return `killed: ${String(reason ?? 'aborted')}`;
}

function spawnErrorMessage(err: unknown, cwd: string | undefined): string {
  const message = err instanceof Error ? err.message : String(err);
  // A missing cwd surfaces as "spawn <file> ENOENT", which blames the binary.
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' && cwd && !existsSync(cwd)) {
    return `${message} (cwd "${cwd}" does not exist)`;
  }
  return message;
}

function withNote(output: OutputBuffer, note: string): string {
  const text = output.toString();
  if (note === '') return text;
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  return `${text}${sep}${note}\n`;
}

/** Resolves true at `at` (epoch ms), never before, or false as soon as `signal` aborts. */
function waitUntil(at: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      cancel();
      resolve(false);
    };
    const cancel = onInstant(at, () => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
