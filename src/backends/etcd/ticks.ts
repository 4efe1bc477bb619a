/**
 * The last dispatched tick of each job, and commitTick: the scheduler's
 * exactly-once fence, storing a tick with its executions (and their queue
 * entries) in one transaction that also checks the leadership fence.
 *
 * Ticks due together are committed together: the commits of one burst (20
 * jobs on the same second) go out as one transaction instead of 20 queued
 * behind each other, so the last job of a burst starts about as early as the
 * first. A tick whose key this leader wrote last needs no read first: its
 * compare uses the mod revision the leader's own commit left. Anything a batch
 * can't settle for certain (a compare failed, a reply was lost) is settled by
 * the one-tick path, which reads, recognises its own landed write and retries.
 */
import { CompareTarget, type ICompare, type IRequestOp, type ITxnResponse } from 'etcd3';
import type { Execution } from '../../job/types.js';
import type { DispatchOptions } from '../../store/types.js';
import { MAX_CAS_ATTEMPTS, parseTick } from '../../store/kv-shared.js';
import { coalesce, type Pending } from '../../util/coalesce.js';
import type { Budget, EtcdCalls } from './calls.js';
import type { ExecutionIndex } from './execution-index.js';
import { assertName, EXECUTIONS, TICKS } from './keys.js';

/** Leadership fence for commitTick: see setFence. */
export type TickFence = { key: string; createRevision: string } | 'none' | null;

/**
 * Whether the stored last tick is at or after this one. A stored tick that no longer parses cannot
 * prove it is newer: the new one replaces it.
 */
function dispatchedAlready(stored: string | null, tickMs: number): boolean {
  const ms = stored === null ? NaN : Date.parse(stored);
  return !Number.isNaN(ms) && ms >= tickMs;
}

interface TickCommit {
  jobName: string;
  tick: string;
  tickMs: number;
  executions: Execution[];
  ops: IRequestOp[];
}

/** Bounds the remembered revisions (one short string per job) for a leader of a million jobs. */
const MAX_REMEMBERED = 200_000;

export class Ticks {
  private fence: TickFence = null;
  /** job → its tick key as this leader's last commit left it: the tick and the key's mod revision. */
  private readonly written = new Map<string, { tickMs: number; mod: string }>();

  constructor(
    private readonly calls: EtcdCalls,
    private readonly index: ExecutionIndex,
    /** Told how many execution records each commit writes for its job. */
    private readonly wrote: (job: string, n: number) => void = () => undefined,
  ) {}

  /**
   * Set by the cluster module on leadership changes: an object makes every
   * tick commit also require that `key` (relative to the keyspace) still has
   * that create revision, so a deposed leader's commits fail; 'none' makes
   * commitTick resolve false without writing (not the leader); null (default)
   * disables fencing (tests, single writer).
   */
  setFence(fence: TickFence): void {
    this.fence = fence === null || fence === 'none' ? fence : { key: fence.key, createRevision: String(fence.createRevision) };
    // Another term: ticks may have been written by another leader meanwhile.
    this.written.clear();
  }

  async getLastTick(jobName: string): Promise<string | null> {
    this.calls.assertOpen();
    assertName(jobName);
    return (await this.calls.read(this.calls.budget(), 'getLastTick', TICKS + jobName)).value;
  }

  async listLastTicks(): Promise<Map<string, string>> {
    this.calls.assertOpen();
    const { kvs } = await this.calls.scan(this.calls.budget(), 'listLastTicks', TICKS, 1000);
    return new Map(kvs.map((kv) => [this.calls.rel(kv.key).slice(TICKS.length), kv.value.toString()]));
  }

  async commitTick(jobName: string, tick: string, executions: Execution[], options: DispatchOptions = {}): Promise<boolean> {
    this.calls.assertOpen();
    assertName(jobName);
    const tickMs = parseTick(tick);
    if (this.fence === 'none' && !options.unfenced) return false;
    const ops = [this.calls.opPut(TICKS + jobName, tick), ...this.index.executionOps(executions, true)];
    this.calls.assertTxnSize(ops.length, 'commitTick', executions.length);
    for (const e of executions) this.wrote(e.job_name, 1);
    const commit: TickCommit = { jobName, tick, tickMs, executions, ops };
    // forbid adds a compare that fails whenever the job still runs: kept out of batches, where it would fail the others.
    if (options.exclusive || options.unfenced) return this.commitOne(commit, options.exclusive === true, false, options.unfenced === true);
    return this.batched(commit);
  }

  private readonly batched = coalesce<TickCommit, boolean>((batch) => this.commitBatch(batch));

