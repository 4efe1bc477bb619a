/**
 * Execution records: storing them (with their index entries, see
 * execution-index.ts), completing one together with its job and its group's
 * outcome, listing, and pruning old history.
 */
import { CompareTarget, type ICompare, type IKeyValue, type IRequestOp, type IResponseOp } from 'etcd3';
import type { Execution, Job } from '../../job/types.js';
import { ExecutionClosedError, type CompleteOptions, type DispatchOptions, type ExecutionQuery, type JobUpdater, type Page } from '../../store/types.js';
import { EXECUTION_PAGE, JOB_PAGE, parseBody, type Budget, type EtcdCalls } from './calls.js';
import type { ExecutionIndex } from './execution-index.js';
import { checkExecutionQuery, compareBytes, conflictPause, isRunning, MAX_CAS_ATTEMPTS, pageExecutions, sortGroupMembers, sortRunning } from '../../store/kv-shared.js';
import { assertId, assertName, EXECUTIONS, FOLLOWUPS, GROUPS, groupKey, JOBS, parseRunning, RUNNING, splitJobAndId, type GroupEntry } from './keys.js';
import { auditOps } from './records.js';
import { coalesce, type Pending } from '../../util/coalesce.js';

/**
 * pruneExecutions runs after every finished execution, and counting a job's records is a round
 * trip each time. Each job's count is estimated instead: the last count, plus every record this
 * store wrote for the job since (an over-estimate: a completion rewrites a record already
 * counted when this agent also dispatched it). It counts again when the estimate passes the
 * limit, and at least every RECOUNT_EVERY calls, for records other agents wrote meanwhile.
 */
const RECOUNT_EVERY = 16;
const MAX_ESTIMATES = 200_000;

/** One completion's reads, answered at the revision of the txn that carried them. */
interface CompletionRead {
  responses: IResponseOp[];
  revision: string;
}

export class Executions {
  /** job → records estimated, and prune calls since the last count. */
  private readonly estimates = new Map<string, { records: number; calls: number }>();

  /**
   * The reads of the completions that arrive in one turn (runs of different jobs finishing
   * together) go out in one read-only txn, one snapshot, instead of a round trip each; each
   * completion still writes on its own (its compares are its own).
   */
  private readonly completionReads = coalesce<IRequestOp[], CompletionRead>((batch) => this.readCompletions(batch));

  private async readCompletions(batch: Pending<IRequestOp[], CompletionRead>[]): Promise<void> {
    await Promise.all(this.calls.packTxns(batch, (p) => p.input.length).map(async (chunk) => {
      try {
        const res = await this.calls.txn(this.calls.budget(), 'completeExecution', [], chunk.flatMap((p) => p.input), [], true);
        let at = 0;
        for (const p of chunk) {
          p.resolve({ responses: res.responses.slice(at, at + p.input.length), revision: res.header.revision });
          at += p.input.length;
        }
      } catch (err) {
        for (const p of chunk) p.reject(err);
      }
    }));
  }

  constructor(
    private readonly calls: EtcdCalls,
    private readonly index: ExecutionIndex,
  ) {}

  /** `n` records of `job` written through this store (see RECOUNT_EVERY). */
  wrote(job: string, n: number): void {
    const e = this.estimates.get(job);
    if (e) e.records += n;
  }

  async putExecution(execution: Execution): Promise<void> {
    this.calls.assertOpen();
    const ops = this.index.executionOps([execution], false);
    // A finished execution has a group entry: a start record arriving after the execution was
    // closed (agent lost) finds it and must not reopen the execution.
    const compares = isRunning(execution)
      ? [this.calls.cmp(groupKey(execution.job_name, execution.group, execution.id), CompareTarget.Version, { version: 0 })]
      : [];
    // Re-sending the same puts is harmless (and the compare still holds), so this write may retry like a read.
    this.wrote(execution.job_name, 1);
    const res = await this.calls.txn(this.calls.budget(), 'putExecution', compares, ops, [], true);
    if (!res.succeeded) throw new ExecutionClosedError(execution.job_name, execution.id);
  }

