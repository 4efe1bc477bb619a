/**
 * How the shell executor starts a job's process. Two implementations: in the agent's own process
 * (`in-process.ts`, `child_process.spawn`) and through a pool of spawner processes
 * (`spawner-pool.ts`). Everything else about a run (timeouts, killing the process group, memory
 * watch, output) stays in the executor, which gets the pid back and signals the group itself.
 */
import type { GateReleaser } from './gates.js';

export interface SpawnJobOptions {
  file: string;
  args: string[];
  cwd: string | undefined;
  /**
   * Variables set on top of the environment the agent was started with. Only these travel to a
   * spawner, which holds a copy of that environment: copying `process.env` (a getter per
   * variable) was a good part of a spawn request's cost on the agent's event loop.
   */
  env: Record<string, string>;
  /** Written to the job's stdin, which is then closed; null: stdin is /dev/null. */
  stdin: Buffer | null;
  /** Credentials to switch to (`su`); the spawner needs the privileges to do so. */
  uid?: number;
  gid?: number;
}

/**
 * What happens to one job process. Given up front rather than subscribed to later: through a
 * spawner the pid and the first output can arrive in the same read of the channel, and nothing
 * may be emitted before someone listens. Never called synchronously from `spawnJob`.
 */
export interface JobEvents {
  /** The process exists, in its own process group (pgid = pid). */
  spawn(pid: number): void;
  /** A chunk of stdout or stderr, in arrival order. */
  data(chunk: Buffer): void;
  exit(code: number | null, signal: NodeJS.Signals | null): void;
  /** After exit, once stdout and stderr are closed. */
  close(): void;
  /**
   * `spawned` false: no process was started (the error says why) and nothing else follows.
   * True: an error around a running process (e.g. a signal could not be sent); exit still follows.
   */
  error(err: Error, spawned: boolean): void;
  /** The process can no longer be followed (its spawner died): neither exit nor close will follow. */
  lost(reason: string): void;
}

export interface JobHandle {
  /** Stop reading the job's output and forget it: after close, or when giving up waiting for it. */
  release(): void;
}

export interface JobSpawner {
  spawnJob(options: SpawnJobOptions, events: JobEvents): JobHandle;
  /** Releases a held-start gate from another process (gates.ts, GateReleaser); absent: the agent does. */
  releaseGate?: GateReleaser;
}
