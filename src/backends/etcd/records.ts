/**
 * The small records of the store: cluster-wide settings, skipped ticks, API
 * tokens and the audit log, plus the activity view of the dashboard (its
 * reading logic is in etcd-activity.ts).
 */
import { CompareTarget, SortOrder, SortTarget, type IRequestOp } from 'etcd3';
import type { Job } from '../../job/types.js';
import { SKIPS_KEPT, type Activity, type ActivityQuery, type AuditEntry, type AuditQuery, type Page, type SkipRecord, type StoredToken } from '../../store/types.js';
import { countSkips, uniqueSkips } from '../../store/skips.js';
import { conflictPause, MAX_CAS_ATTEMPTS } from '../../store/kv-shared.js';
import { JOB_PAGE, parseBody, type Budget, type EtcdCalls } from './calls.js';
import { etcdActivity } from './etcd-activity.js';
import { assertName, AUDIT_ALL, AUDIT_JOB, JOBS, SETTINGS, SKIPS, TOKENS } from './keys.js';

/** The puts of one audit entry: under audit/all/ and, when it names a job, under that job too. */
export function auditOps(calls: EtcdCalls, entry: AuditEntry): IRequestOp[] {
  const body = JSON.stringify(entry);
  const ops = [calls.opPut(AUDIT_ALL + entry.id, body)];
  if (entry.job !== null) ops.push(calls.opPut(`${AUDIT_JOB}${entry.job}/${entry.id}`, body));
  return ops;
}

export class Records {
  constructor(private readonly calls: EtcdCalls) {}

  // ---- settings ----

  async getSetting(key: string): Promise<string | null> {
    this.calls.assertOpen();
    return (await this.calls.read(this.calls.budget(), 'getSetting', SETTINGS + key)).value;
  }

  async setSetting(key: string, value: string | null, audit?: AuditEntry): Promise<void> {
    this.calls.assertOpen();
    const op = value === null ? this.calls.opDelete(SETTINGS + key) : this.calls.opPut(SETTINGS + key, value);
    // Idempotent even with the audit entry: a resent put of the same entry id writes the same bytes.
    await this.calls.txn(this.calls.budget(), 'setSetting', [], [op, ...(audit ? auditOps(this.calls, audit) : [])], [], true);
  }

  // ---- skipped ticks ----

