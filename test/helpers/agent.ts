/**
 * Starts the real `kairos` binary as a child process and talks to it over
 * HTTP, the way a user does. Waits are event-based: log lines and polled
 * API state with a bounded deadline, never fixed sleeps.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { zeroTimeAsNull } from '../../src/api/wire.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'kairos.js');

export interface AgentHandle {
  proc: ChildProcess;
  port: number;
  url: string;
  dataDir: string;
  logs: string[];
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Send a signal and wait for exit; resolves with the exit code (or signal name). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
  exited: Promise<number | string>;
}

export function tempDir(prefix = 'kairos-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Dead, or a zombie: a SIGKILLed process whose parent also died is a zombie
 * until init reaps it, `kill(pid, 0)` still succeeds on zombies, and some
 * sandboxes' PID 1 never reaps orphans.
 */
export function isDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name (which may contain spaces).
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

export interface StartOptions {
  args?: string[];
  dataDir?: string;
  env?: Record<string, string>;
  server?: boolean;
  readyTimeoutMs?: number;
  /**
   * A command the agent is started under, e.g. `['ip', 'netns', 'exec', NAME]`;
   * it must exec the agent in place (so the handle's pid is the agent's).
   */
  prefix?: string[];
  /** The address the API binds (`--http-addr HOST:0`) and the handle's `url` uses; default 127.0.0.1. */
  host?: string;
}

export async function startAgent(options: StartOptions = {}): Promise<AgentHandle> {
  const dataDir = options.dataDir ?? tempDir();
  const args = [
    BIN,
    'agent',
    ...(options.server === false ? [] : ['--server']),
    '--http-addr',
    `${options.host ?? '127.0.0.1'}:0`,
    '--data-dir',
    dataDir,
    '--node-name',
    'test-node',
    ...(options.args ?? []),
  ];
  const [command, ...commandArgs] = [...(options.prefix ?? []), process.execPath, ...args] as [string, ...string[]];
  const proc = spawn(command, commandArgs, {
    cwd: ROOT,
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/games`, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  const onLine = (line: string): void => {
    logs.push(line);
    if (process.env.KAIROS_TEST_VERBOSE) process.stderr.write(`[agent] ${line}\n`);
    for (const w of [...waiters]) {
      if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  createInterface({ input: proc.stderr! }).on('line', onLine);
  createInterface({ input: proc.stdout! }).on('line', onLine);
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });

  const waitForLog = (re: RegExp, timeoutMs = 20_000): Promise<string> => {
    const seen = logs.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out after ${timeoutMs} ms waiting for log ${re}; last logs:\n${logs.slice(-20).join('\n')}`));
      }, timeoutMs);
      const waiter = {
        re,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      waiters.push(waiter);
      void exited.then((code) => {
        if (waiters.includes(waiter)) {
          clearTimeout(timer);
          reject(new Error(`agent exited (${code}) while waiting for ${re}; logs:\n${logs.slice(-30).join('\n')}`));
        }
      });
    });
  };

  const line = await waitForLog(/HTTP server listening on https?:\/\/[^:]+:(\d+)/, options.readyTimeoutMs ?? 30_000);
  const [, scheme, portText] = /listening on (https?):\/\/\S*:(\d+)/.exec(line) ?? [];
  const port = Number(portText);
  const url = `${scheme ?? 'http'}://${options.host ?? '127.0.0.1'}:${port}`;

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<number | string> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return exited;
    proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      exited,
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (result === 'timeout') {
      proc.kill('SIGKILL');
      throw new Error(`agent did not exit within ${timeoutMs} ms of ${signal}`);
    }
    return result;
  };
  return { proc, port, url, dataDir, logs, waitForLog, stop, exited };
}

/** For an `after` hook: stop the agent with SIGTERM, asserting it exits 0, and remove `dir` either way. */
export async function stopAndRemove(agent: AgentHandle | undefined, dir: string): Promise<void> {
  try {
    if (agent) assert.equal(await agent.stop('SIGTERM'), 0);
  } finally {
    removeDir(dir);
  }
}

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

// The API sends an unfinished execution's `finished_at` as dkron's zero time; tests read it as null
// with the reader the UI and CLI use (test/e2e/dkron-wire.test.ts checks the wire form itself).
export async function api<T = unknown>(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text, zeroTimeAsNull);
  } catch {
    // non-JSON body stays text
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** A manually triggered shell job (`shell: true`), as a POST /v1/jobs body. */
export function shellJob(name: string, command: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, schedule: '@manually', executor: 'shell', executor_config: { command, shell: 'true' }, ...extra };
}

/** Poll `fn` until it returns a truthy value; fail with `what` after `timeoutMs`. */
/**
 * Finished, as the API says it: an unfinished execution carries dkron's zero time
 * "0001-01-01T00:00:00Z" in `finished_at`, not null.
 */
export function finishedRun<T extends { finished_at: string | null }>(e: T): e is T & { finished_at: string } {
  return e.finished_at !== null && !e.finished_at.startsWith('0001-01-01');
}

export async function eventually<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
