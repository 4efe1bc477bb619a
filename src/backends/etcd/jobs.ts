/**
 * Job definitions: reads, compare-and-swap updates (which recognise their own
 * write when a reply is lost), bulk writes, and deletes that take a job's
 * executions and state with it. Their ticks are in ticks.ts.
 */
import type { IRequestOp } from 'etcd3';
import type { Job } from '../../job/types.js';
import type { AuditBuilder, JobBatch, JobUpdater, JobsUpdater } from '../../store/types.js';
import { JOB_PAGE, parseBody, type EtcdCalls } from './calls.js';
import type { ExecutionIndex } from './execution-index.js';
import { assertName, AUDIT_ALL, EXECUTIONS, GROUPS, JOBS, RUNNING, SKIPS, TICKS } from './keys.js';
import { auditOps } from './records.js';
import { auditByJob, conflictPause, MAX_CAS_ATTEMPTS } from '../../store/kv-shared.js';
import { coalesce } from '../../util/coalesce.js';

export class Jobs {
  constructor(
    private readonly calls: EtcdCalls,
    private readonly index: ExecutionIndex,
  ) {}

  // ---- jobs ----

  async getJob(name: string): Promise<Job | null> {
    this.calls.assertOpen();
    assertName(name);
    return this.readJob(name);
  }

  /** Jobs asked for in the same turn (a tick burst on the leader, its runs on a worker) read in one round trip. */
  private readonly readJob = coalesce<string, Job | null>(async (batch) => {
    const states = await this.calls.readMany(
      this.calls.budget(),
      'getJob',
      batch.map((p) => JOBS + p.input),
    );
    for (const p of batch) {
      try {
        const value = states.get(JOBS + p.input)?.value ?? null;
        // Parsed per caller: each gets its own object to change.
        p.resolve(value === null ? null : parseBody<Job>(value, `job "${p.input}"`));
      } catch (err) {
        p.reject(err);
      }
    }
  });

  async listJobs(page?: { offset: number; limit: number }): Promise<Job[]> {
    this.calls.assertOpen();
    if (page) {
      // Keys only to find the slice, then one range read for just those values.
      const b = this.calls.budget();
      const { kvs: keys } = await this.calls.scan(b, 'listJobs', JOBS, 5000, true);
      const slice = keys.slice(Math.max(0, page.offset), Math.max(0, page.offset) + Math.max(0, page.limit));
      const first = slice[0];
      const last = slice[slice.length - 1];
      if (!first || !last) return [];
      const res = await this.calls.range(b, 'listJobs', { key: first.key, range_end: Buffer.concat([last.key, Buffer.from([0])]) });
      return res.kvs.map((kv) => parseBody<Job>(kv.value, 'job'));
    }
    const { kvs } = await this.calls.scan(this.calls.budget(), 'listJobs', JOBS, JOB_PAGE);
    // etcd returns keys in byte order, which is the name order of the embedded store.
    return kvs.map((kv) => parseBody<Job>(kv.value, 'job'));
  }

  async countJobs(): Promise<number> {
    this.calls.assertOpen();
    const res = await this.calls.range(this.calls.budget(), 'countJobs', { ...this.calls.prefixRange(JOBS), count_only: true });
    return Number(res.count);
  }

