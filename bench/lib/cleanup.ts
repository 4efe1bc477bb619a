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

/** Synchronous, because it also runs from the 'exit' event where nothing async completes. */
export function cleanupAll(): void {
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
