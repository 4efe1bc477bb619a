/**
 * Everything the bench starts (agents, the reference spawner, scratch dirs) is
 * registered here so that any way out of the process — normal end, an error,
 * Ctrl-C, the watchdog — leaves no agent running and no temp dir behind.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const processes = new Set<ChildProcess>();
const dirs = new Set<string>();
const hooks = new Set<() => void>();

export function trackProcess<T extends ChildProcess>(proc: T): T {
  processes.add(proc);
  proc.once('exit', () => processes.delete(proc));
  return proc;
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/**
 * For what the bench starts through code that keeps the handles to itself (the etcd helper of
 * test/): `hook` must be synchronous, like cleanupAll. Returns the function that unregisters it.
 */
export function onCleanup(hook: () => void): () => void {
  hooks.add(hook);
  return () => hooks.delete(hook);
}

/** Synchronous, because it also runs from the 'exit' event where nothing async completes. */
export function cleanupAll(): void {
  for (const hook of hooks) {
    try {
      hook();
    } catch {
      // Best effort, like the rest: one failing hook must not keep the others from running.
    }
  }
  hooks.clear();
  for (const proc of processes) {
    if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
      try {
        proc.kill('SIGKILL');
      } catch {
        // Already gone between the check and the kill.
      }
    }
  }
  processes.clear();
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort on the way out; a leftover dir must not mask the real exit status.
    }
  }
  dirs.clear();
}

let installed = false;

export function installCleanupHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`bench: ${signal}: stopping child processes\n`);
      cleanupAll();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}
