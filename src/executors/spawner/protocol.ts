/**
 * Messages between the agent's spawner pool and a spawner process, over the fork IPC channel with
 * `serialization: 'advanced'` (structured clone: Buffers arrive as Buffers, not base64 or JSON).
 * `id` names one job request, unique per spawner process.
 */
import type { SpawnJobOptions } from './job-spawner.js';

export type ToSpawner =
  | ({ t: 'spawn'; id: number } & SpawnJobOptions)
  /** The agent is done with the job: stop reading its output and forget it. */
  | { t: 'release'; id: number }
  /** Release the held processes waiting on the FIFO `path` at `at` (epoch ms): gates.ts. */
  | { t: 'gate'; path: string; at: number };

export type FromSpawner =
  | { t: 'ready' }
  | { t: 'spawned'; id: number; pid: number }
  /** The gate's lines went out at `at`; null: the gate could not be opened (the agent releases it). */
  | { t: 'released'; path: string; at: number | null }
  | { t: 'data'; id: number; chunk: Buffer }
  | { t: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null }
  | { t: 'close'; id: number }
  | { t: 'error'; id: number; spawned: boolean; message: string; code?: string; errno?: number; syscall?: string; path?: string };

/** The fields of a spawn error that messages and callers read (`code` decides the cwd hint). */
export function errorFields(err: Error): { message: string; code?: string; errno?: number; syscall?: string; path?: string } {
  const e = err as NodeJS.ErrnoException;
  return {
    message: err.message,
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.errno === 'number' ? { errno: e.errno } : {}),
    ...(typeof e.syscall === 'string' ? { syscall: e.syscall } : {}),
    ...(typeof e.path === 'string' ? { path: e.path } : {}),
  };
}

export function errorFrom(m: { message: string; code?: string; errno?: number; syscall?: string; path?: string }): Error {
  const err: NodeJS.ErrnoException = new Error(m.message);
  if (m.code !== undefined) err.code = m.code;
  if (m.errno !== undefined) err.errno = m.errno;
  if (m.syscall !== undefined) err.syscall = m.syscall;
  if (m.path !== undefined) err.path = m.path;
  return err;
}
