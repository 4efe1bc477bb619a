/**
 * Starting a job's process with `child_process.spawn` in the calling process: what the agent does
 * with `--spawners 0` (or while no spawner is up), and what each spawner process does on request.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { JobEvents, JobHandle, JobSpawner, SpawnJobOptions } from './job-spawner.js';

/** A job started here; the spawner process also throttles its output (see spawner-main.ts). */
export interface LocalJob extends JobHandle {
  pauseOutput(): void;
  resumeOutput(): void;
}

/** `baseEnv`: what `o.env` is added to; the live `process.env` unless the caller keeps a copy. */
export function startChild(o: SpawnJobOptions, events: JobEvents, baseEnv: NodeJS.ProcessEnv = process.env): LocalJob {
  let child: ChildProcess;
  try {
    child = spawn(o.file, o.args, {
      cwd: o.cwd,
      env: { ...baseEnv, ...o.env },
      stdio: [o.stdin === null ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      // Own process group, so `kill(-pid)` reaches everything the job forks.
      detached: true,
      // libuv also drops the supplementary groups when switching, as Go does for dkron.
      ...(o.uid !== undefined && o.gid !== undefined ? { uid: o.uid, gid: o.gid } : {}),
    });
  } catch (err) {
    // Invalid arguments (e.g. NUL bytes) throw synchronously instead of emitting 'error'.
    const error = err instanceof Error ? err : new Error(String(err));
    process.nextTick(() => events.error(error, false));
    return { release: () => undefined, pauseOutput: () => undefined, resumeOutput: () => undefined };
  }

  const pid = child.pid;
  child.on('error', (err) => events.error(err, pid !== undefined));
  if (pid !== undefined) {
    process.nextTick(() => events.spawn(pid));
    child.stdout?.on('data', (chunk: Buffer) => events.data(chunk));
    child.stderr?.on('data', (chunk: Buffer) => events.data(chunk));
    child.on('exit', (code, signal) => events.exit(code, signal));
    // A failed spawn also closes its pipes; its 'error' carries the reason.
    child.on('close', () => events.close());
    if (o.stdin !== null && child.stdin) {
      // A job that exits without reading its stdin makes the write fail (EPIPE);
      // that is the job's choice, not an executor error.
      child.stdin.on('error', () => undefined);
      child.stdin.end(o.stdin);
    }
  }
  return {
    release: () => {
      // Something outside the group may still hold the pipes; stop reading so this run
      // does not keep the event loop busy.
      child.stdout?.destroy();
      child.stderr?.destroy();
    },
    pauseOutput: () => {
      child.stdout?.pause();
      child.stderr?.pause();
    },
    resumeOutput: () => {
      child.stdout?.resume();
      child.stderr?.resume();
    },
  };
}

/** `--spawners 0`: job processes are children of the agent. */
export const inProcessSpawner: JobSpawner = { spawnJob: (o, events) => startChild(o, events) };