  async updateJob(name: string, fn: JobUpdater, audit?: AuditBuilder): Promise<Job | null> {
    this.calls.assertOpen();
    assertName(name);
    const b = this.calls.budget();
    const key = JOBS + name;
    // After a write whose reply was lost: the body it wrote (null = delete), to recognise it on re-read.
    // Writes whose reply was lost: each is looked for on every re-read until this call ends.
    const unsure: { body: string | null; auditKey: string | null }[] = [];
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.calls.read(b, 'updateJob', key);
      // One landed if the job holds what it wrote, or, when another write came after it (a run
      // finishing updates the counters every second), if its audit entry exists: applying the
      // updater again to the newer job would apply it twice.
      for (const u of unsure) {
        if (cur.value === u.body || (u.auditKey !== null && (await this.calls.read(b, 'updateJob', u.auditKey)).value !== null)) {
          return u.body === null ? null : (JSON.parse(u.body) as Job);
        }
      }
      const current = cur.value === null ? null : parseBody<Job>(cur.value, `job "${name}"`);
      const next = fn(current);
      if (next === undefined) return current;
      let op: IRequestOp;
      let auditKey: string | null = null;
      const auditOf = (after: Job | null): IRequestOp[] => {
        const entry = audit?.(current, after);
        auditKey = entry ? AUDIT_ALL + entry.id : null;
        return entry ? auditOps(this.calls, entry) : [];
      };
      let body: string | null;
      if (next === null) {
        if (cur.value === null) return null;
        op = this.calls.opDelete(key);
        body = null;
      } else {
        if (next.name !== name) {
          // Storing under `name` a body that says otherwise would make the job unreachable by its own name.
          throw new Error(`updateJob("${name}"): updater returned a job named "${next.name}"`);
        }
        body = JSON.stringify(next);
        // Parsed back so callers see exactly what was stored and never share the updater's object.
        if (body === cur.value) return JSON.parse(body) as Job;
        op = this.calls.opPut(key, body);
      }
      const parsed = body === null ? null : (JSON.parse(body) as Job);
      try {
        const res = await this.calls.txn(b, 'updateJob', [this.calls.cmpMod(key, cur.mod)], [op, ...auditOf(parsed)], [], false);
        if (res.succeeded) return body === null ? null : (JSON.parse(body) as Job);
      } catch (err) {
        if (!this.calls.mayRetryWrite(err, b)) throw err;
        unsure.push({ body, auditKey });
        continue;
      }
      await conflictPause(attempt);
    }
    throw new Error(`updateJob("${name}"): still conflicting with concurrent writers after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  async updateJobs(names: string[], fn: JobsUpdater, audit?: AuditBuilder): Promise<Map<string, Job | null>> {
    this.calls.assertOpen();
    const unique = [...new Set(names)];
    for (const name of unique) assertName(name);
    this.calls.assertTxnSize(unique.length * 2 + (audit ? 2 : 0), 'updateJobs', 0);
    const b = this.calls.budget();
    // After a write whose reply was lost: the bodies it wrote, to recognise them on re-read.
    let unsure: Map<string, string | null> | null = null;
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const read = await this.calls.txn(b, 'updateJobs', [], unique.map((n) => this.calls.opRead(JOBS + n)), [], true);
      const states = unique.map((_n, i) => this.calls.keyState(read.responses[i]?.response_range?.kvs[0]));
      const current = new Map<string, Job | null>();
      unique.forEach((n, i) => {
        const v = states[i]?.value ?? null;
        current.set(n, v === null ? null : parseBody<Job>(v, `job "${n}"`));
      });
      if (unsure !== null && [...unsure].every(([n, body]) => states[unique.indexOf(n)]?.value === body)) return current;
      unsure = null;
      const changes = fn(current);
      const written = new Map<string, string | null>();
      const ops: IRequestOp[] = [];
      const result = new Map(current);
      for (const [name, next] of changes) {
        const i = unique.indexOf(name);
        if (i < 0) throw new Error(`updateJobs: updater changed "${name}", which it was not given`);
        if (next === null) {
          if (states[i]?.value === null) continue;
          ops.push(this.calls.opDelete(JOBS + name));
          written.set(name, null);
          result.set(name, null);
          continue;
        }
        if (next.name !== name) throw new Error(`updateJobs("${name}"): updater returned a job named "${next.name}"`);
        const body = JSON.stringify(next);
        result.set(name, JSON.parse(body) as Job);
        if (body === states[i]?.value) continue;
        ops.push(this.calls.opPut(JOBS + name, body));
        written.set(name, body);
      }
      if (ops.length === 0) return result;
      const primary = unique[0] as string;
      const entry = audit && written.has(primary) ? audit(current.get(primary) ?? null, result.get(primary) ?? null) : null;
      if (entry) ops.push(...auditOps(this.calls, entry));
      try {
        const res = await this.calls.txn(b, 'updateJobs', unique.map((n, i) => this.calls.cmpMod(JOBS + n, states[i]?.mod ?? '0')), ops, [], false);
        if (res.succeeded) return result;
      } catch (err) {
        if (!this.calls.mayRetryWrite(err, b)) throw err;
        unsure = written;
        continue;
      }
      await conflictPause(attempt);
    }
    throw new Error(`updateJobs(${unique.join(', ')}): still conflicting with concurrent writers after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  /**
   * Store.writeJobs: one transaction when the batch fits --max-txn-ops; otherwise several,
   * in order (puts, then deletes), each job's write together with its audit entries, so no
   * job changes without its entry. Not atomic across transactions (docs/decisions.md).
   * Every op is an unconditional put or delete, so a transaction may be re-sent.
   */
  async writeJobs(batch: JobBatch): Promise<void> {
    this.calls.assertOpen();
    const { take, loose } = auditByJob(batch);
    const auditFor = (name: string): IRequestOp[] => take(name).flatMap((e) => auditOps(this.calls, e));
    const groups: IRequestOp[][] = [];
    for (const job of batch.put) {
      assertName(job.name);
      groups.push([this.calls.opPut(JOBS + job.name, JSON.stringify(job)), ...auditFor(job.name)]);
    }
    for (const name of batch.delete) {
      assertName(name);
      groups.push([
        ...auditFor(name),
        this.calls.opDelete(JOBS + name),
        this.calls.opDelete(TICKS + name),
        this.calls.opDeletePrefix(`${SKIPS}${name}/`),
        this.calls.opDeletePrefix(`${EXECUTIONS}${name}/`),
        this.calls.opDeletePrefix(`${RUNNING}${name}/`),
        this.calls.opDeletePrefix(`${GROUPS}${name}/`),
      ]);
    }
    for (const entry of loose) groups.push(auditOps(this.calls, entry));
    let ops: IRequestOp[] = [];
    // A deadline per transaction: a large batch is many of them.
    const flush = async (): Promise<void> => {
      if (ops.length === 0) return;
      const sent = ops;
      ops = [];
      await this.calls.txn(this.calls.budget(), 'writeJobs', [], sent, [], true);
    };
    for (const group of groups) {
      if (ops.length + group.length > this.calls.maxTxnOps) await flush();
      ops.push(...group);
    }
    await flush();
  }

  async deleteJob(name: string, audit?: AuditBuilder): Promise<Job | null> {
    this.calls.assertOpen();
    assertName(name);
    const b = this.calls.budget();
    const key = JOBS + name;
    let unsure: string | null = null;
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.calls.read(b, 'deleteJob', key);
      // A delete whose reply was lost and whose job is now gone: ours, as far as anyone can tell.
      if (unsure !== null && cur.value === null) return parseBody<Job>(unsure, `job "${name}"`);
      unsure = null;
      const deleted = cur.value === null ? null : parseBody<Job>(cur.value, `job "${name}"`);
      const entry = deleted && audit ? audit(deleted, null) : null;
      const ops = [
        ...(entry ? auditOps(this.calls, entry) : []),
        this.calls.opDelete(key),
        this.calls.opDelete(TICKS + name),
        this.calls.opDeletePrefix(`${SKIPS}${name}/`),
        this.calls.opDeletePrefix(`${EXECUTIONS}${name}/`),
        this.calls.opDeletePrefix(`${RUNNING}${name}/`),
        this.calls.opDeletePrefix(`${GROUPS}${name}/`),
      ];
      try {
        const res = await this.calls.txn(b, 'deleteJob', [this.calls.cmpMod(key, cur.mod)], ops, [], false);
        if (res.succeeded) return cur.value === null ? null : parseBody<Job>(cur.value, `job "${name}"`);
      } catch (err) {
        if (!this.calls.mayRetryWrite(err, b)) throw err;
        unsure = cur.value;
        continue;
      }
      await conflictPause(attempt);
    }
    throw new Error(`deleteJob("${name}"): still conflicting with concurrent writers after ${MAX_CAS_ATTEMPTS} attempts`);
  }
}
