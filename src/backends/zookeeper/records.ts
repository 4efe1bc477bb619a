/** Settings, skip records, API tokens, the audit log and the dashboard's activity. */
import type { Execution, Job } from '../../job/types.js';
import { SKIPS_KEPT, type Activity, type ActivityQuery, type AuditEntry, type AuditQuery, type Page, type SkipRecord, type StoredToken } from '../../store/types.js';
import { countSkips, uniqueSkips } from '../../store/skips.js';
import { ActivityCounter, skipIdMs } from '../../store/activity.js';
import { assertName, auditIntents, changeIntent, childrenOf, conflictError, mayRetryWrite, parseBody, readMany, readNode, type Ctx } from './common.js';
import { splitPair, unseg } from './layout.js';
import type { Budget } from './session.js';
import { commitIntents, type Intent } from './txn.js';
import { conflictPause, groupEntryStartedMs, MAX_CAS_ATTEMPTS, sortBytewise } from '../../store/kv-shared.js';

export async function getSetting(ctx: Ctx, key: string): Promise<string | null> {
  return (await readNode(ctx, ctx.budget(), 'getSetting', ctx.l.setting(key)))?.value ?? null;
}

export async function setSetting(ctx: Ctx, key: string, value: string | null, audit?: AuditEntry): Promise<void> {
  const b = ctx.budget();
  await ctx.ready(b);
  const path = ctx.l.setting(key);
  const intents: Intent[] = [value === null ? { op: 'delete', path } : { op: 'put', path, data: value }, ...(audit ? auditIntents(ctx.l, audit) : [])];
  // Idempotent even with the audit entry: a resent put of the same entry id writes the same bytes.
  await commitIntents(ctx.s, b, 'setSetting', intents, true);
}

export async function recordSkips(ctx: Ctx, jobName: string, skips: SkipRecord[]): Promise<Job | null> {
  assertName(jobName);
  const b = ctx.budget();
  await ctx.ready(b);
  const path = ctx.l.job(jobName);
  const unique = uniqueSkips(skips);
  // Ids found already stored (a retried write, a new leader recomputing a gap that has grown since):
  // neither written nor counted again, record by record. A batch may hold known and new records in
  // any order, so no single record can stand for the whole batch.
  const known = new Set<string>();
  for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
    const cur = await readNode(ctx, b, 'recordSkips', path);
    if (cur === null) return null;
    const current = parseBody<Job>(cur.value, `job "${jobName}"`);
    const fresh = unique.filter((s) => !known.has(s.id));
    if (fresh.length === 0) return current;
    const body = JSON.stringify(countSkips(current, fresh));
    const intents: Intent[] = [{ op: 'set', path, data: body, version: cur.version, tag: 'job' }, changeIntent(ctx.l, jobName, body)];
    // Create-only: a record stored meanwhile fails the multi, writing nothing.
    for (const s of fresh) intents.push({ op: 'create', path: ctx.l.skip(jobName, s.id), data: JSON.stringify(s), tag: 'record' });
    try {
      const res = await commitIntents(ctx.s, b, 'recordSkips', intents, false);
      if (res.ok) {
        await pruneSkips(ctx, b, jobName);
        return JSON.parse(body) as Job;
      }
      if (res.tag === 'record') {
        // Some are stored already: learn which, and go again at once with the others.
        const stored = await readMany(ctx, b, 'recordSkips', fresh.map((s) => ctx.l.skip(jobName, s.id)));
        const before = known.size;
        fresh.forEach((s, i) => {
          if (stored[i] !== null) known.add(s.id);
        });
        if (known.size > before) continue;
      }
    } catch (err) {
      if (!mayRetryWrite(ctx, err, b)) throw err;
      // A lost reply: the next round finds our records stored and returns the job as it counted them.
      continue;
    }
    await conflictPause(attempt);
  }
  throw conflictError(`recordSkips("${jobName}")`, path);
}

/** Keeps the newest SKIPS_KEPT records; trims in batches so most writes only count. */
async function pruneSkips(ctx: Ctx, b: Budget, jobName: string): Promise<void> {
  const stat = await ctx.s.exists(b, 'recordSkips', ctx.l.skipsOf(jobName));
  const excess = (stat?.numChildren ?? 0) - SKIPS_KEPT;
  if (excess < 100) return;
  const names = sortBytewise(await childrenOf(ctx, b, 'recordSkips', ctx.l.skipsOf(jobName)), unseg);
  const victims = names.slice(0, excess).map((n): Intent => ({ op: 'delete', path: `${ctx.l.skipsOf(jobName)}/${n}` }));
  for (let i = 0; i < victims.length; i += 1000) await commitIntents(ctx.s, b, 'recordSkips', victims.slice(i, i + 1000), true);
}

export async function listSkips(ctx: Ctx, jobName: string, page: { start?: number; end?: number } = {}): Promise<Page<SkipRecord>> {
  assertName(jobName);
  return newestFirst<SkipRecord>(ctx, 'listSkips', ctx.l.skipsOf(jobName), page, 'skip record');
}

