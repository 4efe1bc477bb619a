/**
 * Ticks, the assignment queues and follow-ups.
 *
 * commitTick is the scheduler's exactly-once fence: one multi writes the tick
 * (version-checked, so two commits of one tick can't both land), the executions
 * and their assignments, and checks that the leader's election node still
 * exists. That node is ephemeral: once the leader's session ends (expired,
 * closed) it is gone and nothing this agent sends can commit a tick.
 *
 * An assignment (assign/<node>/<job>@<id>) is claimed by deleting it at the
 * version read: of two consumers, exactly one delete succeeds, and only that
 * one delivers the execution.
 */
import type { Execution } from '../../job/types.js';
import type { DispatchOptions, FollowUp } from '../../store/types.js';
import { conflictPause, HandedOver, MAX_CAS_ATTEMPTS, messageOf, parseTick } from '../../store/kv-shared.js';
import { pause } from '../../util/retry.js';
import { assertName, childrenOf, conflictError, mayRetryWrite, parseBody, readMany, readNode, type Ctx, type ZkFence } from './common.js';
import { executionIntents, executionStored, runningGuard, runningSet } from './executions.js';
import { splitPair, unseg } from './layout.js';
import { CODES, ZookeeperUnavailableError } from './session.js';
import { commitIntents, type Intent } from './txn.js';
import { rerunner, type Subscriptions } from './watches.js';

export async function getLastTick(ctx: Ctx, jobName: string): Promise<string | null> {
  assertName(jobName);
  return (await readNode(ctx, ctx.budget(), 'getLastTick', ctx.l.tick(jobName)))?.value ?? null;
}

export async function listLastTicks(ctx: Ctx): Promise<Map<string, string>> {
  const b = ctx.budget();
  const names = await childrenOf(ctx, b, 'listLastTicks', ctx.l.ticks);
  const values = await readMany(ctx, b, 'listLastTicks', names.map((n) => `${ctx.l.ticks}/${n}`));
  const out = new Map<string, string>();
  names.forEach((n, i) => {
    const v = values[i];
    if (v) out.set(unseg(n), v.value);
  });
  return out;
}

export async function commitTick(ctx: Ctx, jobName: string, tick: string, executions: Execution[], options: DispatchOptions = {}): Promise<boolean> {
  assertName(jobName);
  const tickMs = parseTick(tick);
  const fenceOf = (): ZkFence => (options.unfenced ? null : ctx.fence());
  if (fenceOf() === 'none') return false;
  const path = ctx.l.tick(jobName);
  const b = ctx.budget();
  await ctx.ready(b);
  const routed = executionIntents(ctx, executions, true);
  let unsure = false;
  for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
    // Read afresh each round: leadership can change while this commit is retrying.
    const fence = fenceOf();
    if (fence === 'none') return false;
    const cur = await readNode(ctx, b, 'commitTick', path);
    if (unsure) {
      unsure = false;
      // A commit whose reply was lost: our tick plus our first execution mean it landed.
      if (cur?.value === tick && (await executionStored(ctx, b, executions[0]))) return true;
    }
    if (cur !== null) {
      const stored = Date.parse(cur.value);
      // A stored tick that no longer parses cannot prove it is newer; let the new one replace it.
      if (!Number.isNaN(stored) && stored >= tickMs) return false;
    }
    const intents: Intent[] = [cur === null ? { op: 'create', path, data: tick, tag: 'tick' } : { op: 'set', path, data: tick, version: cur.version, tag: 'tick' }];
    if (fence !== null) intents.push({ op: 'check', path: fence.path, version: -1, tag: 'fence' });
    if (options.exclusive) {
      const running = await runningSet(ctx, b, 'commitTick', jobName);
      if (running.ids.length > 0) return false;
      intents.push(runningGuard(ctx, jobName, running.version, 'running'));
    }
    intents.push(...routed);
    try {
      const res = await commitIntents(ctx.s, b, 'commitTick', intents, false);
      if (res.ok) return true;
      // Leadership moved (our election node is gone): this agent must not dispatch.
      if (res.tag === 'fence') return false;
    } catch (err) {
      if (!mayRetryWrite(ctx, err, b)) throw err;
      unsure = true;
      continue;
    }
    await conflictPause(attempt);
  }
  throw conflictError(`commitTick("${jobName}")`, path);
}

