/**
 * Executors run one attempt of a job on this agent. `shell` is built in;
 * plugins implement the same interface and register in the executor registry.
 */

export interface ExecutionRequest {
  jobName: string;
  executionId: string;
  nodeName: string;
  attempt: number;
  /** The tick's scheduled instant; for a manual run, the request time. */
  scheduledAt: Date;
  /** The job's `executor_config` (all values strings, as dkron). */
  config: Record<string, string>;
  /** Bytes of output kept (the tail). */
  outputLimit: number;
  /** Aborting kills the run at once (shutdown deadline); `signal.reason` is put in the output. */
  signal: AbortSignal;
  /** Live output, for /v1/busy. */
  onOutput?: (chunk: Buffer) => void;
  /**
   * Only for an executor that `holdsStart`: start the run at this instant (epoch ms), not at once.
   * The executor prepares it now and calls `onStart` with the instant it started.
   */
  startAt?: number;
  onStart?: (at: number) => void;
}

export interface ExecutionOutcome {
  success: boolean;
  /** Process exit code, null when there was no process exit (spawn failure, killed by signal). */
  exitCode: number | null;
  /** The last `outputLimit` bytes of combined stdout+stderr, plus any note from the executor. */
  output: string;
  /** True when earlier output was dropped to respect `outputLimit`. */
  truncated: boolean;
  /** False when the run was to start at `startAt` and never did (aborted while it waited). */
  started?: boolean;
}

export interface Executor {
  readonly name: string;
  /**
   * Create-time check of `executor_config`: returns a problem naming the key, or null.
   * Keys are reported as `executor_config.<key>`.
   */
  validate(config: Record<string, string>): { field: string; message: string } | null;
  execute(request: ExecutionRequest): Promise<ExecutionOutcome>;
  /**
   * Whether `execute` takes `request.startAt`: the runner then hands it a run dispatched ahead of
   * its tick at once, and the executor times the start. Others get the run on its tick.
   */
  readonly holdsStart?: boolean;
}
