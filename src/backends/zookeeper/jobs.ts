/**
 * Jobs: one znode each (jobs/<name>), changed by version-checked multis so a
 * read-modify-write is atomic; a write whose reply was lost is recognised on
 * re-read by its bytes, so an updater is not applied twice.
 */
import type { Job } from '../../job/types.js';
import type { AuditBuilder, JobBatch, JobUpdater, JobsUpdater } from '../../store/types.js';
import { assertName, auditIntents, changeIntent, childrenOf, conflictError, mayRetryWrite, parseBody, readMany, readNode, type Ctx } from './common.js';
import { seg, unseg } from './layout.js';
import type { Budget } from './session.js';
import { commitIntents, intentBytes, MAX_MULTI_BYTES, type Intent } from './txn.js';
import { auditByJob, conflictPause, MAX_CAS_ATTEMPTS, sortBytewise } from '../../store/kv-shared.js';

/** Ops per multi when a bulk write is split (ZooKeeper has no op limit, only the request size). */
const MAX_BATCH_OPS = 1000;

export async function getJob(ctx: Ctx, name: string): Promise<Job | null> {
  assertName(name);
  const cur = await readNode(ctx, ctx.budget(), 'getJob', ctx.l.job(name));
  return cur === null ? null : parseBody<Job>(cur.value, `job "${name}"`);
}

async function jobNames(ctx: Ctx, b: Budget, what: string): Promise<string[]> {
  return sortBytewise((await childrenOf(ctx, b, what, ctx.l.jobs)).map(unseg), (n) => n);
}

export async function listJobs(ctx: Ctx, page?: { offset: number; limit: number }): Promise<Job[]> {
  const b = ctx.budget();
  let names = await jobNames(ctx, b, 'listJobs');
  if (page) names = names.slice(Math.max(0, page.offset), Math.max(0, page.offset) + Math.max(0, page.limit));
  const values = await readMany(ctx, b, 'listJobs', names.map((n) => ctx.l.job(n)));
  // Deleted between the listing and the read: left out, as if listed a moment later.
  return values.flatMap((v, i) => (v === null ? [] : [parseBody<Job>(v.value, `job "${names[i]}"`)]));
}

export async function countJobs(ctx: Ctx): Promise<number> {
  const stat = await ctx.s.exists(ctx.budget(), 'countJobs', ctx.l.jobs);
  return stat?.numChildren ?? 0;
}

export async function updateJob(ctx: Ctx, name: string, fn: JobUpdater, audit?: AuditBuilder): Promise<Job | null> {
  assertName(name);
  const b = ctx.budget();
  const path = ctx.l.job(name);
  await ctx.ready(b);
  // After a write whose reply was lost: the body it wrote (null = delete), to recognise it on re-read.
  // Writes whose reply was lost: any may still land later (the client re-sends what it had queued
  // when it reconnects), so each is looked for on every re-read until this call ends.
  const unsure: { body: string | null; auditPath: string | null }[] = [];
  for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
    const cur = await readNode(ctx, b, 'updateJob', path);
    // One landed if the job holds what it wrote, or, when another write came after it (a run
    // finishing updates the counters every second), if its audit entry exists: applying the
    // updater again to the newer job would apply it twice.
    for (const u of unsure) {
      if ((cur?.value ?? null) === u.body || (u.auditPath !== null && (await ctx.s.exists(b, 'updateJob', u.auditPath)) !== null)) {
        return u.body === null ? null : (JSON.parse(u.body) as Job);
      }
    }
    const current = cur === null ? null : parseBody<Job>(cur.value, `job "${name}"`);
    const next = fn(current);
    if (next === undefined) return current;
    let body: string | null;
    const intents: Intent[] = [];
    if (next === null) {
      if (cur === null) return null;
      intents.push({ op: 'remove', path, version: cur.version, tag: 'job' });
      body = null;
    } else {
      if (next.name !== name) {
        // Storing under `name` a body that says otherwise would make the job unreachable by its own name.
        throw new Error(`updateJob("${name}"): updater returned a job named "${next.name}"`);
      }
      body = JSON.stringify(next);
      // Parsed back so callers see exactly what was stored and never share the updater's object.
      if (cur !== null && body === cur.value) return JSON.parse(body) as Job;
      intents.push(cur === null ? { op: 'create', path, data: body, tag: 'job' } : { op: 'set', path, data: body, version: cur.version, tag: 'job' });
    }
    const entry = audit?.(current, body === null ? null : (JSON.parse(body) as Job));
    if (entry) intents.push(...auditIntents(ctx.l, entry));
    intents.push(changeIntent(ctx.l, name, body));
    try {
      const res = await commitIntents(ctx.s, b, 'updateJob', intents, false);
      if (res.ok) return body === null ? null : (JSON.parse(body) as Job);
    } catch (err) {
      if (!mayRetryWrite(ctx, err, b)) throw err;
      unsure.push({ body, auditPath: entry ? `${ctx.l.auditAll}/${seg(entry.id)}` : null });
      continue;
    }
    await conflictPause(attempt);
  }
  throw conflictError(`updateJob("${name}")`, path);
}

