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
 * For what the bench starts or writes through code that keeps the handles to itself (the servers
 * of test/helpers, the cron scenario's /etc/cron.d file): `hook` must be synchronous, like
 * cleanupAll. Returns the function that unregisters it.
 */
export function onCleanup(hook: () => void): () => void {
  hooks.add(hook);
  return () => hooks.delete(hook);
}

/** A direct child of this process that a test helper started, and the data root it uses (null: none of ours). */
export interface HelperChild {
  pid: number;
  root: string | null;
}

/**
 * Servers started through a test helper (etcd, ZooKeeper), made safe for the bench's exits: such
 * a helper keeps its child handles and temp dir to itself and only frees them through an async
 * stop, which never completes on Ctrl-C, the watchdog or process.exit. `children` finds the
 * servers among this process's direct children (from /proc); a synchronous cleanup hook kills
 * them and removes their data roots on any way out, and at once when `start` fails (a helper
 * may give up without stopping the members it started). The returned `stop` runs the helper's
 * `stop`, then the hook. `what` names the servers for the error when some are running already.
 */
export async function startHelperServers<T>(
  what: string,
  children: () => HelperChild[],
  start: () => Promise<T>,
  stop: (servers: T) => Promise<void>,
): Promise<{ servers: T; stop: () => Promise<void> }> {
  if (children().length > 0) {
    // The hook kills every such child of this process; a second set would lose its members.
    throw new Error(`${what} started by this bench is already running`);
  }
  const roots = new Set<string>();
  const reap = (): void => {
    for (const c of children()) {
      if (c.root) roots.add(c.root);
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // Gone between the listing and the kill.
      }
    }
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  };
  const unregister = onCleanup(reap);
  let servers: T;
  try {
    servers = await start();
  } catch (err) {
    reap();
    unregister();
    throw err;
  }
  for (const c of children()) if (c.root) roots.add(c.root);
  return {
    servers,
    stop: async () => {
      try {
        await stop(servers);
      } finally {
        reap();
        unregister();
      }
    },
  };
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
