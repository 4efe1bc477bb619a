/**
 * Atomic writes as intents, turned into one ZooKeeper multi.
 *
 * ZooKeeper's multi has create (fails when present), setData/delete/check (fail
 * unless present, optionally at a version) and nothing else: no upsert, no
 * "delete if present", no "absent" compare. Intents add those by reading the
 * nodes' stats first and choosing the op; when the multi then fails on such an
 * op, someone raced us between the read and the write, and the whole thing is
 * resolved and sent again. Requirements (a version, an absence) failing is an
 * answer for the caller instead: nothing was written.
 */
import { CODES, CreateMode, type Budget, type Op, type ZkSession } from './session.js';
import { parentOf } from './layout.js';

export type Intent =
  /** Create or overwrite. */
  | { op: 'put'; path: string; data: string }
  /** Delete when present. */
  | { op: 'delete'; path: string }
  /** A new sequential node under `path` (whose name is the prefix): an entry of a log. */
  | { op: 'append'; path: string; data: string }
  /** Requirement: absent; created with data. */
  | { op: 'create'; path: string; data: string; tag: string }
  /** Requirement: present at version; overwritten. */
  | { op: 'set'; path: string; data: string; version: number; tag: string }
  /** Requirement: present at version (-1: any); deleted. */
  | { op: 'remove'; path: string; version: number; tag: string }
  /** Requirement: present at version (-1: any). */
  | { op: 'check'; path: string; version: number; tag: string }
  /** Requirement: absent (a create and a delete of the node in the same multi). */
  | { op: 'absent'; path: string; tag: string }
  /**
   * Bumps the data version of a guard node (creating it when missing). With `version`,
   * a requirement that the node is still at that version (nothing changed under it).
   */
  | { op: 'bump'; path: string; version?: number; tag?: string };

export type CommitResult = { ok: true } | { ok: false; tag: string };

/** Below ZooKeeper's default jute.maxbuffer (1 MiB - 1), which bounds a whole multi request. */
export const MAX_MULTI_BYTES = 1_000_000;
/** Races between our stat reads and the multi are retried this often before giving up. */
const MAX_RESOLVE = 20;
const EMPTY = Buffer.alloc(0);

function requirementFailed(intent: Intent, code: number): boolean {
  switch (intent.op) {
    case 'create':
    case 'absent':
      return code === CODES.NODE_EXISTS;
    case 'set':
    case 'remove':
    case 'check':
      return code === CODES.NO_NODE || code === CODES.BAD_VERSION;
    case 'bump':
      return intent.version !== undefined && (code === CODES.NO_NODE || code === CODES.BAD_VERSION);
    default:
      return false;
  }
}

function tagOf(intent: Intent): string {
  return 'tag' in intent && intent.tag !== undefined ? intent.tag : intent.op;
}

/** Last put/delete of a path wins; bumps of one path merge (a versioned one keeps its version). */
function normalize(intents: Intent[]): Intent[] {
  const out: Intent[] = [];
  const plain = new Map<string, number>();
  const bumps = new Map<string, number>();
  for (const intent of intents) {
    if (intent.op === 'put' || intent.op === 'delete') {
      const at = plain.get(intent.path);
      if (at !== undefined) out[at] = intent;
      else {
        plain.set(intent.path, out.length);
        out.push(intent);
      }
      continue;
    }
    if (intent.op === 'bump') {
      const at = bumps.get(intent.path);
      const prev = at === undefined ? undefined : out[at];
      if (prev?.op === 'bump') {
        if (prev.version === undefined && intent.version !== undefined) out[at as number] = intent;
      } else {
        bumps.set(intent.path, out.length);
        out.push(intent);
      }
      continue;
    }
    out.push(intent);
  }
  return out;
}

/** Bytes of a multi request, roughly: paths, data and per-op framing. */
export function intentBytes(intents: Intent[]): number {
  let n = 0;
  for (const i of intents) n += Buffer.byteLength(i.path) + ('data' in i ? Buffer.byteLength(i.data) : 0) + 32;
  return n;
}

