/**
 * Starts the built `kairos` binary the way a user does and talks to it over
 * HTTP. Every wait is bounded; a failed start throws with the agent's logs so
 * the harness can show why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { trackProcess } from './cleanup.js';
import { zeroTimeAsNull } from '../../src/api/wire.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'kairos.js');
const KEEP_HEAD = 100;
const KEEP_TAIL = 1000;

export class AgentError extends Error {
  constructor(
    message: string,
    readonly logs: readonly string[],
  ) {
    super(message);
  }
}

export interface LogHit {
  line: string;
  /** performance.now() when the line reached us. */
  at: number;
}

export interface AgentHandle {
  proc: ChildProcess;
  pid: number;
  url: string;
  /** performance.now() just before spawn. */
  spawnedAt: number;
  logs: string[];
  waitForLog(re: RegExp, timeoutMs: number): Promise<LogHit>;
  /** Counts lines matching `re` from now on (the kept log drops its middle on long runs). */
  countLines(re: RegExp): () => number;
  /** SIGTERM, then SIGKILL after `timeoutMs`. Resolves with the exit code or signal. */
  stop(timeoutMs?: number): Promise<number | string>;
  /** Resolves with the exit code or signal once the process has exited, however it ended. */
  exited: Promise<number | string>;
}

export interface AgentOptions {
  dataDir: string;
  args?: string[];
  /** Leader candidate (`--server`); default true, as a single agent needs it. */
  server?: boolean;
  /** default `bench` */
  nodeName?: string;
  /** For the HTTP listener; loading a large store happens after it, so this can stay short. */
  readyTimeoutMs?: number;
}

/**
 * Node flags for every agent from `BENCH_AGENT_NODE_ARGS` (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`:
 * Node refuses --cpu-prof in NODE_OPTIONS), so agents can be profiled without profiling the bench.
 */
const AGENT_NODE_ARGS = (process.env.BENCH_AGENT_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);

export async function startAgent(options: AgentOptions): Promise<AgentHandle> {
  const args = [
    BIN,
    'agent',
    ...(options.server === false ? [] : ['--server']),
    '--http-addr',
    '127.0.0.1:0',
    '--data-dir',
    options.dataDir,
    '--node-name',
    options.nodeName ?? 'bench',
    ...(options.args ?? []),
  ];
  const spawnedAt = performance.now();
  const proc = trackProcess(
    spawn(process.execPath, [...AGENT_NODE_ARGS, ...args], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const logs: string[] = [];
  const hits: LogHit[] = [];
  const waiters: { re: RegExp; resolve: (hit: LogHit) => void }[] = [];
  const counters: { re: RegExp; n: number }[] = [];
  const countLines = (re: RegExp): (() => number) => {
    const counter = { re, n: 0 };
    counters.push(counter);
    return () => counter.n;
  };
  const onLine = (line: string): void => {
    for (const c of counters) if (c.re.test(line)) c.n++;
    const hit = { line, at: performance.now() };
    // The lateness run logs a line per execution: keep the start (startup, errors) and a
    // recent tail, which is what a failure report needs, without growing without bound.
    hits.push(hit);
    logs.push(line);
    if (hits.length > KEEP_HEAD + KEEP_TAIL) {
      hits.splice(KEEP_HEAD, 1);
      logs.splice(KEEP_HEAD, 1);
    }
    for (const w of [...waiters]) {
      if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(hit);
      }
    }
  };
  createInterface({ input: proc.stderr! }).on('line', onLine);
  createInterface({ input: proc.stdout! }).on('line', onLine);
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
    proc.once('error', (err) => {
      logs.push(`spawn error: ${err.message}`);
      resolve(-1);
    });
  });

  const waitForLog = (re: RegExp, timeoutMs: number): Promise<LogHit> => {
    const seen = hits.find((h) => re.test(h.line));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        re,
        resolve: (hit: LogHit) => {
          clearTimeout(timer);
          resolve(hit);
        },
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new AgentError(`agent: no log matching ${re} within ${timeoutMs} ms`, logs));
      }, timeoutMs);
      waiters.push(waiter);
      void exited.then((code) => {
        if (waiters.includes(waiter)) {
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new AgentError(`agent exited (${code}) while waiting for ${re}`, logs));
        }
      });
    });
  };

  const stop = async (timeoutMs = 30_000): Promise<number | string> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return exited;
    proc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      exited,
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (result !== 'timeout') return result;
    proc.kill('SIGKILL');
    await exited;
    throw new AgentError(`agent did not exit within ${timeoutMs} ms of SIGTERM (killed)`, logs);
  };

  try {
    const { line } = await waitForLog(/HTTP server listening on http:\/\/\S+:\d+/, options.readyTimeoutMs ?? 30_000);
    const port = Number(/listening on http:\/\/\S*:(\d+)/.exec(line)?.[1]);
    if (proc.pid === undefined) throw new AgentError('agent has no pid', logs);
    return { proc, pid: proc.pid, url: `http://127.0.0.1:${port}`, spawnedAt, logs, waitForLog, countLines, stop, exited };
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

export async function api<T = unknown>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 60_000,
): Promise<ApiResponse<T>> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    // An unfinished execution's finished_at is dkron's zero time on the wire; null here.
    parsed = text === '' ? null : JSON.parse(text, zeroTimeAsNull);
  } catch {
    // Error pages may be plain text; the caller reports them as they are.
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** Like `api`, but anything but the expected status is an error carrying the response. */
export async function apiOk<T = unknown>(
  base: string,
  method: string,
  path: string,
  body: unknown,
  expect: number,
): Promise<ApiResponse<T>> {
  const res = await api<T>(base, method, path, body);
  if (res.status !== expect) {
    throw new Error(`${method} ${path}: HTTP ${res.status} (expected ${expect}): ${JSON.stringify(res.body)}`);
  }
  return res;
}

/** One POST /v1/jobs/bulk of a JSON body already written out; anything but 2xx throws with the start of the answer. */
export async function postBulk(url: string, body: string, timeoutMs: number): Promise<void> {
  const res = await fetch(`${url}/v1/jobs/bulk`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status < 200 || res.status > 299) throw new Error(`POST /v1/jobs/bulk answered ${res.status}: ${text.slice(0, 500)}`);
}
