/**
 * Executions and their indexes (running/, groups/), written in the same multi
 * as the record. The running and group sets of a job are guarded by the data
 * version of their parent node, bumped by every write that changes them, so
 * "no running execution" (forbid) and "the group is as read" are multi checks.
 */
import type { Execution, Job } from '../../job/types.js';
import { ExecutionClosedError, type CompleteOptions, type DispatchOptions, type ExecutionQuery, type JobUpdater, type Page } from '../../store/types.js';
import { assertId, assertName, auditIntents, changeIntent, childrenOf, conflictError, mayRetryWrite, parseBody, readMany, readNode, type Ctx, type NodeValue } from './common.js';
import { splitPair, unseg } from './layout.js';
import type { Budget } from './session.js';
import { commitIntents, type Intent } from './txn.js';
import {
  checkExecutionQuery,
  compareBytes,
  conflictPause,
  groupEntryValue,
  isRunning,
  MAX_CAS_ATTEMPTS,
  pageExecutions,
  sortGroupMembers,
  sortRunning,
} from '../../store/kv-shared.js';

interface RunningEntry {
  node: string;
  group: number;
}

/**
 * The intents of storing executions: the record, its running entry (with its assignment
 * when `route`) or, once finished, its group entry and no running entry or assignment.
 * `known` pins the record of an execution to a version read (null: must be absent).
 */
export function executionIntents(ctx: Ctx, executions: Execution[], route: boolean, known?: Map<string, number | null>): Intent[] {
  const l = ctx.l;
  const byKey = new Map<string, Execution>();
  for (const e of executions) {
    assertName(e.job_name);
    assertId(e.id);
    byKey.set(l.execution(e.job_name, e.id), e);
  }
  const intents: Intent[] = [];
  for (const [path, e] of byKey) {
    const body = JSON.stringify(e);
    const pinned = known?.get(path);
    if (pinned === undefined) intents.push({ op: 'put', path, data: body });
    else if (pinned === null) intents.push({ op: 'create', path, data: body, tag: 'execution' });
    else intents.push({ op: 'set', path, data: body, version: pinned, tag: 'execution' });
    intents.push({ op: 'bump', path: l.runningOf(e.job_name) });
    if (isRunning(e)) {
      const entry: RunningEntry = { node: e.node_name, group: e.group };
      intents.push({ op: 'put', path: l.runningEntry(e.job_name, e.id), data: JSON.stringify(entry) });
      if (route) intents.push({ op: 'put', path: l.assignment(e.node_name, e.job_name, e.id), data: e.node_name });
    } else {
      // A finished execution leaves no queue entry behind, so an agent that restarts
      // (and closed it as lost) is never handed it again.
      intents.push(
        { op: 'delete', path: l.runningEntry(e.job_name, e.id) },
        { op: 'delete', path: l.assignment(e.node_name, e.job_name, e.id) },
        { op: 'put', path: l.groupEntry(e.job_name, e.group, e.id), data: groupEntryValue(e) },
        { op: 'bump', path: l.groupsOf(e.job_name) },
      );
    }
  }
  return intents;
}

export async function putExecution(ctx: Ctx, execution: Execution): Promise<void> {
  const b = ctx.budget();
  await ctx.ready(b);
  const intents = executionIntents(ctx, [execution], false);
  // A finished execution has a group entry: a start record arriving after the execution was
  // closed (agent lost) finds it and must not reopen the execution.
  if (isRunning(execution)) intents.push({ op: 'absent', path: ctx.l.groupEntry(execution.job_name, execution.group, execution.id), tag: 'closed' });
  // Re-sending the same puts is harmless (and the absence still holds), so this write may retry like a read.
  const res = await commitIntents(ctx.s, b, 'putExecution', intents, true);
  if (!res.ok) throw new ExecutionClosedError(execution.job_name, execution.id);
}

/** Running entries of a job and the guard version they were read at (-1: the guard node is absent). */
export async function runningSet(ctx: Ctx, b: Budget, what: string, job: string): Promise<{ ids: string[]; version: number }> {
  // Present before it is read, so its version is a guard a multi can check (and bump in the same multi).
  await ctx.s.ensure(b, ctx.l.runningOf(job));
  const r = await ctx.s.getChildren(b, what, ctx.l.runningOf(job));
  return r === null ? { ids: [], version: -1 } : { ids: r.children.map(unseg), version: r.stat.version };
}