export async function commitIntents(s: ZkSession, b: Budget, what: string, intents: Intent[], idempotent: boolean): Promise<CommitResult> {
  const list = normalize(intents);
  const bytes = intentBytes(list);
  if (bytes > MAX_MULTI_BYTES) {
    throw new Error(
      `zookeeper ${what}: one multi of ${list.length} operations and ${bytes} bytes is over ZooKeeper's request limit ` +
        `(jute.maxbuffer, 1 MiB by default); lower --output-limit or target fewer agents`,
    );
  }
  for (let attempt = 1; attempt <= MAX_RESOLVE; attempt++) {
    const needStat = list.filter((i) => i.op === 'put' || i.op === 'delete' || (i.op === 'bump' && i.version === undefined));
    const stats = new Map<string, boolean>();
    await Promise.all(needStat.map(async (i) => stats.set(i.path, (await s.exists(b, what, i.path)) !== null)));
    const creates = new Set<string>();
    for (const i of list) {
      if (i.op === 'create' || i.op === 'absent' || i.op === 'append' || ((i.op === 'put' || i.op === 'bump') && !stats.get(i.path))) creates.add(parentOf(i.path));
    }
    for (const p of creates) await s.ensure(b, p);

    const ops: Op[] = [];
    const owner: Intent[] = [];
    const add = (op: Op, intent: Intent): void => {
      ops.push(op);
      owner.push(intent);
    };
    for (const i of list) {
      switch (i.op) {
        case 'put':
          if (stats.get(i.path)) add({ type: 'set', path: i.path, data: Buffer.from(i.data), version: -1 }, i);
          else add({ type: 'create', path: i.path, data: Buffer.from(i.data) }, i);
          break;
        case 'delete':
          if (stats.get(i.path)) add({ type: 'remove', path: i.path, version: -1 }, i);
          break;
        case 'create':
          add({ type: 'create', path: i.path, data: Buffer.from(i.data), mode: CreateMode.PERSISTENT }, i);
          break;
        case 'append':
          add({ type: 'create', path: i.path, data: Buffer.from(i.data), mode: CreateMode.PERSISTENT_SEQUENTIAL }, i);
          break;
        case 'set':
          add({ type: 'set', path: i.path, data: Buffer.from(i.data), version: i.version }, i);
          break;
        case 'remove':
          add({ type: 'remove', path: i.path, version: i.version }, i);
          break;
        case 'check':
          add({ type: 'check', path: i.path, version: i.version }, i);
          break;
        case 'absent':
          add({ type: 'create', path: i.path, data: EMPTY }, i);
          add({ type: 'remove', path: i.path, version: 0 }, i);
          break;
        case 'bump':
          if (i.version !== undefined) add({ type: 'set', path: i.path, data: EMPTY, version: i.version }, i);
          else if (stats.get(i.path)) add({ type: 'set', path: i.path, data: EMPTY, version: -1 }, i);
          else add({ type: 'create', path: i.path, data: EMPTY }, i);
          break;
      }
    }
    if (ops.length === 0) return { ok: true };
    const res = await s.multi(b, what, ops, idempotent);
    if (res.ok) {
      const appended = list.filter((i) => i.op === 'append').length;
      // The store trims the change log now and then (see watches.ts).
      if (appended > 0) s.emit('appended', appended);
      return res;
    }
    const failed = owner[res.index];
    const failedOp = ops[res.index];
    if (failed === undefined || failedOp === undefined) throw new Error(`zookeeper ${what}: multi failed (code ${res.code}) at an unknown op`);
    if (failedOp.type === 'create' && res.code === CODES.NO_NODE) {
      // A parent we believed present is gone (the keyspace was removed): create it again.
      s.forgetEnsured(parentOf(failedOp.path));
      continue;
    }
    if (requirementFailed(failed, res.code)) return { ok: false, tag: tagOf(failed) };
    if (res.code !== CODES.NO_NODE && res.code !== CODES.NODE_EXISTS && res.code !== CODES.BAD_VERSION) {
      throw new Error(`zookeeper ${what}: multi refused at ${failedOp.type} ${failedOp.path} (ZooKeeper error ${res.code})`);
    }
    // Someone created or removed a node between our read and the multi: resolve again.
  }
  throw new Error(`zookeeper ${what}: nodes kept changing under the write for ${MAX_RESOLVE} attempts`);
}
