/**
 * The agent's side of one spawner process: forks it, sends it spawn requests, routes its messages
 * to each job's events, and when it dies, fails the jobs it was following.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { JobEvents, JobHandle, SpawnJobOptions } from './job-spawner.js';
import { errorFrom } from './protocol.js';
import type { GateRelease } from './gates.js';
import type { FromSpawner, ToSpawner } from './protocol.js';

export interface SpawnerProcessOptions {
  modulePath: string;
  execArgv: string[];
  /** A spawner that has not said "ready" by then is killed (and counts as a failed start). */
  startTimeoutMs: number;
  onReady: () => void;
  /** Once it is gone for good: exited and its channel closed (every message it sent has arrived). */
  onGone: (gone: { wasReady: boolean; readyForMs: number; how: string }) => void;
  /** A request the spawner never received (it was dying): started elsewhere instead. */
  reroute: (options: SpawnJobOptions, events: JobEvents) => JobHandle;
}

interface Job {
  events: JobEvents;
  pid: number | null;
}

export class SpawnerProcess {
  private readonly child: ChildProcess;
  private state: 'starting' | 'ready' | 'gone' = 'starting';
  private readyAt = 0;
  /** Spawn requests whose pid (or failure) has not come back yet: this spawner's queue. */
  pendingSpawns = 0;
  private nextId = 1;
  private readonly jobs = new Map<number, Job>();
  /** Gates this spawner is to release, by path, with whom to tell. */
  private readonly gates = new Map<string, GateRelease>();
  private readonly startTimer: NodeJS.Timeout;
  private exitedHow = 'unknown cause';

  /** Throws when the process cannot be forked at all. */
  constructor(private readonly o: SpawnerProcessOptions) {
    this.child = fork(o.modulePath, [], {
      execArgv: o.execArgv,
      serialization: 'advanced',
      // Its own crash report goes to the agent's stderr.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m) => this.onMessage(m as FromSpawner));
    // Errors of sends without a callback and of signals; the 'close' below settles everything.
    this.child.on('error', () => undefined);
    this.child.on('exit', (code, signal) => {
      this.exitedHow = signal ? `killed by ${signal}` : `exit code ${String(code)}`;
      this.state = 'gone';
    });
    this.child.on('close', () => this.onClose());
    // An idle pool must not keep the agent's process alive; a followed job or a start does.
    this.updateRef();
    this.startTimer = setTimeout(() => {
      if (this.state === 'starting') this.child.kill('SIGKILL');
    }, o.startTimeoutMs);
    this.startTimer.unref();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  /** Jobs this spawner follows (spawning or running). */
  get running(): number {
    return this.jobs.size;
  }

  spawnJob(options: SpawnJobOptions, events: JobEvents): JobHandle {
    const id = this.nextId++;
    const job: Job = { events, pid: null };
    this.jobs.set(id, job);
    this.pendingSpawns++;
    this.updateRef();
    let rerouted: JobHandle | null = null;
    const message: ToSpawner = { t: 'spawn', id, ...options };
    this.child.send(message, undefined, undefined, (err) => {
      // Not written to the channel, so certainly not started: start it elsewhere.
      if (err && this.forget(id)) rerouted = this.o.reroute(options, events);
    });
    return {
      release: () => {
        if (rerouted) rerouted.release();
        else if (this.forget(id)) this.send({ t: 'release', id });
      },
    };
  }

  /** Asks the spawner to release a gate at `at` (gates.ts); false when the request cannot be sent. */
  releaseGate(path: string, at: number, report: GateRelease): boolean {
    if (this.state !== 'ready' || !this.child.connected) return false;
    this.gates.set(path, report);
    this.updateRef();
    this.child.send({ t: 'gate', path, at } satisfies ToSpawner, undefined, undefined, (err) => {
      if (err) this.settleGate(path, null);
    });
    return true;
  }

  private settleGate(path: string, at: number | null): void {
    const report = this.gates.get(path);
    if (!report) return;
    this.gates.delete(path);
    this.updateRef();
    if (at === null) report.failed();
    else report.released(at);
  }

  /** Asks the spawner to exit (it does once its channel closes); resolves when it has, killing it after `timeoutMs`. */
  close(timeoutMs: number): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      if (this.child.connected) this.child.disconnect();
      else this.child.kill('SIGKILL');
    });
  }

  /** Kills the spawner at once (tests, and a start that never finished). */
  kill(): void {
    this.child.kill('SIGKILL');
  }

  private send(message: ToSpawner): void {
    if (this.child.connected) this.child.send(message);
  }

  private forget(id: number): boolean {
    const job = this.jobs.get(id);
    if (!job) return false;
    if (job.pid === null) this.pendingSpawns--;
    this.jobs.delete(id);
    this.updateRef();
    return true;
  }

  private onMessage(m: FromSpawner): void {
    if (m.t === 'ready') {
      if (this.state !== 'starting') return;
      this.state = 'ready';
      this.readyAt = Date.now();
      clearTimeout(this.startTimer);
      this.updateRef();
      this.o.onReady();
      return;
    }
    if (m.t === 'released') {
      this.settleGate(m.path, m.at);
      return;
    }
    const job = this.jobs.get(m.id);
    if (!job) return;
    switch (m.t) {
      case 'spawned':
        job.pid = m.pid;
        this.pendingSpawns--;
        job.events.spawn(m.pid);
        break;
      case 'data':
        job.events.data(m.chunk);
        break;
      case 'exit':
        job.events.exit(m.code, m.signal);
        break;
      case 'close':
        this.forget(m.id);
        job.events.close();
        break;
      case 'error':
        if (!m.spawned) this.forget(m.id);
        job.events.error(errorFrom(m), m.spawned);
        break;
    }
  }

  private onClose(): void {
    clearTimeout(this.startTimer);
    const wasReady = this.readyAt > 0;
    this.state = 'gone';
    const what = `the spawner process (pid ${String(this.child.pid)}) exited (${this.exitedHow})`;
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    const gates = [...this.gates.values()];
    this.gates.clear();
    for (const report of gates) report.failed();
    this.pendingSpawns = 0;
    this.updateRef();
    for (const job of jobs) {
      job.events.lost(
        job.pid === null
          ? `${what} before reporting whether the job's process started`
          : `${what}; the job's process may still be running as pid ${job.pid}`,
      );
    }
    this.o.onGone({ wasReady, readyForMs: wasReady ? Date.now() - this.readyAt : 0, how: this.exitedHow });
  }

  /** Both the process handle (its exit) and the channel (its messages) are needed to settle a job. */
  private updateRef(): void {
    const busy = this.state === 'starting' || (this.state === 'ready' && (this.jobs.size > 0 || this.gates.size > 0));
    if (busy) this.child.ref();
    else this.child.unref();
    const channel = this.child.channel;
    if (!channel) return;
    if (busy) channel.ref();
    else channel.unref();
  }
}
