/**
 * WAL checkpoints on a worker thread with its own connection to the file.
 *
 * SQLite's automatic checkpoint runs inside the commit that pushes the WAL past 1000 pages, on the
 * committing connection: here the agent's only event loop. A 100k-job bulk write paid ~2 s for it
 * inside its commit, and an ordinary tick commit now and then pays a few milliseconds copying
 * everyone's earlier writes. A PASSIVE checkpoint from another connection copies the same pages
 * while the agent goes on (it blocks neither WAL readers nor the writer), on the other core.
 * Durability is unchanged: a commit is durable once its WAL frames are synced, whoever copies them
 * into the database file later.
 *
 * The thread looks once per interval whether another connection committed (SQLite's
 * data_version) and checkpoints if so. By default it starts after the store has been open a
 * moment, so a short-lived store (a test, a CLI command) never starts one; an agent's store starts
 * it at once. Until it runs, and if it fails or dies, the connection keeps SQLite's own automatic
 * checkpoint.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';

/** SQLite's default wal_autocheckpoint, kept while no thread checkpoints. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

// CommonJS evaluated in the worker: no file to find beside the built or the source module.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
let seen = null;
const look = () => {
  try {
    const version = db.pragma('data_version', { simple: true });
    if (version === seen) return;
    seen = version;
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, row });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String((err && err.message) || err) });
  }
};
const timer = setInterval(look, workerData.intervalMs);
parentPort.on('message', (msg) => {
  if (msg !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
parentPort.postMessage({ ready: true });
`;

export interface CheckpointerOptions {
  /** How often the thread looks for new commits. Default 1000 ms. */
  intervalMs?: number;
  /** How long the store is open before the thread starts. Default 1000 ms. */
  startAfterMs?: number;
  /** The thread failed or a checkpoint did (the store warns; checkpoints fall back to SQLite's). */
  onProblem?: (message: string) => void;
}

interface WorkerMessage {
  ready?: boolean;
  ok?: boolean;
  error?: string;
}

export class WalCheckpointer {
  private worker: Worker | null = null;
  private readonly startTimer: NodeJS.Timeout;
  private stopped = false;
  private ready = false;
  private listeners: ((ok: boolean) => void)[] = [];

  constructor(
    private readonly file: string,
    private readonly db: Database.Database,
    private readonly options: CheckpointerOptions = {},
  ) {
    this.startTimer = setTimeout(() => this.start(), options.startAfterMs ?? 1000);
    this.startTimer.unref();
  }

  /** The thread is checkpointing (the store's connection no longer does on commit). */
  get running(): boolean {
    return this.ready && !this.stopped;
  }

  /** Resolves with the outcome of the thread's next checkpoint (false: the thread is gone). */
  nextCheckpoint(): Promise<boolean> {
    return new Promise((resolve) => this.listeners.push(resolve));
  }

  private settle(ok: boolean): void {
    for (const l of this.listeners.splice(0)) l(ok);
  }

  private start(): void {
    if (this.stopped) return;
    try {
      const driver = createRequire(import.meta.url).resolve('better-sqlite3');
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: this.file, driver, intervalMs: this.options.intervalMs ?? 1000 } });
      worker.unref();
      worker.on('message', (msg: WorkerMessage) => {
        if (msg.ready) {
          if (!this.stopped) this.db.pragma('wal_autocheckpoint = 0');
          this.ready = true;
          return;
        }
        if (!msg.ok) this.options.onProblem?.(`WAL checkpoint failed on the checkpoint thread: ${msg.error ?? 'unknown error'}`);
        this.settle(msg.ok === true);
      });
      worker.on('error', (err) => this.giveUp(`the checkpoint thread failed: ${err.message}`));
      worker.on('exit', () => this.giveUp('the checkpoint thread exited'));
      this.worker = worker;
    } catch (err) {
      this.giveUp(`cannot start the checkpoint thread: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private giveUp(why: string): void {
    this.worker = null;
    this.settle(false);
    if (this.stopped) return;
    this.stopped = true;
    this.db.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
    this.options.onProblem?.(`${why}; SQLite checkpoints on commit again`);
  }

  /** Before the store's own connection closes (its close checkpoints what is left and removes the WAL). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.startTimer);
    const worker = this.worker;
    this.worker = null;
    this.settle(false);
    if (!worker) return;
    // Referenced again: a process with nothing else left to do must still wait for the thread to end.
    worker.ref();
    const exited = new Promise<'exited'>((resolve) => worker.once('exit', () => resolve('exited')));
    // Handled after a checkpoint in progress: the thread finishes it, closes its connection and ends.
    worker.postMessage('close');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 5000)));
    if ((await Promise.race([exited, timeout])) === 'timeout') await worker.terminate();
    clearTimeout(timer);
  }
}