/** The guard of "the job's running set is still as read". */
export function runningGuard(ctx: Ctx, job: string, version: number, tag: string): Intent {
  return version < 0 ? { op: 'absent', path: ctx.l.runningOf(job), tag } : { op: 'bump', path: ctx.l.runningOf(job), version, tag };
}

export async function dispatchExecutions(ctx: Ctx, executions: Execution[], options: DispatchOptions = {}): Promise<boolean> {
  const first = executions[0];
  if (first === undefined) return true;
  const b = ctx.budget();
  await ctx.ready(b);
  const base = [...executionIntents(ctx, executions, true), ...(options.audit ? auditIntents(ctx.l, options.audit) : [])];
  if (!options.exclusive) {
    // Re-sending the same puts is harmless when nothing is required.
    await commitIntents(ctx.s, b, 'dispatchExecutions', base, true);
    return true;
  }
  let unsure = false;
  for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
    if (unsure && (await executionStored(ctx, b, first))) return true;
    unsure = false;
    const running = await runningSet(ctx, b, 'dispatchExecutions', first.job_name);
    if (running.ids.length > 0) return false;
    try {
      const res = await commitIntents(ctx.s, b, 'dispatchExecutions', [runningGuard(ctx, first.job_name, running.version, 'running'), ...base], false);
      if (res.ok) return true;
    } catch (err) {
      if (!mayRetryWrite(ctx, err, b)) throw err;
      unsure = true;
      continue;
    }
    await conflictPause(attempt);
  }
  throw conflictError(`dispatchExecutions("${first.job_name}")`, ctx.l.runningOf(first.job_name));
}

/** Whether this very execution record is stored (a write whose reply was lost landed). */
export async function executionStored(ctx: Ctx, b: Budget, execution: Execution | undefined): Promise<boolean> {
  if (execution === undefined) return true;
  const cur = await readNode(ctx, b, 'checking a write', ctx.l.execution(execution.job_name, execution.id));
  return cur?.value === JSON.stringify(execution);
}

/** The members of one group as stored now, with the guard versions of the running and group sets. */
async function groupMembers(ctx: Ctx, b: Budget, job: string, group: number): Promise<{ members: Execution[]; running: number; groups: number }> {
  const l = ctx.l;
  await Promise.all([ctx.s.ensure(b, l.runningOf(job)), ctx.s.ensure(b, l.groupsOf(job))]);
  const [running, finished] = await Promise.all([ctx.s.getChildren(b, 'completeExecution', l.runningOf(job)), ctx.s.getChildren(b, 'completeExecution', l.groupsOf(job))]);
  const ids = new Set<string>();
  const prefix = `${String(group)}@`;
  for (const child of finished?.children ?? []) if (child.startsWith(prefix)) ids.add(unseg(child.slice(prefix.length)));
  const runningIds = (running?.children ?? []).map(unseg);
  const entries = await readMany(ctx, b, 'completeExecution', runningIds.map((id) => l.runningEntry(job, id)));
  runningIds.forEach((id, i) => {
    const v = entries[i];
    if (!v) return;
    const entry = parseBody<Partial<RunningEntry>>(v.value, `running entry "${job}/${id}"`);
    if (entry.group === group) ids.add(id);
  });
  const records = await readMany(ctx, b, 'completeExecution', [...ids].map((id) => l.execution(job, id)));
  const members = records.flatMap((r) => (r ? [parseBody<Execution>(r.value, `execution of "${job}"`)] : [])).filter((e) => e.group === group);
  return { members, running: running?.stat.version ?? -1, groups: finished?.stat.version ?? -1 };
}