export async function updateJobs(ctx: Ctx, names: string[], fn: JobsUpdater, audit?: AuditBuilder): Promise<Map<string, Job | null>> {
  const unique = [...new Set(names)];
  for (const name of unique) assertName(name);
  const b = ctx.budget();
  await ctx.ready(b);
  let unsure: Map<string, string | null> | null = null;
  for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
    const states = await readMany(ctx, b, 'updateJobs', unique.map((n) => ctx.l.job(n)));
    const current = new Map<string, Job | null>();
    unique.forEach((n, i) => {
      const v = states[i];
      current.set(n, v ? parseBody<Job>(v.value, `job "${n}"`) : null);
    });
    if (unsure !== null && [...unsure].every(([n, body]) => (states[unique.indexOf(n)]?.value ?? null) === body)) return current;
    unsure = null;
    const changes = fn(current);
    const written = new Map<string, string | null>();
    const intents: Intent[] = [];
    const result = new Map(current);
    for (const [name, next] of changes) {
      const i = unique.indexOf(name);
      if (i < 0) throw new Error(`updateJobs: updater changed "${name}", which it was not given`);
      const state = states[i] ?? null;
      if (next === null) {
        if (state === null) continue;
        intents.push({ op: 'remove', path: ctx.l.job(name), version: state.version, tag: 'job' });
        written.set(name, null);
        intents.push(changeIntent(ctx.l, name, null));
        result.set(name, null);
        continue;
      }
      if (next.name !== name) throw new Error(`updateJobs("${name}"): updater returned a job named "${next.name}"`);
      const body = JSON.stringify(next);
      result.set(name, JSON.parse(body) as Job);
      if (body === state?.value) continue;
      const path = ctx.l.job(name);
      intents.push(state === null ? { op: 'create', path, data: body, tag: 'job' } : { op: 'set', path, data: body, version: state.version, tag: 'job' });
      written.set(name, body);
      intents.push(changeIntent(ctx.l, name, body));
    }
    if (intents.length === 0) return result;
    // Jobs the updater left alone must still be as read (the callback decided from them).
    unique.forEach((n, i) => {
      if (written.has(n)) return;
      const state = states[i];
      intents.push(state ? { op: 'check', path: ctx.l.job(n), version: state.version, tag: 'job' } : { op: 'absent', path: ctx.l.job(n), tag: 'job' });
    });
    const primary = unique[0] as string;
    const entry = audit && written.has(primary) ? audit(current.get(primary) ?? null, result.get(primary) ?? null) : null;
    if (entry) intents.push(...auditIntents(ctx.l, entry));
    try {
      const res = await commitIntents(ctx.s, b, 'updateJobs', intents, false);
      if (res.ok) return result;
    } catch (err) {
      if (!mayRetryWrite(ctx, err, b)) throw err;
      unsure = written;
      continue;
    }
    await conflictPause(attempt);
  }
  throw conflictError(`updateJobs(${unique.join(', ')})`, ctx.l.jobs);
}

/**
 * Everything of a job but its definition: tick, skips, executions and their indexes.
 * `guarded`: also require the running and group sets unchanged since listed, so an
 * execution written meanwhile makes the caller retry instead of surviving the delete.
 */
