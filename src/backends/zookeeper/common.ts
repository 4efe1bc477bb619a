/** What the store's parts share: the session, the layout, and small helpers. */
import type { Stat } from 'node-zookeeper-client';
import type { AuditEntry } from '../../store/types.js';
import { MAX_CAS_ATTEMPTS, type StoreReport } from '../../store/kv-shared.js';
import { seg, type Layout } from './layout.js';
import { ZookeeperUnavailableError, type Budget, type ZkSession } from './session.js';
import type { Intent } from './txn.js';

/** The leadership fence: the leader's election node, which must still exist for a tick to commit. */
export type ZkFence = { path: string } | 'none' | null;

export interface Ctx {
  readonly s: ZkSession;
  readonly l: Layout;
  /** Where trouble with no caller to return to goes (the log; listener errors to their hook). */
  readonly report: StoreReport;
  budget(): Budget;
  /** The base nodes exist (created once; cheap afterwards). */
  ready(b: Budget): Promise<void>;
  fence(): ZkFence;
  isClosed(): boolean;
}

/** How many reads are in flight at once when many nodes are read. */
const READ_CONCURRENCY = 64;

export interface NodeValue {
  value: string;
  version: number;
  stat: Stat;
}

export async function readNode(ctx: Ctx, b: Budget, what: string, path: string): Promise<NodeValue | null> {
  const r = await ctx.s.getData(b, what, path);
  return r === null ? null : { value: r.data.toString(), version: r.stat.version, stat: r.stat };
}

/** Children of a node (empty when the node is absent). */
export async function childrenOf(ctx: Ctx, b: Budget, what: string, path: string): Promise<string[]> {
  return (await ctx.s.getChildren(b, what, path))?.children ?? [];
}

/** Reads many nodes, a bounded number at a time; absent ones come back null, in order. */
export async function readMany(ctx: Ctx, b: Budget, what: string, paths: string[]): Promise<(NodeValue | null)[]> {
  const out: (NodeValue | null)[] = new Array<NodeValue | null>(paths.length).fill(null);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const i = next++;
      out[i] = await readNode(ctx, b, what, paths[i] as string);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, paths.length) }, worker));
  return out;
}

export function parseBody<T>(body: string, what: string): T {
  try {
    return JSON.parse(body) as T;
  } catch (err) {
    throw new Error(`zookeeper store: corrupt ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Job names are kept to what the other backends accept (a '/' would be ambiguous in their keys). */
export function assertName(name: string, what = 'job name'): void {
  if (typeof name !== 'string' || name === '' || name.includes('/')) {
    throw new Error(`zookeeper store: invalid ${what} "${String(name)}"`);
  }
}

export function assertId(id: string): void {
  if (typeof id !== 'string' || id === '') throw new Error(`zookeeper store: invalid execution id "${String(id)}"`);
}

/** A write whose reply was lost may be checked and retried while the budget lasts. */
export function mayRetryWrite(ctx: Ctx, err: unknown, b: Budget): boolean {
  return err instanceof ZookeeperUnavailableError && !ctx.isClosed() && Date.now() < b.until;
}

export function auditIntents(l: Layout, entry: AuditEntry): Intent[] {
  const body = JSON.stringify(entry);
  const out: Intent[] = [{ op: 'put', path: `${l.auditAll}/${seg(entry.id)}`, data: body }];
  if (entry.job !== null) out.push({ op: 'put', path: `${l.auditJobOf(entry.job)}/${seg(entry.id)}`, data: body });
  return out;
}

export function conflictError(what: string, path: string): Error {
  return new Error(`zookeeper ${what} (${path}): still conflicting with concurrent writers after ${MAX_CAS_ATTEMPTS} attempts`);
}

/** The change-log entry of a job write (job null: deleted), appended in the write's own multi. */
export function changeIntent(l: Layout, name: string, body: string | null): Intent {
  return { op: 'append', path: `${l.changes}/c_`, data: `{"name":${JSON.stringify(name)},"job":${body ?? 'null'}}` };
}