export async function completeExecution(ctx: Ctx, execution: Execution, fn: JobUpdater, options: CompleteOptions = {}): Promise<Job | null> {
  const name = execution.job_name;
  assertName(name);
  assertId(execution.id);
  const l = ctx.l;
  const b = ctx.budget();
  await ctx.ready(b);
  const jobPath = l.job(name);
  const execPath = l.execution(name, execution.id);
  const execBody = JSON.stringify(execution);
  for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
    const [cur, stored] = await Promise.all([readNode(ctx, b, 'completeExecution', jobPath), readNode(ctx, b, 'completeExecution', execPath)]);
    const current = cur === null ? null : parseBody<Job>(cur.value, `job "${name}"`);
    if (stored !== null && !isRunning(parseBody<Execution>(stored.value, `execution "${name}/${execution.id}"`))) {
      // Our own write whose reply was lost (or a retried call): done already, count nothing.
      if (stored.value === execBody) return current;
      throw new ExecutionClosedError(name, execution.id);
    }
    const next = fn(current);
    const known = new Map<string, number | null>([[execPath, stored?.version ?? null]]);
    const intents = executionIntents(ctx, options.next ? [execution, options.next] : [execution], false, known);
    let result: Job | null = current;
    if (next === null) result = null;
    else if (next !== undefined) {
      if (next.name !== name) throw new Error(`completeExecution("${name}"): updater returned a job named "${next.name}"`);
      result = JSON.parse(JSON.stringify(next)) as Job;
    }
    if (options.group && result !== null) {
      const g = await groupMembers(ctx, b, name, execution.group);
      const after = [...g.members.filter((m) => m.id !== execution.id && m.id !== options.next?.id), execution];
      if (options.next) after.push(options.next);
      const decided = options.group(result, after);
      if (decided !== undefined) {
        if (decided.job.name !== name) throw new Error(`completeExecution("${name}"): group outcome names job "${decided.job.name}"`);
        result = JSON.parse(JSON.stringify(decided.job)) as Job;
        if (decided.followUp !== undefined) {
          intents.push({ op: 'put', path: l.followup(name, execution.group), data: JSON.stringify({ node: execution.node_name, children: decided.followUp }) });
        }
      }
      // The outcome holds only if the group didn't change since it was read: no member
      // finished, started or retried meanwhile (each such write bumps one of these guards).
      intents.push(
        runningGuard(ctx, name, g.running, 'group'),
        g.groups < 0 ? { op: 'absent', path: l.groupsOf(name), tag: 'group' } : { op: 'bump', path: l.groupsOf(name), version: g.groups, tag: 'group' },
      );
    }
    // The job requirement holds even when the job is untouched, so the returned job is the one
    // the execution was stored against.
    if (result === null) {
      if (cur !== null) intents.push({ op: 'remove', path: jobPath, version: cur.version, tag: 'job' }, changeIntent(l, name, null));
    } else {
      const body = JSON.stringify(result);
      if (body === cur?.value) intents.push({ op: 'check', path: jobPath, version: cur.version, tag: 'job' });
      else {
        intents.push(cur === null ? { op: 'create', path: jobPath, data: body, tag: 'job' } : { op: 'set', path: jobPath, data: body, version: cur.version, tag: 'job' });
        intents.push(changeIntent(l, name, body));
      }
    }
    try {
      const res = await commitIntents(ctx.s, b, 'completeExecution', intents, false);
      if (res.ok) return result;
    } catch (err) {
      // Whether it landed is read back on the next round: finding our result means job and execution both did.
      if (!mayRetryWrite(ctx, err, b)) throw err;
      continue;
    }
    await conflictPause(attempt);
  }
  throw conflictError(`completeExecution("${name}")`, execPath);
}

export async function getExecution(ctx: Ctx, jobName: string, id: string): Promise<Execution | null> {
  assertName(jobName);
  assertId(id);
  const cur = await readNode(ctx, ctx.budget(), 'getExecution', ctx.l.execution(jobName, id));
  return cur === null ? null : parseBody<Execution>(cur.value, `execution "${jobName}/${id}"`);
}

async function readExecutions(ctx: Ctx, b: Budget, what: string, job: string, ids: string[]): Promise<Execution[]> {
  const values: (NodeValue | null)[] = await readMany(ctx, b, what, ids.map((id) => ctx.l.execution(job, id)));
  return values.flatMap((v) => (v === null ? [] : [parseBody<Execution>(v.value, `execution of "${job}"`)]));
}

export async function listExecutions(ctx: Ctx, jobName: string, query: ExecutionQuery = {}): Promise<Page<Execution>> {
  assertName(jobName);
  // Refused before any read, as the embedded store's SQL refuses it.
  checkExecutionQuery(query);
  const b = ctx.budget();
  const ids = (await childrenOf(ctx, b, 'listExecutions', ctx.l.executionsOf(jobName))).map(unseg);
  return pageExecutions(await readExecutions(ctx, b, 'listExecutions', jobName, ids), query);
}

export async function listGroup(ctx: Ctx, jobName: string, group: number): Promise<Execution[]> {
  assertName(jobName);
  return sortGroupMembers((await groupMembers(ctx, ctx.budget(), jobName, group)).members);
}

