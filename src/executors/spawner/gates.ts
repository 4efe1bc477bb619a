/**
 * Releasing held processes on their instant (held-start.ts). The processes held for one instant
 * wait on one gate, a FIFO in a private directory that the agent keeps open: one write of lines
 * releases them all, made on the instant by a spawner (GateReleaser) or by the agent itself. A gate serves one instant only and is removed once its processes
 * are gone (or a minute after its instant), so a line left over by a process killed while held can
 * never release another. Where no gate can be made (no `mkfifo`), holdUntil says so and the run
 * is started on its instant instead.
 */
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_GATED, onInstant, writeRelease } from './held-start.js';

export interface Ticket {
  /** The FIFO the held process waits on. */
  gate: string;
  /** The process no longer reads the gate (it exited): the gate may go once released. */
  leave(): void;
  /** The run is over (or never spawned): neither its process nor its release callback counts. */
  cancel(): void;
}

/** Called once, on the instant, with the time the gate's lines went out. */
type Released = (at: number) => void;

/** What a releaser reports about one gate it was asked to release. */
export interface GateRelease {
  released(at: number): void;
  /** It could not (it died, or could not open the gate): the agent releases the gate itself. */
  failed(): void;
}

/**
 * Releases a gate at its instant from another process (a spawner: a small idle loop keeps time
 * better than an agent that holds 100k jobs). False when none can; the agent then does it.
 */
export type GateReleaser = (path: string, at: number, report: GateRelease) => boolean;

interface Gate {
  path: string;
  fd: number;
  users: number;
  released: boolean;
  closeTimer?: NodeJS.Timeout;
}

interface Instant {
  members: Set<Released>;
  gate: Gate;
  /** Cancels the agent's own release on the instant; null once it has run (or was cancelled). */
  cancel: (() => void) | null;
  /** Another process releases it (and reports); the agent's timer then stands by. */
  delegated: boolean;
}

/** Readers that had not reached their gate by then no longer matter: the gate goes. */
const GATE_LINGER_MS = 60_000;
const SPARE = 32;

const instants = new Map<number, Instant>();

/**
 * Holds a process until `at` (epoch ms): the ticket names the gate it must wait on. Null when no
 * gate can be had (no `mkfifo`, or the instant's gate is full): the caller starts it on time itself.
 */
export function holdUntil(at: number, released: Released, releaser?: GateReleaser): Ticket | null {
  let instant = instants.get(at);
  if (!instant) {
    const gate = openGate();
    if (gate === null) return null;
    const fresh: Instant = { members: new Set(), gate, cancel: null, delegated: false };
    instants.set(at, fresh);
    fresh.cancel = onInstant(at, () => {
      fresh.cancel = null;
      if (!fresh.delegated) releaseNow(at, fresh);
    });
    fresh.delegated =
      releaser?.(gate.path, at, {
        released: (t) => finish(at, fresh, t),
        failed: () => {
          fresh.delegated = false;
          if (fresh.cancel === null) releaseNow(at, fresh);
        },
      }) ?? false;
    instant = fresh;
  }
  const gate = instant.gate;
  if (gate.users >= MAX_GATED) return null;
  gate.users++;
  // A function per hold, so the same callback held twice still counts twice.
  const member: Released = (t) => released(t);
  instant.members.add(member);
  const own = instant;
  let left = false;
  const leaveGate = (): void => {
    if (left) return;
    left = true;
    leave(gate);
  };
  return {
    gate: gate.path,
    leave: leaveGate,
    cancel: () => {
      leaveGate();
      if (own.members.delete(member)) dropIfEmpty(at, own);
    },
  };
}

function dropIfEmpty(at: number, instant: Instant): void {
  if (instant.members.size > 0 || instants.get(at) !== instant) return;
  instant.cancel?.();
  instants.delete(at);
  if (instant.gate.users === 0) closeGate(instant.gate);
}

function releaseNow(at: number, instant: Instant): void {
  if (instants.get(at) !== instant) return;
  const when = Date.now();
  writeRelease(instant.gate.fd);
  finish(at, instant, when);
}

/** The gate's lines went out at `when` (here, or in the releaser): its members start. */
function finish(at: number, instant: Instant, when: number): void {
  if (instants.get(at) !== instant) return;
  instants.delete(at);
  instant.cancel?.();
  const gate = instant.gate;
  gate.released = true;
  gate.closeTimer = setTimeout(() => closeGate(gate), GATE_LINGER_MS);
  gate.closeTimer.unref();
  if (gate.users === 0) closeGate(gate);
  for (const released of instant.members) released(when);
}

function leave(gate: Gate): void {
  gate.users--;
  if (gate.users === 0 && gate.released) closeGate(gate);
}

function closeGate(gate: Gate): void {
  if (gate.fd < 0) return;
  clearTimeout(gate.closeTimer);
  closeSync(gate.fd);
  gate.fd = -1;
  try {
    unlinkSync(gate.path);
  } catch {
    // The directory went with the process's exit.
  }
}

function openGate(): Gate | null {
  const path = spareFifo();
  if (path === null) return null;
  try {
    // Read-write: the open never waits for a reader, and the FIFO keeps a writer until it is closed.
    const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
    return { path, fd, users: 0, released: false };
  } catch {
    return null;
  }
}

// ---- FIFOs, made ahead in batches (Node has no mkfifo: one `mkfifo` process makes many) ----

let dir: string | null = null;
const spare: string[] = [];
let refilling = false;
let unavailable = false;
let seq = 0;

const DIR_PREFIX = 'kairos-held-';

function nextPath(): string {
  if (dir === null) {
    sweepDeadDirs();
    // The pid in the name: an agent killed (-9) cannot remove its directory; the next one does.
    const made = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
    dir = made;
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  return join(dir, String(seq++));
}

/** Removes the gate directories of agents that are gone (only empty FIFOs; nobody waits on them). */
function sweepDeadDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const pid = /^(\d+)-/.exec(name.slice(DIR_PREFIX.length))?.[1];
    if (pid === undefined || isAlive(Number(pid))) continue;
    try {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
    } catch {
      // Another user's, or removed meanwhile: not ours to worry about.
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, but another user's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function spareFifo(): string | null {
  if (unavailable) return null;
  let path = spare.pop() ?? null;
  if (path === null) {
    try {
      path = nextPath();
      execFileSync('mkfifo', ['-m', '600', path], { stdio: 'ignore' });
    } catch {
      unavailable = true;
      return null;
    }
  }
  refill();
  return path;
}

function refill(): void {
  if (refilling || spare.length >= SPARE / 2) return;
  refilling = true;
  const paths = Array.from({ length: SPARE }, nextPath);
  execFile('mkfifo', ['-m', '600', ...paths], (err) => {
    refilling = false;
    if (err) unavailable = true;
    else spare.push(...paths);
  });
}
