/**
 * A spawner process (forked by spawner-pool.ts): starts job processes on the agent's request and
 * streams back what happens to them. It stays small on purpose: `fork()` copies the page tables of
 * the process that calls it, so spawning from here costs a fraction of spawning from an agent that
 * holds 100k jobs, and several spawners start a burst's processes in parallel.
 */
import { startChild } from './in-process.js';
import type { LocalJob } from './in-process.js';
import { closeSync, constants, openSync } from 'node:fs';
import { errorFields } from './protocol.js';
import { onInstant, writeRelease } from './held-start.js';
import type { FromSpawner, ToSpawner } from './protocol.js';

// Output the agent has not taken yet: above HIGH every job's pipes are paused until the channel
// drains below LOW, so a job printing gigabytes waits for the agent as it would in-process,
// instead of piling up here.
const HIGH_WATER_BYTES = 8 * 1024 * 1024;
const LOW_WATER_BYTES = 1024 * 1024;

// The agent's environment when it forked this process (nothing here changes it): jobs get it plus
// their own variables, without copying process.env through its getters on every spawn.
const BASE_ENV: NodeJS.ProcessEnv = { ...process.env };

const jobs = new Map<number, LocalJob>();
let unsent = 0;
let paused = false;

function send(message: FromSpawner): void {
  if (process.connected) process.send?.(message);
}

function sendData(id: number, chunk: Buffer): void {
  if (!process.connected) return;
  unsent += chunk.length;
  process.send?.({ t: 'data', id, chunk } satisfies FromSpawner, undefined, undefined, () => {
    unsent -= chunk.length;
    if (paused && unsent <= LOW_WATER_BYTES) {
      paused = false;
      for (const job of jobs.values()) job.resumeOutput();
    }
  });
  if (!paused && unsent > HIGH_WATER_BYTES) {
    paused = true;
    for (const job of jobs.values()) job.pauseOutput();
  }
}

function start(m: Extract<ToSpawner, { t: 'spawn' }>): void {
  const { id } = m;
  // After a release the agent no longer listens; only what it is still waiting for is sent.
  const job = startChild(m, {
    spawn: (pid) => send({ t: 'spawned', id, pid }),
    data: (chunk) => {
      if (jobs.has(id)) sendData(id, chunk);
    },
    exit: (code, signal) => {
      if (jobs.has(id)) send({ t: 'exit', id, code, signal });
    },
    close: () => {
      if (jobs.delete(id)) send({ t: 'close', id });
    },
    error: (err, spawned) => {
      if (!spawned) jobs.delete(id);
      send({ t: 'error', id, spawned, ...errorFields(err) });
    },
    lost: () => undefined,
  }, BASE_ENV);
  jobs.set(id, job);
  if (paused) job.pauseOutput();
}

if (!process.send) {
  process.stderr.write('spawner-main: must be started by the agent (child_process.fork with an IPC channel)\n');
  process.exit(2);
}

process.on('message', (raw) => {
  const m = raw as ToSpawner;
  if (m.t === 'spawn') {
    start(m);
  } else if (m.t === 'release') {
    jobs.get(m.id)?.release();
    jobs.delete(m.id);
  } else if (m.t === 'gate') {
    gate(m.path, m.at);
  }
});

/**
 * Releases a gate on its instant (held-start.ts): this loop is small and mostly idle, so it keeps
 * time better than the agent's. Opened now, so the write needs nothing else on the instant; closed
 * once written (the agent keeps the FIFO open for readers still on their way).
 */
function gate(path: string, at: number): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  } catch {
    send({ t: 'released', path, at: null });
    return;
  }
  onInstant(at, () => {
    const when = Date.now();
    try {
      writeRelease(fd);
      send({ t: 'released', path, at: when });
    } catch {
      send({ t: 'released', path, at: null });
    } finally {
      closeSync(fd);
    }
  });
}

// The agent is gone (closed the pool, exited, or was killed): so is the reason to exist. Job
// processes live on in their own process groups, as they do when the agent itself is killed.
process.on('disconnect', () => process.exit(0));

// Ctrl-C in a terminal and `systemctl stop` signal every process of the agent; the agent then
// shuts down gracefully and still needs its spawners to follow the runs it waits for.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);

send({ t: 'ready' });
