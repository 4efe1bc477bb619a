/**
 * The work queue of each agent (assign/<node>/...): consumeAssignments hands
 * every execution routed to a node to its handler exactly once, claiming each
 * by deleting its queue key. And the follow-ups (followups/...): dependents
 * still to run for a group that succeeded.
 */
import { CompareResult, CompareTarget, type IKeyValue, type ITxnResponse } from 'etcd3';
import type { Execution, Job } from '../../job/types.js';
import type { FollowUp } from '../../store/types.js';
import { HandedOver, messageOf, type StoreReport } from '../../store/kv-shared.js';
import { pause } from '../../util/retry.js';
import { coalesce } from '../../util/coalesce.js';
import { EtcdUnavailableError, JOB_PAGE, parseBody, type Budget, type EtcdCalls } from './calls.js';
import { ASSIGN, assertName, EXECUTIONS, FOLLOWUPS, JOBS, nodeSegment, splitJobAndId } from './keys.js';
import type { Watches } from './watches.js';

/** A claim's operations per key: delete the key, read the execution, read its job. */
const OPS_PER_CLAIM = 3;

export class Queue {
  constructor(
    private readonly calls: EtcdCalls,
    private readonly watches: Watches,
    private readonly report: StoreReport,
  ) {}

  consumeAssignments(node: string, handler: (execution: Execution, job?: Job | null) => void): () => void {
    if (this.calls.closed) return () => undefined;
    const prefix = `${ASSIGN}${nodeSegment(node)}/`;
    const sub = this.watches.subscribe();
    const inFlight = new Set<string>();

    // Without it, under overload 179 of 14810 runs went out twice (BENCHMARKS.md, 2026-11-30 15:15).
    const handed = new HandedOver();
    const deliver = (key: string, execution: Execution, job?: Job | null): void => {
      if (!handed.add(key)) return;
      try {
        handler(execution, job);
      } catch (err) {
        this.report.listenerError(err);
      }
    };

    const deliverStored = async (b: Budget, key: string, job: string, id: string): Promise<void> => {
      if (handed.has(key)) return;
      const cur = await this.calls.read(b, 'consumeAssignments', `${EXECUTIONS}${job}/${id}`);
      if (cur.value === null) {
        this.report.warn({ node, job, execution: id }, 'etcd store: assigned execution no longer exists (job deleted?); skipped');
        return;
      }
      const execution = parseBody<Execution>(cur.value, `execution "${job}/${id}"`);
      if (execution.finished_at !== null) return; // closed meanwhile (recovery, or the leader's lost-agent check)
      deliver(key, execution);
    };

    /** The job and execution behind a queue key (`<prefix><job>/<id>`). */
    const refOf = (key: string): { job: string; id: string } => splitJobAndId(key.slice(prefix.length)) as { job: string; id: string };
    const executionKey = (key: string): string => {
      const ref = refOf(key);
      return `${EXECUTIONS}${ref.job}/${ref.id}`;
    };

    /**
     * Claims and reads in one txn, all of the keys or none: whoever deletes a key gets its
     * execution, exactly once. The job is read with it, so the runner needs no round trip of its own.
     */
    const take = (b: Budget, keys: string[]): Promise<ITxnResponse> =>
      this.calls.txn(
        b,
        'consumeAssignments',
        keys.map((key) => this.calls.cmp(key, CompareTarget.Version, { version: 0 }, CompareResult.Greater)),
        keys.flatMap((key) => [this.calls.opDelete(key), this.calls.opRead(executionKey(key)), this.calls.opRead(JOBS + refOf(key).job)]),
        [],
        false,
      );

    /** The job read with key `i` of a take(): null when deleted, undefined (the runner reads it) when unreadable. */
    const jobIn = (res: ITxnResponse, i: number, key: string): Job | null | undefined => {
      const kv = res.responses[OPS_PER_CLAIM * i + 2]?.response_range?.kvs[0];
      if (kv === undefined) return null;
      try {
        return parseBody<Job>(kv.value, `job "${refOf(key).job}"`);
      } catch {
        return undefined;
      }
    };

    /** Delivers what a successful take() read, key by key. */
    const handOver = (keys: string[], res: ITxnResponse): void => {
      keys.forEach((key, i) => {
        const kv = res.responses[OPS_PER_CLAIM * i + 1]?.response_range?.kvs[0];
        if (kv === undefined) {
          this.report.warn({ node, key }, 'etcd store: assigned execution no longer exists (job deleted?); skipped');
          return;
        }
        try {
          deliver(key, parseBody<Execution>(kv.value, `execution "${executionKey(key)}"`), jobIn(res, i, key));
        } catch (err) {
          this.report.warn({ node, key, err: messageOf(err) }, 'etcd store: cannot take an assigned execution');
        }
      });
    };

    const claim = async (key: string, unsureAtFirst = false): Promise<void> => {
      if (sub.stopped || inFlight.has(key)) return;
      const ref = splitJobAndId(key.slice(prefix.length));
      if (ref === null) return;
      inFlight.add(key);
      let unsure = unsureAtFirst;
      let delay = 100;
      try {
        while (!sub.stopped) {
          const b = this.calls.budget();
          try {
            if (unsure) {
              // If the key vanished after our claim's reply was lost, the claim was ours, or an earlier
              // claim of this consumer took it (a relist or a replayed event claims again; `handed`).
              const still = await this.calls.read(b, 'consumeAssignments', key);
              if (still.value === null) {
                await deliverStored(b, key, ref.job, ref.id);
                return;
              }
              unsure = false;
            }
            let res: ITxnResponse;
            try {
              res = await take(b, [key]);
            } catch (err) {
              if (err instanceof EtcdUnavailableError) unsure = true;
              throw err;
            }
            if (res.succeeded) handOver([key], res); // else another consumer claimed it
            return;
          } catch (err) {
            if (sub.stopped) return;
            if (!(err instanceof EtcdUnavailableError)) {
              this.report.warn({ node, key, err: messageOf(err) }, 'etcd store: cannot take an assigned execution');
              return;
            }
            if (!(await pause(delay, sub.abort.signal))) return;
            delay = Math.min(delay * 2, 2000);
          }
        }
      } finally {
        inFlight.delete(key);
      }
    };

    /**
     * The assignments of one burst (they arrive in one watch response) claimed in one txn; if any
     * was taken meanwhile the txn fails as a whole and each is claimed on its own, as is each
     * whose claim's reply was lost (claim() recognises a claim that landed).
     */
    const claimTogether = coalesce<string, void>(async (batch) => {
      try {
        const keys = [...new Set(batch.map((p) => p.input))].filter((k) => !inFlight.has(k) && splitJobAndId(k.slice(prefix.length)) !== null);
        if (sub.stopped || keys.length === 0) return;
        if (keys.length === 1) return await claim(keys[0] as string);
        await Promise.all(this.calls.packTxns(keys, () => OPS_PER_CLAIM).map((chunk) => claimChunk(chunk)));
      } finally {
        // Every path above reports its own trouble; the callers only wait for the attempt.
        for (const p of batch) p.resolve();
      }
    });

    const claimChunk = async (chunk: string[]): Promise<void> => {
      for (const key of chunk) inFlight.add(key);
      let res: ITxnResponse | null = null;
      let unsure = false;
      try {
        res = await take(this.calls.budget(), chunk);
      } catch (err) {
        if (!(err instanceof EtcdUnavailableError)) this.report.warn({ node, err: messageOf(err) }, 'etcd store: cannot take assigned executions; taking them one by one');
        unsure = err instanceof EtcdUnavailableError;
      } finally {
        for (const key of chunk) inFlight.delete(key);
      }
      if (res === null || !res.succeeded) {
        await Promise.all(chunk.map((key) => claim(key, unsure)));
        return;
      }
      handOver(chunk, res);
    };

    const relist = async (): Promise<bigint> => {
      const { kvs, revision } = await this.calls.scan(this.calls.budget(), 'consumeAssignments', prefix, JOB_PAGE, true);
      for (const kv of kvs) this.report.background(claimTogether(this.calls.rel(kv.key)), 'claiming an assignment');
      return revision;
    };

    const start = async (): Promise<void> => {
      let delay = 100;
      while (!sub.stopped) {
        try {
          const revision = await relist();
          if (sub.stopped) return;
          const from = revision + 1n;
          const watcher = this.calls.ns
            .watch()
            .prefix(prefix)
            .only('put')
            .startRevision(from.toString())
            // watcher() rather than create(): create() never settles while etcd is down, and
            // gives no handle to cancel meanwhile.
            .watcher();
          sub.watcher = watcher;
          watcher.on('put', (kv: IKeyValue) => {
            this.report.background(claimTogether(kv.key.toString()), 'claiming an assignment');
          });
          this.watches.watchHealth(sub, watcher, from, `assignments of ${node}`, () => {
            // Events are replayed from the last revision; the re-list covers keys the replay can't (compaction).
            relist().catch((err: unknown) => {
              this.report.warn({ node, err: messageOf(err) }, 'etcd store: re-listing assignments after reconnect failed');
            });
          }, () => {
            this.report.background(start(), 'restarting the assignment watch');
          });
          return;
        } catch (err) {
          if (sub.stopped) return;
          this.report.warn({ node, err: messageOf(err), retry_ms: delay }, 'etcd store: cannot list assignments; retrying');
          if (!(await pause(delay, sub.abort.signal))) return;
          delay = Math.min(delay * 2, 2000);
        }
      }
    };

    this.report.background(start(), 'starting the assignment watch');
    return () => {
      this.report.background(this.watches.unsubscribe(sub), 'cancelling the assignment watch');
    };
  }

  // ---- follow-ups ----

  async listFollowUps(node?: string): Promise<FollowUp[]> {
    this.calls.assertOpen();
    const { kvs } = await this.calls.scan(this.calls.budget(), 'listFollowUps', FOLLOWUPS, JOB_PAGE);
    const out: FollowUp[] = [];
    for (const kv of kvs) {
      const rel = this.calls.rel(kv.key).slice(FOLLOWUPS.length);
      const slash = rel.lastIndexOf('/');
      const body = parseBody<{ node: string; children: string[] }>(kv.value, `follow-up "${rel}"`);
      if (node !== undefined && body.node !== node) continue;
      out.push({ job: rel.slice(0, slash), group: Number(rel.slice(slash + 1)), node: body.node, children: body.children });
    }
    return out;
  }

  async deleteFollowUp(job: string, group: number): Promise<void> {
    this.calls.assertOpen();
    assertName(job);
    await this.calls.txn(this.calls.budget(), 'deleteFollowUp', [], [this.calls.opDelete(`${FOLLOWUPS}${job}/${String(group)}`)], [], true);
  }
}