export function consumeAssignments(ctx: Ctx, subs: Subscriptions, node: string, handler: (execution: Execution) => void): () => void {
  const dir = ctx.l.assignOf(node);
  const inFlight = new Set<string>();
  const warn = (obj: object, msg: string): void => ctx.report.warn(obj, msg);

  const handed = new HandedOver();
  const deliverStored = async (job: string, id: string): Promise<void> => {
    const ref = `${job}/${id}`;
    if (handed.has(ref)) return;
    const cur = await readNode(ctx, ctx.budget(), 'consumeAssignments', ctx.l.execution(job, id));
    if (cur === null) {
      warn({ node, job, execution: id }, 'zookeeper store: assigned execution no longer exists (job deleted?); skipped');
      return;
    }
    const execution = parseBody<Execution>(cur.value, `execution "${job}/${id}"`);
    if (execution.finished_at !== null) return; // closed meanwhile (recovery, or the leader's lost-agent check)
    if (!handed.add(ref)) return;
    try {
      handler(execution);
    } catch (err) {
      ctx.report.listenerError(err);
    }
  };

  const sub = subs.add(() => arm());

  const claim = async (child: string): Promise<void> => {
    const pair = splitPair(child);
    if (sub.stopped || pair === null || inFlight.has(child)) return;
    const [job, id] = pair;
    const path = `${dir}/${child}`;
    inFlight.add(child);
    let unsure = false;
    let delay = 100;
    try {
      while (!sub.stopped) {
        const b = ctx.budget();
        try {
          const cur = await ctx.s.exists(b, 'consumeAssignments', path);
          if (unsure) {
            unsure = false;
            // One consumer per node: if the entry vanished after our claim's reply was lost, the claim was ours.
            if (cur === null) await deliverStored(job, id);
            if (cur === null) return;
          }
          if (cur === null) return; // claimed already
          let res;
          try {
            res = await ctx.s.multi(b, 'consumeAssignments', [{ type: 'remove', path, version: cur.version }], false);
          } catch (err) {
            if (err instanceof ZookeeperUnavailableError) unsure = true;
            throw err;
          }
          if (!res.ok && res.code === CODES.BAD_VERSION) continue; // re-assigned meanwhile: read it again
          if (!res.ok) return; // another consumer claimed it
          await deliverStored(job, id);
          return;
        } catch (err) {
          if (sub.stopped) return;
          if (!(err instanceof ZookeeperUnavailableError)) {
            warn({ node, path, err: messageOf(err) }, 'zookeeper store: cannot take an assigned execution');
            return;
          }
          if (!(await pause(delay, sub.abort.signal))) return;
          delay = Math.min(delay * 2, 2000);
        }
      }
    } finally {
      inFlight.delete(child);
    }
  };

  // One stable function: the client keeps one registration per function and path.
  const watcher = (): void => arm();
  const arm = rerunner(sub, ctx.report, `listing the assignments of ${node}`, async () => {
    const b = ctx.budget();
    await ctx.ready(b);
    await ctx.s.ensure(b, dir);
    const listed = await ctx.s.getChildren(b, 'consumeAssignments', dir, watcher);
    for (const child of listed?.children ?? []) ctx.report.background(claim(child), 'claiming an assignment');
  });

  arm();
  return () => subs.remove(sub);
}

export async function listFollowUps(ctx: Ctx, node?: string): Promise<FollowUp[]> {
  const b = ctx.budget();
  const names = await childrenOf(ctx, b, 'listFollowUps', ctx.l.followups);
  const values = await readMany(ctx, b, 'listFollowUps', names.map((n) => `${ctx.l.followups}/${n}`));
  const out: FollowUp[] = [];
  names.forEach((n, i) => {
    const v = values[i];
    const pair = splitPair(n);
    if (!v || pair === null) return;
    const body = parseBody<{ node: string; children: string[] }>(v.value, `follow-up "${n}"`);
    if (node !== undefined && body.node !== node) return;
    out.push({ job: pair[0], group: Number(pair[1]), node: body.node, children: body.children });
  });
  return out.sort((a, c) => (a.job < c.job ? -1 : a.job > c.job ? 1 : a.group - c.group));
}

export async function deleteFollowUp(ctx: Ctx, job: string, group: number): Promise<void> {
  assertName(job);
  await commitIntents(ctx.s, ctx.budget(), 'deleteFollowUp', [{ op: 'delete', path: ctx.l.followup(job, group) }], true);
}