/** A page of the records under a node whose child names sort by time, newest first, with the total. */
async function newestFirst<T>(ctx: Ctx, what: string, dir: string, page: { start?: number; end?: number }, label: string): Promise<Page<T>> {
  const b = ctx.budget();
  const names = sortBytewise(await childrenOf(ctx, b, what, dir), unseg, -1);
  const total = names.length;
  const start = Math.max(0, page.start ?? 0);
  const end = Math.min(total, page.end ?? total);
  if (end <= start) return { items: [], total };
  const values = await readMany(ctx, b, what, names.slice(start, end).map((n) => `${dir}/${n}`));
  return { items: values.flatMap((v) => (v === null ? [] : [parseBody<T>(v.value, label)])), total };
}

export async function listTokens(ctx: Ctx): Promise<StoredToken[]> {
  const b = ctx.budget();
  const names = sortBytewise(await childrenOf(ctx, b, 'listTokens', ctx.l.tokens), unseg);
  const values = await readMany(ctx, b, 'listTokens', names.map((n) => `${ctx.l.tokens}/${n}`));
  return values.flatMap((v) => (v === null ? [] : [parseBody<StoredToken>(v.value, 'API token')]));
}

export async function createToken(ctx: Ctx, token: StoredToken, audit: AuditEntry): Promise<boolean> {
  assertName(token.name, 'token name');
  const b = ctx.budget();
  await ctx.ready(b);
  const path = ctx.l.token(token.name);
  const intents: Intent[] = [{ op: 'create', path, data: JSON.stringify(token), tag: 'token' }, ...auditIntents(ctx.l, audit)];
  for (;;) {
    try {
      return (await commitIntents(ctx.s, b, 'createToken', intents, false)).ok;
    } catch (err) {
      if (!mayRetryWrite(ctx, err, b)) throw err;
      // The reply was lost: if the name now holds our hash, the write was ours.
      const cur = await readNode(ctx, b, 'createToken', path);
      if (cur !== null) return parseBody<StoredToken>(cur.value, 'API token').hash === token.hash;
    }
  }
}

export async function deleteToken(ctx: Ctx, name: string, audit: AuditEntry): Promise<StoredToken | null> {
  assertName(name, 'token name');
  const b = ctx.budget();
  const path = ctx.l.token(name);
  for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
    const cur = await readNode(ctx, b, 'deleteToken', path);
    if (cur === null) return null;
    const token = parseBody<StoredToken>(cur.value, 'API token');
    try {
      const res = await commitIntents(ctx.s, b, 'deleteToken', [{ op: 'remove', path, version: cur.version, tag: 'token' }, ...auditIntents(ctx.l, audit)], false);
      if (res.ok) return token;
    } catch (err) {
      if (!mayRetryWrite(ctx, err, b)) throw err;
      // Lost reply: the next read tells (gone means ours, as far as anyone can tell).
      if ((await readNode(ctx, b, 'deleteToken', path)) === null) return token;
      continue;
    }
    await conflictPause(attempt);
  }
  throw conflictError(`deleteToken("${name}")`, path);
}

export async function appendAudit(ctx: Ctx, entry: AuditEntry): Promise<void> {
  const b = ctx.budget();
  await ctx.ready(b);
  // Same nodes, same bytes on a resend: safe to retry like a read.
  await commitIntents(ctx.s, b, 'appendAudit', auditIntents(ctx.l, entry), true);
}

export async function listAudit(ctx: Ctx, query: AuditQuery = {}): Promise<Page<AuditEntry>> {
  if (query.job !== undefined) assertName(query.job);
  const dir = query.job === undefined ? ctx.l.auditAll : ctx.l.auditJobOf(query.job);
  return newestFirst<AuditEntry>(ctx, 'listAudit', dir, query, 'audit entry');
}

/**
 * Executions and skips per time bucket. ZooKeeper has no index by time, so this reads the
 * small indexes first (group entries carry start times; skip ids start with their tick) and
 * only then the records in the window. Cost grows with the records stored, not their outputs.
 */
export async function activity(ctx: Ctx, query: ActivityQuery): Promise<Activity> {
  const c = new ActivityCounter(query);
  const b = ctx.budget();
  const l = ctx.l;
  const jobs = (await childrenOf(ctx, b, 'activity', `${l.root}/groups`)).map(unseg).filter((j) => c.wants(j));
  const skipJobs = (await childrenOf(ctx, b, 'activity', `${l.root}/skips`)).map(unseg).filter((j) => c.wants(j));
  for (const job of jobs) {
    const names = await childrenOf(ctx, b, 'activity', l.groupsOf(job));
    const entries = await readMany(ctx, b, 'activity', names.map((n) => `${l.groupsOf(job)}/${n}`));
    const inWindow: string[] = [];
    names.forEach((n, i) => {
      const v = entries[i];
      const pair = splitPair(n);
      if (v && pair !== null && c.covers(groupEntryStartedMs(v.value))) inWindow.push(l.execution(job, pair[1]));
    });
    for (const v of await readMany(ctx, b, 'activity', inWindow)) {
      if (v !== null) c.countExecution(parseBody<Execution>(v.value, `execution of "${job}"`));
    }
  }
  for (const job of skipJobs) {
    const names = await childrenOf(ctx, b, 'activity', l.skipsOf(job));
    const inWindow = names.filter((n) => c.covers(skipIdMs(unseg(n))));
    for (const v of await readMany(ctx, b, 'activity', inWindow.map((n) => `${l.skipsOf(job)}/${n}`))) {
      if (v !== null) c.countSkip(parseBody<SkipRecord>(v.value, 'skip record'));
    }
  }
  return c.result();
}