  async dispatchExecutions(executions: Execution[], options: DispatchOptions = {}): Promise<boolean> {
    this.calls.assertOpen();
    const first = executions[0];
    if (first === undefined) return true;
    const ops = [...this.index.executionOps(executions, true), ...(options.audit ? auditOps(this.calls, options.audit) : [])];
    this.calls.assertTxnSize(ops.length, 'dispatchExecutions', executions.length);
    const compares = options.exclusive ? [this.index.cmpNoneRunning(first.job_name)] : [];
    for (const e of executions) this.wrote(e.job_name, 1);
    // Re-sending the same puts is harmless only when nothing is compared.
    const res = await this.calls.txn(this.calls.budget(), 'dispatchExecutions', compares, ops, [], !options.exclusive);
    return res.succeeded;
  }

  async completeExecution(execution: Execution, fn: JobUpdater, options: CompleteOptions = {}): Promise<Job | null> {
    this.calls.assertOpen();
    const name = execution.job_name;
    const execOps = this.index.executionOps(options.next ? [execution, options.next] : [execution], false);
    this.wrote(name, options.next ? 2 : 1);
    const execBody = JSON.stringify(execution);
    const b = this.calls.budget();
    const key = JOBS + name;
    const execKey = `${EXECUTIONS}${name}/${execution.id}`;
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      // Job, execution and (for a group outcome) the group's entries read at one revision: the
      // write below is conditional on all of them.
      const reads = [this.calls.opRead(key), this.calls.opRead(execKey), ...(options.group ? this.index.groupReadOps(name, execution.group) : [])];
      const read = await this.completionReads(reads);
      const cur = this.calls.keyState(read.responses[0]?.response_range?.kvs[0]);
      const stored = this.calls.keyState(read.responses[1]?.response_range?.kvs[0]);
      const current = cur.value === null ? null : parseBody<Job>(cur.value, `job "${name}"`);
      if (stored.value !== null && !isRunning(parseBody<Execution>(stored.value, `execution "${name}/${execution.id}"`))) {
        // Our own write whose reply was lost (or a retried call): done already, count nothing.
        if (stored.value === execBody) return current;
        throw new ExecutionClosedError(name, execution.id);
      }
      const next = fn(current);
      const ops = [...execOps];
      const compares = [this.calls.cmpMod(key, cur.mod), this.calls.cmpMod(execKey, stored.mod)];
      let result: Job | null = current;
      if (next === null) {
        if (cur.value !== null) ops.push(this.calls.opDelete(key));
        result = null;
      } else if (next !== undefined) {
        if (next.name !== name) {
          throw new Error(`completeExecution("${name}"): updater returned a job named "${next.name}"`);
        }
        result = JSON.parse(JSON.stringify(next)) as Job;
      }
      if (options.group && result !== null) {
        const revision = BigInt(read.revision);
        const ranges: [IKeyValue[], IKeyValue[]] = [read.responses[2]?.response_range?.kvs ?? [], read.responses[3]?.response_range?.kvs ?? []];
        const except = new Set([execution.id, ...(options.next ? [options.next.id] : [])]);
        const members = await this.index.groupMembersAt(b, name, execution.group, read.revision, ranges, except);
        const after = [...members, execution];
        if (options.next) after.push(options.next);
        const decided = options.group(result, after);
        if (decided !== undefined) {
          if (decided.job.name !== name) throw new Error(`completeExecution("${name}"): group outcome names job "${decided.job.name}"`);
          result = JSON.parse(JSON.stringify(decided.job)) as Job;
          if (decided.followUp !== undefined) {
            const body = JSON.stringify({ node: execution.node_name, children: decided.followUp });
            ops.push(this.calls.opPut(`${FOLLOWUPS}${name}/${String(execution.group)}`, body));
          }
        }
        // The outcome holds only if the group didn't change since it was read: no member
        // finished, started or retried meanwhile (their index keys would be newer).
        compares.push(
          this.index.cmpRangeUnchanged(`${GROUPS}${name}/${String(execution.group)}/`, revision),
          this.index.cmpRangeUnchanged(`${RUNNING}${name}/`, revision),
        );
      }
      if (result !== null) {
        const body = JSON.stringify(result);
        if (body !== cur.value) ops.push(this.calls.opPut(key, body));
      }
      try {
        // The job compare holds even when the job is untouched, so the returned job is the one the
        // execution was stored against; the execution compare makes a close that raced us win.
        const res = await this.calls.txn(b, 'completeExecution', compares, ops, [], false);
        if (res.succeeded) return result;
      } catch (err) {
        // Whether it landed is read back on the next round: finding our result means job and execution both did.
        if (!this.calls.mayRetryWrite(err, b)) throw err;
        continue;
      }
      await conflictPause(attempt);
    }
    throw new Error(`completeExecution("${name}"): still conflicting with concurrent writers after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  async getExecution(jobName: string, id: string): Promise<Execution | null> {
    this.calls.assertOpen();
    assertName(jobName);
    assertId(id);
    const cur = await this.calls.read(this.calls.budget(), 'getExecution', `${EXECUTIONS}${jobName}/${id}`);
    return cur.value === null ? null : parseBody<Execution>(cur.value, `execution "${jobName}/${id}"`);
  }

  async listExecutions(jobName: string, query: ExecutionQuery = {}): Promise<Page<Execution>> {
    this.calls.assertOpen();
    assertName(jobName);
    // Refused before any read, as the embedded store's SQL refuses it.
    checkExecutionQuery(query);
    return pageExecutions(await this.jobExecutions(this.calls.budget(), 'listExecutions', jobName), query);
  }

  async listGroup(jobName: string, group: number): Promise<Execution[]> {
    this.calls.assertOpen();
    assertName(jobName);
    const b = this.calls.budget();
    if (!(await this.index.groupIndexComplete(b, 'listGroup', jobName))) await this.index.reindexGroups(b, jobName);
    const prefix = `${GROUPS}${jobName}/${String(group)}/`;
    const finished = await this.calls.scan(b, 'listGroup', prefix, JOB_PAGE, true);
    const keys = finished.kvs.map((kv) => `${EXECUTIONS}${jobName}/${this.calls.rel(kv.key).slice(prefix.length)}`);
    // A job has few running executions, and their index values are small.
    const running = await this.calls.scan(b, 'listGroup', `${RUNNING}${jobName}/`, JOB_PAGE);
    for (const kv of running.kvs) {
      const entry = parseRunning(kv.value);
      // An entry without a group (written by an older version) is read to find out.
      if (entry === null || entry.group === group) {
        keys.push(`${EXECUTIONS}${jobName}/${this.calls.rel(kv.key).slice(RUNNING.length + jobName.length + 1)}`);
      }
    }
    return sortGroupMembers((await this.index.readExecutions(b, 'listGroup', [...new Set(keys)])).filter((e) => e.group === group));
  }

  async listRunning(jobName?: string): Promise<Execution[]> {
    this.calls.assertOpen();
    if (jobName !== undefined) assertName(jobName);
    const b = this.calls.budget();
    const indexPrefix = jobName === undefined ? RUNNING : `${RUNNING}${jobName}/`;
    const { kvs } = await this.calls.scan(b, 'listRunning', indexPrefix, JOB_PAGE, true);
    const keys: string[] = [];
    for (const kv of kvs) {
      const ref = splitJobAndId(this.calls.rel(kv.key).slice(RUNNING.length));
      if (ref !== null) keys.push(`${EXECUTIONS}${ref.job}/${ref.id}`);
    }
    // Ones deleted since the index was read are skipped; ones finished meanwhile are dropped here.
    return sortRunning((await this.index.readExecutions(b, 'listRunning', keys)).filter(isRunning));
  }

  async deleteExecutions(jobName: string): Promise<number> {
    this.calls.assertOpen();
    assertName(jobName);
    this.estimates.delete(jobName);
    const res = await this.calls.txn(
      this.calls.budget(),
      'deleteExecutions',
      [],
      [
        this.calls.opDeletePrefix(`${EXECUTIONS}${jobName}/`),
        this.calls.opDeletePrefix(`${RUNNING}${jobName}/`),
        this.calls.opDeletePrefix(`${GROUPS}${jobName}/`),
      ],
      [],
      true,
    );
    return Number(res.responses[0]?.response_delete_range?.deleted ?? 0);
  }

  async pruneExecutions(jobName: string, keep: number): Promise<number> {
    this.calls.assertOpen();
    assertName(jobName);
    const n = Number.isFinite(keep) ? Math.max(0, Math.trunc(keep)) : 0;
    const b = this.calls.budget();
    // Runs after every finished execution: while the history is surely not full, nothing is read.
    const estimate = this.estimates.get(jobName);
    if (estimate && estimate.records <= n && ++estimate.calls < RECOUNT_EVERY) return 0;
    const counted = await this.calls.range(b, 'pruneExecutions', { ...this.calls.prefixRange(`${EXECUTIONS}${jobName}/`), count_only: true });
    const records = Number(counted.count);
    if (this.estimates.size >= MAX_ESTIMATES && !this.estimates.has(jobName)) this.estimates.clear();
    const fresh = { records, calls: 0 };
    this.estimates.set(jobName, fresh);
    if (records <= n) return 0;
    if (!(await this.index.groupIndexComplete(b, 'pruneExecutions', jobName))) await this.index.reindexGroups(b, jobName);
    // The group index carries start time and state: victims are chosen without reading any output.
    const { kvs } = await this.calls.scan(b, 'pruneExecutions', `${GROUPS}${jobName}/`, JOB_PAGE);
    const entries = kvs.flatMap((kv) => {
      const rel = this.calls.rel(kv.key);
      const id = rel.slice(rel.indexOf('/', GROUPS.length + jobName.length + 1) + 1);
      const entry = parseBody<GroupEntry>(kv.value, `group entry "${rel}"`);
      return [{ id, s: entry.s, key: rel, mod: kv.mod_revision }];
    });
    entries.sort((a, c) => c.s - a.s || compareBytes(c.id, a.id));
    // Only finished executions are indexed here: running ones are never pruned (their agent will
    // still write the result) and don't count.
    const victims = entries.slice(n);
    let deleted = 0;
    const perOp = 2;
    const size = Math.max(1, Math.floor(this.calls.maxTxnOps / perOp));
    for (let i = 0; i < victims.length; i += size) {
      const chunk = victims.slice(i, i + size);
      const ops = (v: (typeof chunk)[number]): IRequestOp[] => [this.calls.opDelete(v.key), this.calls.opDelete(`${EXECUTIONS}${jobName}/${v.id}`)];
      // Conditional on the entry being unchanged since it was read (it is rewritten with each result)
      // and on the execution not running again (a running one has no say in the entry).
      const cmps = (v: (typeof chunk)[number]): ICompare[] => [
        this.calls.cmpMod(v.key, v.mod),
        this.calls.cmp(`${RUNNING}${jobName}/${v.id}`, CompareTarget.Version, { version: 0 }),
      ];
      const res = await this.calls.txn(b, 'pruneExecutions', chunk.flatMap(cmps), chunk.flatMap(ops), [], true);
      if (res.succeeded) {
        deleted += chunk.length;
        continue;
      }
      for (const v of chunk) {
        const one = await this.calls.txn(b, 'pruneExecutions', cmps(v), ops(v), [], true);
        if (one.succeeded) deleted += 1;
      }
    }
    fresh.records = records - deleted;
    return deleted;
  }

  private async jobExecutions(b: Budget, what: string, jobName: string): Promise<Execution[]> {
    const { kvs } = await this.calls.scan(b, what, `${EXECUTIONS}${jobName}/`, EXECUTION_PAGE);
    return kvs.map((kv) => parseBody<Execution>(kv.value, `execution of "${jobName}"`));
  }
}
