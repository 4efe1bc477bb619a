/**
 * Held starts. A shell run dispatched ahead of its tick (the leader's --dispatch-lead) gets its
 * process created at once, stopped before its command: `/bin/sh` waiting to read one line from its
 * gate, a FIFO that the agent shares among every process held for the same instant (gates.ts). On
 * the instant one write of N lines releases all N, and each shell `exec`s its command, which keeps
 * the shell's pid, process group, stdio, environment, directory and credentials, as if the command
 * had been spawned directly. The spawners (or the agent) spawn the held shell like any command.
 *
 * Why: creating a process (fork, exec, dynamic loading) is the slow part of a start, and a burst
 * of jobs due on the same second pays it one fork after another. Done ahead, the tick costs one
 * write, whatever the burst. (One write per process, from each spawner, was tried first: each woken
 * shell preempts the writers on a busy machine, and the last of 20 went out ~10 ms late.) Figures:
 * BENCHMARKS.md, issue 13, targets 2 and 3.
 */
import { accessSync, constants, statSync, writeSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

export const HOLD_SHELL = '/bin/sh';
/** The held shell's `$0`: what `ps` shows while it waits. */
const HOLD_NAME = 'kairos-held';
// Without its line (the agent died, and the gate has no writer left) the shell exits and the
// command never runs. A payload waits in the stdin pipe meanwhile; `exec` hands it on.
/** The held shell's exit code when it got no line (the gate lost its writers): its command never ran. */
export const HELD_NEVER_RAN = 125;
const GATE_SCRIPT = `read -r kairos_go <"$1" || exit ${HELD_NEVER_RAN}; shift; exec "$@"`;

/** The held shell's arguments: it waits on the FIFO `gate`, then runs `file args`. */
export function heldArgs(gate: string, file: string, args: string[]): string[] {
  return ['-c', GATE_SCRIPT, HOLD_NAME, gate, file, ...args];
}

/** What canHold looks at. */
export interface HoldCandidate {
  file: string;
  cwd: string | undefined;
  env: Record<string, string>;
  uid?: number;
}

/**
 * Whether a held start would run the command as a direct spawn would. When it could not (a command
 * that is not found or not executable, a missing directory), the caller starts it directly on the
 * tick instead, so the failure reads as it always does ("spawn x ENOENT"). A run that switches
 * user (`su`) is not held: the checks here see the agent's permissions, not that user's.
 */
export function canHold(o: HoldCandidate, baseEnv: NodeJS.ProcessEnv): boolean {
  if (o.uid !== undefined || !isExecutable(HOLD_SHELL)) return false;
  if (o.cwd !== undefined && !isDirectory(o.cwd)) return false;
  if (o.file.includes('/')) return isExecutable(isAbsolute(o.file) ? o.file : resolve(o.cwd ?? '.', o.file));
  // As execvp searches (and libuv with the job's own PATH): an empty entry is the directory itself.
  const path = o.env.PATH ?? baseEnv.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  return path.split(':').some((dir) => isExecutable(resolve(o.cwd ?? '.', dir === '' ? '.' : dir, o.file)));
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}


/**
 * Processes one gate releases at most: its lines are written at once, within PIPE_BUF (atomic).
 * Every release writes them all: a gate serves one instant, so lines nobody reads are harmless.
 */
export const MAX_GATED = 4096;
const LINES = '\n'.repeat(MAX_GATED);

/** Releases every process waiting on the gate open as `fd`. */
export function writeRelease(fd: number): void {
  writeSync(fd, LINES);
}

/**
 * Calls `fn` as soon as the wall clock reaches `at`, never before: a timer fires a millisecond or
 * two late, so it is set short and the rest is polled. Returns a cancel.
 */
export function onInstant(at: number, fn: () => void): () => void {
  let cancelled = false;
  const poll = (): void => {
    if (cancelled) return;
    if (Date.now() < at) setImmediate(poll);
    else fn();
  };
  const timer = setTimeout(poll, Math.max(0, at - Date.now() - 2));
  return () => {
    cancelled = true;
    clearTimeout(timer);
  };
}