  private async commitBatch(batch: Pending<TickCommit, boolean>[]): Promise<void> {
    const fence = this.fence;
    if (fence === 'none') {
      for (const p of batch) p.resolve(false);
      return;
    }
    // One commit per job in a transaction (a second tick of one job would compare against the first's write).
    const seen = new Set<string>();
    const alone: Pending<TickCommit, boolean>[] = [];
    const together: Pending<TickCommit, boolean>[] = [];
    for (const p of batch) {
      if (seen.has(p.input.jobName)) alone.push(p);
      else {
        seen.add(p.input.jobName);
        together.push(p);
      }
    }
    const settle = (p: Pending<TickCommit, boolean>, unsure: boolean): Promise<void> =>
      this.commitOne(p.input, false, unsure).then(p.resolve, p.reject);
    if (together.length === 1) alone.unshift(...together.splice(0));

    const b = this.calls.budget();
    const mods = new Map<string, string>();
    const unknown = together.filter((p) => !this.written.has(p.input.jobName)).map((p) => TICKS + p.input.jobName);
    const read = unknown.length > 0 ? await this.calls.readMany(b, 'commitTick', unknown) : new Map();
    const ready: Pending<TickCommit, boolean>[] = [];
    for (const p of together) {
      const key = TICKS + p.input.jobName;
      const state = read.get(key);
      const mine = this.written.get(p.input.jobName);
      if (state === undefined && mine !== undefined) {
        if (mine.tickMs >= p.input.tickMs) p.resolve(false);
        else {
          mods.set(key, mine.mod);
          ready.push(p);
        }
        continue;
      }
      if (dispatchedAlready(state?.value ?? null, p.input.tickMs)) p.resolve(false);
      else {
        mods.set(key, state?.mod ?? '0');
        ready.push(p);
      }
    }

    // A fenced commit compares the leader key besides each tick: one item fewer per transaction.
    const chunks = this.calls.packTxns(ready, (p) => p.input.ops.length, this.calls.maxTxnOps - (fence !== null ? 1 : 0));
    await Promise.all([
      ...alone.map((p) => settle(p, false)),
      ...chunks.map(async (chunk) => {
        const compares: ICompare[] = chunk.map((p) => this.calls.cmpMod(TICKS + p.input.jobName, mods.get(TICKS + p.input.jobName) as string));
        if (fence !== null) compares.push(this.calls.cmp(fence.key, CompareTarget.Create, { create_revision: fence.createRevision }));
        let res: ITxnResponse;
        try {
          res = await this.calls.txn(b, 'commitTick', compares, chunk.flatMap((p) => p.input.ops), [], false);
        } catch (err) {
          if (!this.calls.mayRetryWrite(err, b)) throw err;
          // The reply was lost: the one-tick path recognises a commit that landed.
          await Promise.all(chunk.map((p) => settle(p, true)));
          return;
        }
        if (!res.succeeded) {
          // Some compare failed (a tick moved, leadership moved): each finds out which on its own.
          for (const p of chunk) this.written.delete(p.input.jobName);
          await Promise.all(chunk.map((p) => settle(p, false)));
          return;
        }
        for (const p of chunk) this.remember(p.input.jobName, p.input.tickMs, res.header.revision);
        for (const p of chunk) p.resolve(true);
      }),
    ]);
  }

  private remember(jobName: string, tickMs: number, mod: string): void {
    if (this.written.size >= MAX_REMEMBERED && !this.written.has(jobName)) this.written.clear();
    this.written.set(jobName, { tickMs, mod });
  }

  /**
   * One tick on its own: read the tick key, compare-and-put, and on a lost
   * reply recognise our own write (our tick plus our first execution).
   */
  private async commitOne(c: TickCommit, exclusive: boolean, unsureAtFirst: boolean, unfenced = false): Promise<boolean> {
    const key = TICKS + c.jobName;
    const b = this.calls.budget();
    let cur = await this.calls.read(b, 'commitTick', key);
    let unsure = unsureAtFirst;
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      // Read afresh each round: leadership can change while this commit is retrying.
      const fence = unfenced ? null : this.fence;
      if (fence === 'none') return false;
      if (unsure) {
        unsure = false;
        // A commit whose reply was lost: our tick plus our first execution mean it landed.
        if (cur.value === c.tick && (await this.executionStored(b, c.executions[0]))) {
          this.remember(c.jobName, c.tickMs, cur.mod);
          return true;
        }
      }
      if (dispatchedAlready(cur.value, c.tickMs)) return false;
      const compares = [this.calls.cmpMod(key, cur.mod)];
      const failure = [this.calls.opRead(key)];
      if (fence !== null) {
        compares.push(this.calls.cmp(fence.key, CompareTarget.Create, { create_revision: fence.createRevision }));
        failure.push(this.calls.opRead(fence.key));
      }
      if (exclusive) compares.push(this.index.cmpNoneRunning(c.jobName));
      let res: ITxnResponse;
      try {
        res = await this.calls.txn(b, 'commitTick', compares, c.ops, failure, false);
      } catch (err) {
        if (!this.calls.mayRetryWrite(err, b)) throw err;
        unsure = true;
        cur = await this.calls.read(b, 'commitTick', key);
        continue;
      }
      if (res.succeeded) {
        this.remember(c.jobName, c.tickMs, res.header.revision);
        return true;
      }
      if (fence !== null) {
        const holder = res.responses[1]?.response_range?.kvs[0];
        // Leadership moved (or the leader key expired): this agent must not dispatch.
        if (holder === undefined || holder.create_revision !== fence.createRevision) return false;
      }
      const next = this.calls.keyState(res.responses[0]?.response_range?.kvs[0]);
      // Tick unchanged and fence held: the job had a running execution (forbid).
      if (exclusive && next.mod === cur.mod) return false;
      cur = next;
    }
    throw new Error(`commitTick("${c.jobName}"): still conflicting with concurrent writers after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  private async executionStored(b: Budget, execution: Execution | undefined): Promise<boolean> {
    if (execution === undefined) return true;
    const cur = await this.calls.read(b, 'commitTick', `${EXECUTIONS}${execution.job_name}/${execution.id}`);
    return cur.value === JSON.stringify(execution);
  }
}