  async recordSkips(jobName: string, skips: SkipRecord[]): Promise<Job | null> {
    this.calls.assertOpen();
    assertName(jobName);
    const b = this.calls.budget();
    const key = JOBS + jobName;
    const recordKey = (s: SkipRecord): string => `${SKIPS}${jobName}/${s.id}`;
    const unique = uniqueSkips(skips);
    // Ids found already stored (a retried write, a new leader recomputing a gap that has grown since):
    // neither written nor counted again, record by record. A batch may hold known and new records in
    // any order, so no single record can stand for the whole batch.
    const known = new Set<string>();
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.calls.read(b, 'recordSkips', key);
      if (cur.value === null) return null;
      const current = parseBody<Job>(cur.value, `job "${jobName}"`);
      const fresh = unique.filter((s) => !known.has(s.id));
      if (fresh.length === 0) return current;
      const body = JSON.stringify(countSkips(current, fresh));
      // Each record must still be absent; the failure branch reads them back, so learning which are
      // already stored costs no extra round trip.
      const compare = [this.calls.cmpMod(key, cur.mod), ...fresh.map((s) => this.calls.cmp(recordKey(s), CompareTarget.Version, { version: 0 }))];
      const puts = fresh.map((s) => this.calls.opPut(recordKey(s), JSON.stringify(s)));
      try {
        const res = await this.calls.txn(b, 'recordSkips', compare, [this.calls.opPut(key, body), ...puts], fresh.map((s) => this.calls.opRead(recordKey(s))), false);
        if (res.succeeded) {
          await this.pruneSkips(b, jobName);
          return JSON.parse(body) as Job;
        }
        let found = 0;
        fresh.forEach((s, i) => {
          if ((res.responses[i]?.response_range?.kvs.length ?? 0) > 0) {
            known.add(s.id);
            found++;
          }
        });
        // Some were stored already: go again at once with the others. Otherwise the job changed.
        if (found > 0) continue;
      } catch (err) {
        if (!this.calls.mayRetryWrite(err, b)) throw err;
        // A lost reply: the next round finds our records stored and returns the job as it counted them.
        continue;
      }
      await conflictPause(attempt);
    }
    throw new Error(`recordSkips("${jobName}"): still conflicting with concurrent writers after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  /** Keeps the newest SKIPS_KEPT records; trims in batches so most writes only count. */
  private async pruneSkips(b: Budget, jobName: string): Promise<void> {
    const { key, range_end } = this.calls.prefixRange(`${SKIPS}${jobName}/`);
    const counted = await this.calls.range(b, 'recordSkips', { key, range_end, count_only: true });
    const excess = Number(counted.count) - SKIPS_KEPT;
    if (excess < 100) return;
    const oldest = await this.calls.range(b, 'recordSkips', { key, range_end, keys_only: true, limit: excess, sort_order: SortOrder.Ascend, sort_target: SortTarget.Key });
    const last = oldest.kvs.at(-1);
    if (!last) return;
    const end = Buffer.concat([last.key, Buffer.from([0])]);
    await this.calls.txn(b, 'recordSkips', [], [{ request_delete_range: { key, range_end: end } }], [], true);
  }

  async listSkips(jobName: string, page: { start?: number; end?: number } = {}): Promise<Page<SkipRecord>> {
    this.calls.assertOpen();
    assertName(jobName);
    return this.newestFirst<SkipRecord>('listSkips', `${SKIPS}${jobName}/`, page, 'skip record');
  }

  async activity(query: ActivityQuery): Promise<Activity> {
    this.calls.assertOpen();
    const b = this.calls.budget();
    return etcdActivity(query, {
      scan: async (rel, keysOnly) => (await this.calls.scan(b, 'activity', rel, keysOnly ? 5000 : JOB_PAGE * 10, keysOnly)).kvs.map((kv) => ({ key: this.calls.rel(kv.key), value: kv.value.toString() })),
      read: async (keys) => {
        const values: string[] = [];
        for (let i = 0; i < keys.length; i += this.calls.maxTxnOps) {
          const res = await this.calls.txn(b, 'activity', [], keys.slice(i, i + this.calls.maxTxnOps).map((k) => this.calls.opRead(k)), [], true);
          for (const r of res.responses) {
            const kv = r.response_range?.kvs[0];
            if (kv !== undefined) values.push(kv.value.toString());
          }
        }
        return values;
      },
    });
  }

  // ---- API tokens and the audit log ----

  async listTokens(): Promise<StoredToken[]> {
    this.calls.assertOpen();
    const { kvs } = await this.calls.scan(this.calls.budget(), 'listTokens', TOKENS, JOB_PAGE);
    return kvs.map((kv) => parseBody<StoredToken>(kv.value, 'API token'));
  }

  async createToken(token: StoredToken, audit: AuditEntry): Promise<boolean> {
    this.calls.assertOpen();
    assertName(token.name);
    const b = this.calls.budget();
    const key = TOKENS + token.name;
    const ops = [this.calls.opPut(key, JSON.stringify(token)), ...auditOps(this.calls, audit)];
    for (;;) {
      try {
        const res = await this.calls.txn(b, 'createToken', [this.calls.cmp(key, CompareTarget.Version, { version: 0 })], ops, [], false);
        return res.succeeded;
      } catch (err) {
        if (!this.calls.mayRetryWrite(err, b)) throw err;
        // The reply was lost: if the name now holds our hash, the write was ours.
        const cur = await this.calls.read(b, 'createToken', key);
        if (cur.value !== null) return parseBody<StoredToken>(cur.value, 'API token').hash === token.hash;
      }
    }
  }

  async deleteToken(name: string, audit: AuditEntry): Promise<StoredToken | null> {
    this.calls.assertOpen();
    assertName(name);
    const b = this.calls.budget();
    const key = TOKENS + name;
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.calls.read(b, 'deleteToken', key);
      if (cur.value === null) return null;
      const token = parseBody<StoredToken>(cur.value, 'API token');
      try {
        const res = await this.calls.txn(b, 'deleteToken', [this.calls.cmpMod(key, cur.mod)], [this.calls.opDelete(key), ...auditOps(this.calls, audit)], [], false);
        if (res.succeeded) return token;
      } catch (err) {
        if (!this.calls.mayRetryWrite(err, b)) throw err;
        // Lost reply: the next read tells (gone means ours, as far as anyone can tell).
        const again = await this.calls.read(b, 'deleteToken', key);
        if (again.value === null) return token;
        continue;
      }
      await conflictPause(attempt);
    }
    throw new Error(`deleteToken("${name}"): still conflicting with concurrent writers after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    this.calls.assertOpen();
    // Same key, same bytes on a resend: safe to retry like a read.
    await this.calls.txn(this.calls.budget(), 'appendAudit', [], auditOps(this.calls, entry), [], true);
  }

  async listAudit(query: AuditQuery = {}): Promise<Page<AuditEntry>> {
    this.calls.assertOpen();
    if (query.job !== undefined) assertName(query.job);
    const rel = query.job === undefined ? AUDIT_ALL : `${AUDIT_JOB}${query.job}/`;
    return this.newestFirst<AuditEntry>('listAudit', rel, query, 'audit entry');
  }

  /** A page of the records under a prefix whose keys sort by time, newest first, with the total. */
  private async newestFirst<T>(what: string, relPrefix: string, page: { start?: number; end?: number }, label: string): Promise<Page<T>> {
    const b = this.calls.budget();
    const { key, range_end } = this.calls.prefixRange(relPrefix);
    const counted = await this.calls.range(b, what, { key, range_end, count_only: true });
    const total = Number(counted.count);
    const start = Math.max(0, page.start ?? 0);
    const end = Math.min(total, page.end ?? total);
    if (end <= start) return { items: [], total };
    // etcd has no offset: read the newest `end` keys (at the counted revision) and drop the first `start`.
    const res = await this.calls.range(b, what, {
      key,
      range_end,
      limit: end,
      revision: counted.header.revision,
      sort_order: SortOrder.Descend,
      sort_target: SortTarget.Key,
    });
    return { items: res.kvs.slice(start).map((kv) => parseBody<T>(kv.value, label)), total };
  }
}