export async function listRunning(ctx: Ctx, jobName?: string): Promise<Execution[]> {
  if (jobName !== undefined) assertName(jobName);
  const b = ctx.budget();
  const jobs = jobName !== undefined ? [jobName] : (await childrenOf(ctx, b, 'listRunning', ctx.l.running)).map(unseg);
  const found: Execution[] = [];
  await Promise.all(
    jobs.map(async (job) => {
      const ids = (await childrenOf(ctx, b, 'listRunning', ctx.l.runningOf(job))).map(unseg);
      // Ones deleted since the index was read are skipped; ones finished meanwhile are dropped here.
      found.push(...(await readExecutions(ctx, b, 'listRunning', job, ids)).filter(isRunning));
    }),
  );
  return sortRunning(found);
}

export async function deleteExecutions(ctx: Ctx, jobName: string): Promise<number> {
  assertName(jobName);
  const b = ctx.budget();
  const l = ctx.l;
  const [executions, running, groups] = await Promise.all([
    childrenOf(ctx, b, 'deleteExecutions', l.executionsOf(jobName)),
    childrenOf(ctx, b, 'deleteExecutions', l.runningOf(jobName)),
    childrenOf(ctx, b, 'deleteExecutions', l.groupsOf(jobName)),
  ]);
  const intents: Intent[] = [
    ...executions.map((c): Intent => ({ op: 'delete', path: `${l.executionsOf(jobName)}/${c}` })),
    ...running.map((c): Intent => ({ op: 'delete', path: `${l.runningOf(jobName)}/${c}` })),
    ...groups.map((c): Intent => ({ op: 'delete', path: `${l.groupsOf(jobName)}/${c}` })),
  ];
  if (intents.length === 0) return 0;
  intents.push({ op: 'bump', path: l.runningOf(jobName) }, { op: 'bump', path: l.groupsOf(jobName) });
  for (let i = 0; i < intents.length; i += 1000) await commitIntents(ctx.s, b, 'deleteExecutions', intents.slice(i, i + 1000), true);
  return executions.length;
}

export async function pruneExecutions(ctx: Ctx, jobName: string, keep: number): Promise<number> {
  assertName(jobName);
  const n = Number.isFinite(keep) ? Math.max(0, Math.trunc(keep)) : 0;
  const b = ctx.budget();
  const l = ctx.l;
  // Runs after every finished execution: count first, so the common case (history not full) reads nothing more.
  const counted = await ctx.s.exists(b, 'pruneExecutions', l.executionsOf(jobName));
  if ((counted?.numChildren ?? 0) <= n) return 0;
  // The group index carries start times: victims are chosen without reading any output.
  const names = await childrenOf(ctx, b, 'pruneExecutions', l.groupsOf(jobName));
  const values = await readMany(ctx, b, 'pruneExecutions', names.map((c) => `${l.groupsOf(jobName)}/${c}`));
  const entries = names.flatMap((child, i) => {
    const v = values[i];
    const pair = splitPair(child);
    if (!v || pair === null) return [];
    const s = parseBody<{ s?: number }>(v.value, `group entry "${child}"`).s ?? 0;
    return [{ id: pair[1], s, path: `${l.groupsOf(jobName)}/${child}`, version: v.version }];
  });
  entries.sort((a, c) => c.s - a.s || compareBytes(c.id, a.id));
  // Only finished executions are indexed there: running ones are never pruned (their agent will
  // still write the result) and don't count.
  const victims = entries.slice(n);
  // Conditional on the entry being unchanged since it was read (it is rewritten with each result)
  // and on the execution not running again.
  const intentsOf = (v: (typeof victims)[number]): Intent[] => [
    { op: 'remove', path: v.path, version: v.version, tag: 'entry' },
    { op: 'absent', path: l.runningEntry(jobName, v.id), tag: 'running' },
    { op: 'delete', path: l.execution(jobName, v.id) },
    { op: 'bump', path: l.groupsOf(jobName) },
  ];
  let deleted = 0;
  for (let i = 0; i < victims.length; i += 200) {
    const chunk = victims.slice(i, i + 200);
    const res = await commitIntents(ctx.s, b, 'pruneExecutions', chunk.flatMap(intentsOf), true);
    if (res.ok) {
      deleted += chunk.length;
      continue;
    }
    for (const v of chunk) if ((await commitIntents(ctx.s, b, 'pruneExecutions', intentsOf(v), true)).ok) deleted += 1;
  }
  return deleted;
}