async function purgeIntents(ctx: Ctx, b: Budget, name: string, guarded: boolean): Promise<Intent[]> {
  const l = ctx.l;
  const [skips, executions, running, groups] = await Promise.all([
    ctx.s.getChildren(b, 'deleteJob', l.skipsOf(name)),
    ctx.s.getChildren(b, 'deleteJob', l.executionsOf(name)),
    ctx.s.getChildren(b, 'deleteJob', l.runningOf(name)),
    ctx.s.getChildren(b, 'deleteJob', l.groupsOf(name)),
  ]);
  const intents: Intent[] = [{ op: 'delete', path: l.tick(name) }];
  for (const [parent, list] of [[l.skipsOf(name), skips], [l.executionsOf(name), executions], [l.runningOf(name), running], [l.groupsOf(name), groups]] as const) {
    for (const child of list?.children ?? []) intents.push({ op: 'delete', path: `${parent}/${child}` });
  }
  for (const [path, list] of [[l.runningOf(name), running], [l.groupsOf(name), groups]] as const) {
    if (!guarded) intents.push({ op: 'bump', path });
    else intents.push(list ? { op: 'bump', path, version: list.stat.version, tag: 'executions' } : { op: 'absent', path, tag: 'executions' });
  }
  return intents;
}

export async function deleteJob(ctx: Ctx, name: string, audit?: AuditBuilder): Promise<Job | null> {
  assertName(name);
  const b = ctx.budget();
  const path = ctx.l.job(name);
  await ctx.ready(b);
  let unsure: string | null = null;
  for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
    const cur = await readNode(ctx, b, 'deleteJob', path);
    // A delete whose reply was lost and whose job is now gone: ours, as far as anyone can tell.
    if (unsure !== null && cur === null) return parseBody<Job>(unsure, `job "${name}"`);
    unsure = null;
    const deleted = cur === null ? null : parseBody<Job>(cur.value, `job "${name}"`);
    const entry = deleted && audit ? audit(deleted, null) : null;
    const intents: Intent[] = [
      ...(entry ? auditIntents(ctx.l, entry) : []),
      cur === null ? { op: 'absent', path, tag: 'job' } : { op: 'remove', path, version: cur.version, tag: 'job' },
      ...(cur === null ? [] : [changeIntent(ctx.l, name, null)]),
      ...(await purgeIntents(ctx, b, name, true)),
    ];
    try {
      const res = await commitIntents(ctx.s, b, 'deleteJob', intents, false);
      if (res.ok) return deleted;
    } catch (err) {
      if (!mayRetryWrite(ctx, err, b)) throw err;
      unsure = cur?.value ?? null;
      continue;
    }
    await conflictPause(attempt);
  }
  throw conflictError(`deleteJob("${name}")`, path);
}

/**
 * Store.writeJobs: one multi when the batch fits ZooKeeper's request size (and MAX_BATCH_OPS);
 * otherwise several, in order (puts, then deletes), each job's write together with its audit
 * entries. Every intent is an unconditional put or delete, so a multi may be re-sent.
 */
export async function writeJobs(ctx: Ctx, batch: JobBatch): Promise<void> {
  const b0 = ctx.budget();
  await ctx.ready(b0);
  const { take, loose } = auditByJob(batch);
  const auditFor = (name: string): Intent[] => take(name).flatMap((e) => auditIntents(ctx.l, e));
  const groups: Intent[][] = [];
  for (const job of batch.put) {
    assertName(job.name);
    const body = JSON.stringify(job);
    groups.push([{ op: 'put', path: ctx.l.job(job.name), data: body }, changeIntent(ctx.l, job.name, body), ...auditFor(job.name)]);
  }
  for (const name of batch.delete) {
    assertName(name);
    groups.push([...auditFor(name), { op: 'delete', path: ctx.l.job(name) }, changeIntent(ctx.l, name, null), ...(await purgeIntents(ctx, ctx.budget(), name, false))]);
  }
  for (const entry of loose) groups.push(auditIntents(ctx.l, entry));
  let pending: Intent[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const sent = pending;
    pending = [];
    // A deadline per multi: a large batch is many of them.
    await commitIntents(ctx.s, ctx.budget(), 'writeJobs', sent, true);
  };
  for (const group of groups) {
    if (pending.length + group.length > MAX_BATCH_OPS || intentBytes(pending) + intentBytes(group) > MAX_MULTI_BYTES) await flush();
    pending.push(...group);
  }
  await flush();
}
