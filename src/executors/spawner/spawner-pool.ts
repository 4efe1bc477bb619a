/**
 * `--spawners N`: N small spawner processes that start the agent's job processes (spawner-main.ts).
 * Each spawn goes to the least busy one; while none is up (starting, restarting, or they cannot be
 * started at all) the job is spawned in the agent's own process, so a run never waits for one.
 */
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../util/log.js';
import { inProcessSpawner } from './in-process.js';
import type { JobEvents, JobHandle, JobSpawner, SpawnJobOptions } from './job-spawner.js';
import { SpawnerProcess } from './spawner-process.js';
import type { GateRelease } from './gates.js';

export interface SpawnerPoolOptions {
  size: number;
  log?: Logger;
  /** Where jobs go while no spawner is up. */
  fallback?: JobSpawner;
  startTimeoutMs?: number;
  /** The spawner's entry module (tests: one that cannot start); default spawner-main next to this file. */
  modulePath?: string;
}

interface Slot {
  proc: SpawnerProcess | null;
  /** Starts in a row that ended before the spawner was ready. */
  failedStarts: number;
  disabled: boolean;
  restartTimer?: NodeJS.Timeout;
}

/** A slot whose spawner dies before it is ready this many times in a row is given up. */
const MAX_FAILED_STARTS = 3;
/** A spawner that dies sooner than this after becoming ready is restarted after this long, not at once. */
const CRASH_LOOP_MS = 1000;

export class SpawnerPool implements JobSpawner {
  private readonly slots: Slot[];
  private readonly fallback: JobSpawner;
  private readonly startTimeoutMs: number;
  private started = false;
  private closed = false;
  private warnedUnusable = false;
  private next = 0;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly o: SpawnerPoolOptions) {
    this.slots = Array.from({ length: Math.max(0, o.size) }, () => ({ proc: null, failedStarts: 0, disabled: false }));
    this.fallback = o.fallback ?? inProcessSpawner;
    this.startTimeoutMs = o.startTimeoutMs ?? 30_000;
  }

  /** Forks the spawners (idempotent). Called when the agent starts, or by the first spawn. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    for (const slot of this.slots) this.launch(slot);
  }

  spawnJob(options: SpawnJobOptions, events: JobEvents): JobHandle {
    this.start();
    const proc = this.pick();
    return proc ? proc.spawnJob(options, events) : this.fallback.spawnJob(options, events);
  }

  /** GateReleaser (gates.ts): one spawner releases each gate; false while none is ready. */
  releaseGate(path: string, at: number, report: GateRelease): boolean {
    this.start();
    return this.pick()?.releaseGate(path, at, report) ?? false;
  }

  /** Resolves once every slot has a ready spawner or has been given up (tests, benchmarks). */
  whenReady(): Promise<void> {
    this.start();
    if (this.settled()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (!this.settled()) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  /** Pids of the ready spawners. */
  pids(): number[] {
    return this.slots.flatMap((s) => (s.proc?.ready && s.proc.pid !== undefined ? [s.proc.pid] : []));
  }

  /** Kills one spawner as a crash would (tests). */
  killOne(pid: number): void {
    this.slots.find((s) => s.proc?.pid === pid)?.proc?.kill();
  }

  /** Stops every spawner; call once the runs they follow are finished. */
  async close(timeoutMs = 5000): Promise<void> {
    this.closed = true;
    const closing: Promise<void>[] = [];
    for (const slot of this.slots) {
      clearTimeout(slot.restartTimer);
      if (slot.proc) closing.push(slot.proc.close(timeoutMs));
    }
    await Promise.all(closing);
    this.notify();
  }

  private settled(): boolean {
    return this.closed || this.slots.every((s) => s.disabled || s.proc?.ready === true);
  }

  private notify(): void {
    for (const check of [...this.waiters]) check();
  }

  /** The ready spawner with the fewest spawns queued, then the fewest jobs; ties rotate. */
  private pick(): SpawnerProcess | null {
    let best: SpawnerProcess | null = null;
    const n = this.slots.length;
    for (let k = 0; k < n; k++) {
      const p = this.slots[(this.next + k) % n]?.proc;
      if (!p?.ready) continue;
      if (!best || p.pendingSpawns < best.pendingSpawns || (p.pendingSpawns === best.pendingSpawns && p.running < best.running)) best = p;
    }
    this.next = (this.next + 1) % Math.max(1, n);
    return best;
  }

  private launch(slot: Slot): void {
    if (this.closed) return;
    let proc: SpawnerProcess;
    try {
      proc = new SpawnerProcess({
        modulePath: this.o.modulePath ?? spawnerModule(),
        execArgv: spawnerExecArgv(),
        startTimeoutMs: this.startTimeoutMs,
        onReady: () => {
          slot.failedStarts = 0;
          this.notify();
        },
        onGone: (gone) => this.onGone(slot, proc, gone),
        reroute: (options, events) => this.spawnJob(options, events),
      });
    } catch (err) {
      this.onStartFailed(slot, (err as Error).message);
      return;
    }
    slot.proc = proc;
  }

  private onGone(slot: Slot, proc: SpawnerProcess, gone: { wasReady: boolean; readyForMs: number; how: string }): void {
    if (slot.proc === proc) slot.proc = null;
    if (this.closed) return;
    if (!gone.wasReady) {
      this.onStartFailed(slot, `exited before it was ready (${gone.how})`);
      return;
    }
    this.o.log?.warn({ pid: proc.pid, cause: gone.how }, 'spawner: process exited unexpectedly; starting a new one');
    const delay = gone.readyForMs < CRASH_LOOP_MS ? CRASH_LOOP_MS : 0;
    this.relaunch(slot, delay);
  }

  private onStartFailed(slot: Slot, why: string): void {
    slot.failedStarts++;
    if (slot.failedStarts < MAX_FAILED_STARTS) {
      this.relaunch(slot, 100 * 2 ** slot.failedStarts);
      return;
    }
    slot.disabled = true;
    this.notify();
    if (this.slots.every((s) => s.disabled) && !this.warnedUnusable) {
      this.warnedUnusable = true;
      this.o.log?.warn({ cause: why }, 'spawner: spawner processes could not be started; job processes are started by the agent process');
    }
  }

  private relaunch(slot: Slot, delayMs: number): void {
    if (this.closed) return;
    if (delayMs === 0) {
      this.launch(slot);
      return;
    }
    // Referenced: someone may be waiting for it (whenReady); close() clears it.
    slot.restartTimer = setTimeout(() => this.launch(slot), delayMs);
  }
}

/** spawner-main next to this module: `.ts` when the sources run through tsx (tests), `.js` from dist/. */
function spawnerModule(): string {
  const here = fileURLToPath(import.meta.url);
  return join(dirname(here), `spawner-main${extname(here)}`);
}

/**
 * The agent's Node flags, which carry tsx's loader under tsx and profiling flags under the bench,
 * minus those that would make the child something else: inline code (`-e`, which Node keeps in
 * execArgv), the test runner, watch mode, and a debugger port that would clash with the agent's.
 */
const DROP_WITH_VALUE = new Set(['-e', '--eval', '-p', '--print', '-pe', '--inspect-port', '--debug-port']);
const DROP = /^--(inspect|debug|eval|print|input-type|test|watch)/;

function spawnerExecArgv(): string[] {
  const kept: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (DROP_WITH_VALUE.has(a)) i++;
    else if (!DROP.test(a)) kept.push(a);
  }
  return kept;
}
