/**
 * Starting and reaping executable plugins. Each run gets its own process group so that
 * whatever the plugin forks (a helper, a `sleep` in a shell script) is killed with it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export type PluginChild = ChildProcessByStdio<Writable, Readable, Readable>;

/**
 * Spawns `file` detached (own process group) with all three pipes, and writes `request` as one
 * line on stdin, then closes it. Throws only for arguments Node refuses synchronously; a missing
 * or non-executable file arrives as the child's 'error' event with `pid` undefined.
 */
export function spawnPlugin(file: string, request: object, env: NodeJS.ProcessEnv): PluginChild {
  const child = spawn(file, [], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env });
  // A plugin may exit without reading its request: the write then fails with EPIPE, which is
  // not an error of the run (its exit, or missing result, is what gets reported).
  child.stdin.on('error', () => undefined);
  child.stdin.end(`${JSON.stringify(request)}\n`);
  return child;
}

/** SIGKILL to the whole group; a group already gone is fine. Returns a problem to report, or null. */
export function killGroup(pid: number | undefined): string | null {
  if (pid === undefined) return null;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ESRCH') return `failed to kill process group ${pid}: ${(err as Error).message}`;
  }
  return null;
}

/** The environment of a plugin run: the agent's, plus the protocol version for plugins that check it. */
export function pluginEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, KAIROS_PLUGIN_PROTOCOL: '1', ...extra };
}
