/**
 * The entries kept beside each execution record (see keys.ts): running/ while
 * it runs, groups/ once it finished, assign/ while its agent has yet to take
 * it. Here are the ops that write a record together with those entries, the
 * compares over them, and the reads that go through them to the records.
 */
import { CompareResult, CompareTarget, type ICompare, type IKeyValue, type IRequestOp } from 'etcd3';
import type { Execution } from '../../job/types.js';
import { EXECUTION_PAGE, parseBody, type Budget, type EtcdCalls } from './calls.js';
import {
  ASSIGN,
  assertId,
  assertName,
  EXECUTIONS,
  GROUPS,
  groupKey,
  nodeSegment,
  parseRunning,
  RUNNING,
  type RunningEntry,
} from './keys.js';
import { groupEntryValue, isRunning } from '../../store/kv-shared.js';

export class ExecutionIndex {
  constructor(private readonly calls: EtcdCalls) {}

  /**
   * The puts for executions: the record, its running-index entry (or its
   * removal once finished) and, when `route`, the assignment to its agent.
   * Duplicates collapse to the last one (etcd rejects a txn touching a key twice).
   */
  executionOps(executions: Execution[], route: boolean): IRequestOp[] {
    const byKey = new Map<string, Execution>();
    for (const e of executions) {
      assertName(e.job_name);
      assertId(e.id);
      byKey.set(`${e.job_name}/${e.id}`, e);
    }
    const ops: IRequestOp[] = [];
    for (const [ref, e] of byKey) {
      ops.push(this.calls.opPut(EXECUTIONS + ref, JSON.stringify(e)));
      if (isRunning(e)) {
        const entry: RunningEntry = { node: e.node_name, group: e.group };
        ops.push(this.calls.opPut(RUNNING + ref, JSON.stringify(entry)));
        if (route) ops.push(this.calls.opPut(`${ASSIGN}${nodeSegment(e.node_name)}/${ref}`, e.node_name));
      } else {
        // A finished execution leaves no queue entry behind, so an agent that restarts
        // (and closed it as lost) is never handed it again.
        ops.push(
          this.calls.opDelete(RUNNING + ref),
          this.calls.opDelete(`${ASSIGN}${nodeSegment(e.node_name)}/${ref}`),
          this.calls.opPut(groupKey(e.job_name, e.group, e.id), groupEntryValue(e)),
        );
      }
    }
    return ops;
  }

  /** True for the whole range only when no key exists under the job's running index (etcd range compare). */
  cmpNoneRunning(jobName: string): ICompare {
    const { key, range_end } = this.calls.prefixRange(`${RUNNING}${jobName}/`);
    return { key, range_end, target: CompareTarget.Version, result: CompareResult.Equal, version: 0 };
  }

  /** True while no key under the prefix was written after `revision` (a range compare; new keys count too). */
  cmpRangeUnchanged(relPrefix: string, revision: bigint): ICompare {
    const { key, range_end } = this.calls.prefixRange(relPrefix);
    return { key, range_end, target: CompareTarget.Mod, result: CompareResult.Less, mod_revision: (revision + 1n).toString() };
  }

  /** Reads the given execution keys in one round trip per chunk of maxTxnOps (one snapshot each); absent ones are skipped. */
  async readExecutions(b: Budget, what: string, keys: string[], revision?: string): Promise<Execution[]> {
    const found: Execution[] = [];
    for (const state of (await this.calls.readMany(b, what, keys, revision)).values()) {
      if (state.value !== null) found.push(parseBody<Execution>(state.value, 'execution'));
    }
    return found;
  }

  /**
   * Reads to add to a transaction that also reads the execution: the group's index entries and the
   * job's running entries, at the transaction's revision. groupMembersAt then needs no more round
   * trips for a group of one (the common case), and one for a larger group.
   */
  groupReadOps(jobName: string, group: number): IRequestOp[] {
    return [
      { request_range: { ...this.calls.prefixRange(`${GROUPS}${jobName}/${String(group)}/`), keys_only: true } },
      { request_range: this.calls.prefixRange(`${RUNNING}${jobName}/`) },
    ];
  }

  /**
   * The group's other executions (not in `except`) as of `revision`, from the responses of
   * groupReadOps (the group's index entries, then the job's running entries); their records are
   * read at that revision.
   */
  async groupMembersAt(b: Budget, jobName: string, group: number, revision: string, ranges: [IKeyValue[], IKeyValue[]], except: Set<string>): Promise<Execution[]> {
    const prefix = `${GROUPS}${jobName}/${String(group)}/`;
    const ids = ranges[0].map((kv) => this.calls.rel(kv.key).slice(prefix.length));
    for (const kv of ranges[1]) {
      const entry = parseRunning(kv.value);
      if (entry === null || entry.group === group) ids.push(this.calls.rel(kv.key).slice(RUNNING.length + jobName.length + 1));
    }
    const keys = [...new Set(ids)].filter((id) => !except.has(id)).map((id) => `${EXECUTIONS}${jobName}/${id}`);
    if (keys.length === 0) return [];
    return (await this.readExecutions(b, 'completeExecution', keys, revision)).filter((e) => e.group === group);
  }

  /**
   * Executions stored before the group index existed have no entry there: two cheap counts
   * tell, and the job is then indexed once (reindexGroups) before its groups are read.
   */
  async groupIndexComplete(b: Budget, what: string, jobName: string): Promise<boolean> {
    const res = await this.calls.txn(b, what, [], [
      { request_range: { ...this.calls.prefixRange(`${EXECUTIONS}${jobName}/`), count_only: true } },
      { request_range: { ...this.calls.prefixRange(`${GROUPS}${jobName}/`), count_only: true } },
      { request_range: { ...this.calls.prefixRange(`${RUNNING}${jobName}/`), count_only: true } },
    ], [], true);
    const count = (i: number): number => Number(res.responses[i]?.response_range?.count ?? 0);
    return count(0) <= count(1) + count(2);
  }

  /** One-off for executions stored before the group index: index them (only while their record is unchanged). */
  async reindexGroups(b: Budget, jobName: string): Promise<void> {
    const { kvs } = await this.calls.scan(b, 'pruneExecutions', `${EXECUTIONS}${jobName}/`, EXECUTION_PAGE);
    const puts = kvs.flatMap((kv) => {
      const e = parseBody<Execution>(kv.value, `execution of "${jobName}"`);
      if (isRunning(e)) return [];
      return [{ cmp: this.calls.cmpMod(this.calls.rel(kv.key), kv.mod_revision), op: this.calls.opPut(groupKey(jobName, e.group, e.id), groupEntryValue(e)) }];
    });
    const size = Math.max(1, Math.floor(this.calls.maxTxnOps / 2));
    for (let i = 0; i < puts.length; i += size) {
      const chunk = puts.slice(i, i + size);
      // A record rewritten meanwhile wrote its own entry; skipping it then is right.
      const res = await this.calls.txn(b, 'pruneExecutions', chunk.map((x) => x.cmp), chunk.map((x) => x.op), [], true);
      if (!res.succeeded) {
        for (const x of chunk) await this.calls.txn(b, 'pruneExecutions', [x.cmp], [x.op], [], true);
      }
    }
  }
}
