/**
 * The cluster backend: every agent talks to etcd directly.
 *
 * Layout inside `<keyspace>/`:
 *   jobs/<name>                   job JSON
 *   executions/<job>/<id>         execution JSON
 *   running/<job>/<id>            {node, group}; index of executions with finished_at null,
 *                                 always written in the same txn as the execution
 *   groups/<job>/<group>/<id>     {s: started ms}; index of finished executions by group, written
 *                                 with the result, so per-group bookkeeping (listGroup, prune)
 *                                 never reads other executions' outputs. Running ones are found
 *                                 through running/, which keeps a tick at 3 ops per execution.
 *   assign/<node>/<job>/<id>      work queue of an agent; claimed by deleting it
 *                                 (<node> URI-encoded, so a '/' in a node name stays one segment)
 *   followups/<job>/<group>       {node, children}: dependents still to run for a successful
 *                                 group, written in the txn that decided the group's outcome
 *   ticks/<job>                   last dispatched tick (RFC 3339)
 *   settings/<key>                small cluster-wide settings
 *
 * Reads and writes go through the raw KV client with keys prefixed here, so a
 * transaction can mix compares, puts, deletes and reads freely (etcd3's
 * builders are thenables and apply the namespace inconsistently inside txns).
 * Watches use the namespaced client, which strips the prefix from events.
 *
 * Failure model: each RPC has a deadline of callTimeoutMs. Reads are retried
 * across members within that budget; writes are not re-sent blind: a CAS
 * write whose reply was lost re-reads and recognises its own write, so an
 * updater is not applied twice. With etcd unreachable every method rejects
 * with "etcd unavailable: ..." in about callTimeoutMs: at once when members
 * refuse connections, after one deadline when one member hangs, and after
 * at most two deadlines when several hang (a call that hit one hung member
 * gets one more try on another, so one hung member of three costs latency,
 * not errors).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CompareResult,
  CompareTarget,
  Etcd3,
  Range,
  SortOrder,
  SortTarget,
  type ICompare,
  type IKeyValue,
  type IRangeRequest,
  type IRangeResponse,
  type IRequestOp,
  type IResponseHeader,
  type IWatchResponse,
  type ITxnResponse,
  type Namespace,
  type Watcher,
} from 'etcd3';
import type { Execution, Job } from '../../job/types.js';
import { ExecutionClosedError, SKIPS_KEPT, type AuditBuilder, type AuditEntry, type AuditQuery, type CompleteOptions, type DispatchOptions, type ExecutionQuery, type FollowUp, type JobBatch, type JobEvent, type JobUpdater, type JobsUpdater, type Page, type Activity, type ActivityQuery, type SkipRecord, type Store, type StoredToken } from '../../store/types.js';
import { countSkips } from '../../store/skips.js';
import { etcdActivity } from './etcd-activity.js';
import { HostBreakers, isTransient, oncePolicy, watchBackoff } from './fault.js';
import { BARE_CONNECT_FAILURE, explainConnectFailure } from './tls-diagnosis.js';

/** Leadership fence for commitTick: see setFence. */
export type TickFence = { key: string; createRevision: string } | 'none' | null;

/** Where the store reports trouble it cannot return to a caller (watch loss, failed claims). */
export interface StoreLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface EtcdStoreOptions {
  /** host:port of each member (an http:// or https:// prefix is kept when given). */
  endpoints: string[];
  /** Key prefix; the store uses `<keyspace>/`. */
  keyspace: string;
  /** Deadline of each RPC, and the time a failing call keeps retrying. Default 2000 ms. */
  callTimeoutMs?: number;
  /**
   * Longest wait between reconnection attempts of the gRPC channel and of
   * watch streams. Default 1000 ms. (etcd3 1.1 accepts a dialTimeout option
   * but never reads it; the per-call deadline is what bounds a call.)
   */
  dialTimeoutMs?: number;
  /** etcd's --max-txn-ops (default 128 there); a tick or dispatch needing more ops is refused. */
  maxTxnOps?: number;
  /** Receives errors thrown by watchJobs listeners and assignment handlers. Default: process.emitWarning. */
  onListenerError?: (error: unknown) => void;
  log?: StoreLog;
  /**
   * Reach etcd over TLS: `ca` verifies the members' certificates (the system
   * roots when absent), `cert` and `key` are this client's certificate for
   * etcd's --client-cert-auth (both or neither). Endpoints default to https://
   * then, and a plain http:// one is refused.
   */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** etcd's own authentication (user and password); the client trades them for a token before its first call. */
  auth?: { username: string; password: string };
}


/** etcd could not be reached or did not answer within the deadline. */
export class EtcdUnavailableError extends Error {
  /** The API answers 503: the request was fine, the backend is away (and agents retry on their own). */
  readonly status = 503;
  readonly code = 'KAIROS_STORE_UNAVAILABLE';
  readonly field = '';
  constructor(what: string, cause: unknown) {
    super(`etcd unavailable: ${what}: ${messageOf(cause)}`, { cause });
    this.name = 'EtcdUnavailableError';
  }
}

const JOBS = 'jobs/';
const EXECUTIONS = 'executions/';
const RUNNING = 'running/';
const GROUPS = 'groups/';
const FOLLOWUPS = 'followups/';
const ASSIGN = 'assign/';
const TICKS = 'ticks/';
const SETTINGS = 'settings/';
const TOKENS = 'tokens/';
const SKIPS = 'skips/';
/** Each audit entry is stored twice, under audit/all/ and audit/job/<job>/, so a job's history is one range read. */
const AUDIT_ALL = 'audit/all/';
const AUDIT_JOB = 'audit/job/';

/** Bounded optimistic retries of one read-modify-write under contention. */
const MAX_CAS_ATTEMPTS = 50;
const JOB_PAGE = 500;
/** Executions carry up to --output-limit bytes of output each; smaller pages keep responses bounded. */
const EXECUTION_PAGE = 100;
/** Larger than any Date (8.64e15 ms), so running executions sort after finished ones. */
const RUNNING_SORT_KEY = 9e15;

interface Budget {
  /** Failed RPCs are retried only until this instant. */
  until: number;
  /**
   * Retries allowed after `until`: with several members, one call that ran
   * into a hung member's deadline still gets one try on another member.
   */
  extra: number;
}

interface KeyState {
  value: string | null;
  /** mod_revision; "0" when the key is absent, which is what a compare sees too. */
  mod: string;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function toMillis(value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const ms = Date.parse(value);
  // An unparseable time must still be a finished/started record; 0 sorts it as the oldest.
  return Number.isNaN(ms) ? 0 : ms;
}

/** The group index entry of a finished execution: what prune needs, never the output. */
interface GroupEntry {
  /** started_at in epoch ms (0 when unparseable, as elsewhere). */
  s: number;
}

/** The running index value. Older versions stored the bare node name, which has no group. */
interface RunningEntry {
  node: string;
  group: number;
}

function parseRunning(value: Buffer): RunningEntry | null {
  try {
    const v = JSON.parse(value.toString()) as Partial<RunningEntry>;
    return typeof v === 'object' && v !== null && typeof v.group === 'number' ? (v as RunningEntry) : null;
  } catch {
    return null;
  }
}

function groupKey(jobName: string, group: number, id: string): string {
  return `${GROUPS}${jobName}/${String(group)}/${id}`;
}

function isRunning(e: Execution): boolean {
  return e.finished_at === null || e.finished_at === undefined;
}

function parseTick(tick: string): number {
  const ms = Date.parse(tick);
  if (Number.isNaN(ms)) throw new Error(`invalid tick "${tick}": not an RFC 3339 time`);
  return ms;
}

function parseBody<T>(body: string | Buffer, what: string): T {
  try {
    return JSON.parse(body.toString()) as T;
  } catch (err) {
    throw new Error(`etcd store: corrupt ${what}: ${messageOf(err)}`, { cause: err });
  }
}

/** Job names are key segments: a '/' would make one job's prefix cover another's keys. */
function assertName(name: string, what = 'job name'): void {
  if (typeof name !== 'string' || name === '' || name.includes('/')) {
    throw new Error(`etcd store: invalid ${what} "${String(name)}"`);
  }
}

function assertId(id: string): void {
  if (typeof id !== 'string' || id === '') throw new Error(`etcd store: invalid execution id "${String(id)}"`);
}

/** Node names are free text; encoding keeps one node's queue prefix from covering another's. */
function nodeSegment(node: string): string {
  return encodeURIComponent(node);
}

/** Clamp a slice bound; non-numbers fall back to the default. */
function bound(value: number | undefined, fallback: number, total: number): number {
  if (value === undefined || !Number.isFinite(value)) return fallback;
  return Math.min(Math.max(Math.trunc(value), 0), total);
}

/** SQLite's BINARY collation (the embedded store's order) compares UTF-8 bytes; so do etcd keys. */
function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function splitJobAndId(rest: string): { job: string; id: string } | null {
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return null;
  return { job: rest.slice(0, slash), id: rest.slice(slash + 1) };
}

/** Waits, but wakes early (resolving false) when the signal aborts. */
async function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
    return true;
  } catch {
    return false;
  }
}

/** A live watch subscription (watchJobs or consumeAssignments). */
interface Subscription {
  stopped: boolean;
  readonly abort: AbortController;
  watcher: Watcher | null;
  /** Set after a disconnect so the next 'connected' is reported (and acted on) once. */
  disconnected: boolean;
}

export class EtcdStore implements Store {
  readonly kind = 'etcd';
  readonly routesExecutions = true;
  /** The root client (no namespace), shared with the cluster module. */
  readonly client: Etcd3;
  /** The client namespaced to `<keyspace>/`: leases, election and watches use it. */
  readonly ns: Namespace;

  private readonly prefix: string;
  private readonly prefixBytes: Buffer;
  private readonly callTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly maxTxnOps: number;
  private readonly onListenerError: (error: unknown) => void;
  private readonly log: StoreLog;
  private readonly subscriptions = new Set<Subscription>();
  private fence: TickFence = null;
  /** Highest cluster revision seen in any reply; a new job watch starts after it. */
  private revision = 0n;
  private closed = false;

  /** Connects lazily: resolves even when etcd is down (use ping() to check). */
  static async connect(options: EtcdStoreOptions): Promise<EtcdStore> {
    return new EtcdStore(options);
  }

  constructor(options: EtcdStoreOptions) {
    if (!Array.isArray(options.endpoints) || options.endpoints.length === 0) {
      throw new Error('etcd store: at least one endpoint is required');
    }
    const keyspace = String(options.keyspace ?? '').replace(/\/+$/, '');
    if (keyspace === '') throw new Error('etcd store: keyspace must not be empty');
    this.prefix = `${keyspace}/`;
    this.prefixBytes = Buffer.from(this.prefix);
    this.callTimeoutMs = Math.max(1, options.callTimeoutMs ?? 2000);
    const dialMs = Math.max(100, options.dialTimeoutMs ?? 1000);
    this.maxTxnOps = Math.max(4, options.maxTxnOps ?? 128);
    const tls = options.tls;
    if (tls && (tls.cert === undefined) !== (tls.key === undefined)) {
      throw new Error('etcd store: a TLS client certificate needs its key (and a key its certificate)');
    }
    const hosts = options.endpoints.map((e) => {
      if (!tls) return /^https?:\/\//.test(e) ? e : `http://${e}`;
      if (/^http:\/\//.test(e)) throw new Error(`etcd store: endpoint ${e} is plain http, but TLS is configured (use https:// or a bare host:port)`);
      return /^https:\/\//.test(e) ? e : `https://${e}`;
    });
    if (options.auth && (!options.auth.username || typeof options.auth.password !== 'string')) {
      throw new Error('etcd store: auth needs a user name and a password');
    }
    // One extra attempt so a single member's stale channel (after its restart) gets a fresh one.
    this.maxAttempts = hosts.length + 1;
    this.onListenerError =
      options.onListenerError ??
      ((error) => process.emitWarning(`etcd store listener threw: ${messageOf(error)}`, 'KairosStoreWarning'));
    this.log = options.log ?? {
      warn: (obj, msg) => process.emitWarning(`${msg} ${JSON.stringify(obj)}`, 'KairosStoreWarning'),
      info: () => undefined,
    };
    const callTimeoutMs = this.callTimeoutMs;
    const breakers = new HostBreakers();
    // gRPC's bare connection failures, explained by a handshake of our own (per member, at most every 5 s).
    const explained = new Map<string, { at: number; hint: Promise<string | null> }>();
    const explain = async (err: unknown): Promise<void> => {
      if (!(err instanceof Error) || !BARE_CONNECT_FAILURE.test(err.message)) return;
      const hints = hosts.map((host) => {
        let entry = explained.get(host);
        if (!entry || Date.now() - entry.at > 5000) {
          entry = { at: Date.now(), hint: explainConnectFailure(host, tls, Math.min(1000, callTimeoutMs)) };
          explained.set(host, entry);
        }
        return entry.hint;
      });
      const hint = (await Promise.all(hints)).find((h) => h !== null);
      // Still the same (transient) error object: only its message gains the reason.
      if (hint) err.message = `${err.message.replace(/\. Resolution note: $/, '')} (${hint})`;
    };
    // Wraps the global policy, which also sees the token exchange of etcd auth (made outside the per-member policies).
    const once = oncePolicy();
    const globalPolicy: Pick<typeof once, 'execute'> = {
      execute: async (fn, signal) => {
        try {
          return await once.execute(fn, signal);
        } catch (err) {
          await explain(err);
          throw err;
        }
      },
    };
    this.client = new Etcd3({
      hosts,
      dialTimeout: dialMs,
      // etcd3 types rootCertificate as required; grpc's createSsl takes null for "the system roots".
      ...(tls ? { credentials: { rootCertificate: tls.ca ?? (null as unknown as Buffer), privateKey: tls.key, certChain: tls.cert } } : {}),
      // The token exchange gets the same per-call deadline (from defaultCallOptions), so a bad password fails fast.
      ...(options.auth ? { auth: { username: options.auth.username, password: options.auth.password } } : {}),
      // Streams (watches, lease keep-alives) live indefinitely; only unary calls get a deadline.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
      grpcOptions: {
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': dialMs,
        // Detects a silently dead member under a long-lived watch; etcd allows pings every 5 s.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        // A page of executions can exceed gRPC's 4 MiB default (etcd itself sends up to 2 GiB).
        'grpc.max_receive_message_length': 256 * 1024 * 1024,
      },
      faultHandling: {
        // etcd3 only ever calls execute() (see fault.ts).
        global: globalPolicy as typeof once,
        host: (host) => breakers.policy(host),
        watchBackoff: watchBackoff(dialMs),
      },
    });
    this.ns = this.client.namespace(this.prefix);
  }

  /** A cheap linearizable read; rejects with "etcd unavailable" when the cluster can't answer. */
  async ping(): Promise<void> {
    this.assertOpen();
    await this.range(this.budget(), 'ping', { key: this.k(SETTINGS), limit: 1, keys_only: true });
  }

  /**
   * Fence for commitTick, set by the cluster module on leadership changes:
   * an object makes every tick commit also require that `key` (relative to the
   * keyspace) still has that create revision, so a deposed leader's commits
   * fail; 'none' makes commitTick resolve false without writing (not the
   * leader); null (default) disables fencing (tests, single writer).
   */
  setFence(fence: TickFence): void {
    this.fence = fence === null || fence === 'none' ? fence : { key: fence.key, createRevision: String(fence.createRevision) };
  }

  private currentFence(): TickFence {
    return this.fence;
  }

  // ---- jobs ----

  async getJob(name: string): Promise<Job | null> {
    this.assertOpen();
    assertName(name);
    const cur = await this.read(this.budget(), 'getJob', JOBS + name);
    return cur.value === null ? null : parseBody<Job>(cur.value, `job "${name}"`);
  }

  async listJobs(page?: { offset: number; limit: number }): Promise<Job[]> {
    this.assertOpen();
    if (page) {
      // Keys only to find the slice, then one range read for just those values.
      const b = this.budget();
      const { kvs: keys } = await this.scan(b, 'listJobs', JOBS, 5000, true);
      const slice = keys.slice(Math.max(0, page.offset), Math.max(0, page.offset) + Math.max(0, page.limit));
      const first = slice[0];
      const last = slice[slice.length - 1];
      if (!first || !last) return [];
      const res = await this.range(b, 'listJobs', { key: first.key, range_end: Buffer.concat([last.key, Buffer.from([0])]) });
      return res.kvs.map((kv) => parseBody<Job>(kv.value, 'job'));
    }
    const { kvs } = await this.scan(this.budget(), 'listJobs', JOBS, JOB_PAGE);
    // etcd returns keys in byte order, which is the name order of the embedded store.
    return kvs.map((kv) => parseBody<Job>(kv.value, 'job'));
  }

  async countJobs(): Promise<number> {
    this.assertOpen();
    const res = await this.range(this.budget(), 'countJobs', { ...this.prefixRange(JOBS), count_only: true });
    return Number(res.count);
  }

  async updateJob(name: string, fn: JobUpdater, audit?: AuditBuilder): Promise<Job | null> {
    this.assertOpen();
    assertName(name);
    const b = this.budget();
    const key = JOBS + name;
    // After a write whose reply was lost: the body it wrote (null = delete), to recognise it on re-read.
    let unsure: { body: string | null } | null = null;
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.read(b, 'updateJob', key);
      if (unsure !== null && cur.value === unsure.body) {
        return unsure.body === null ? null : (JSON.parse(unsure.body) as Job);
      }
      unsure = null;
      const current = cur.value === null ? null : parseBody<Job>(cur.value, `job "${name}"`);
      const next = fn(current);
      if (next === undefined) return current;
      let op: IRequestOp;
      const auditOf = (after: Job | null): IRequestOp[] => {
        const entry = audit?.(current, after);
        return entry ? this.auditOps(entry) : [];
      };
      let body: string | null;
      if (next === null) {
        if (cur.value === null) return null;
        op = this.opDelete(key);
        body = null;
      } else {
        if (next.name !== name) {
          // Storing under `name` a body that says otherwise would make the job unreachable by its own name.
          throw new Error(`updateJob("${name}"): updater returned a job named "${next.name}"`);
        }
        body = JSON.stringify(next);
        // Parsed back so callers see exactly what was stored and never share the updater's object.
        if (body === cur.value) return JSON.parse(body) as Job;
        op = this.opPut(key, body);
      }
      const parsed = body === null ? null : (JSON.parse(body) as Job);
      try {
        const res = await this.txn(b, 'updateJob', [this.cmpMod(key, cur.mod)], [op, ...auditOf(parsed)], [], false);
        if (res.succeeded) return body === null ? null : (JSON.parse(body) as Job);
      } catch (err) {
        if (!this.mayRetryWrite(err, b)) throw err;
        unsure = { body };
        continue;
      }
      await this.conflictPause(attempt);
    }
    throw new Error(`updateJob("${name}"): still conflicting with concurrent writers after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  async updateJobs(names: string[], fn: JobsUpdater, audit?: AuditBuilder): Promise<Map<string, Job | null>> {
    this.assertOpen();
    const unique = [...new Set(names)];
    for (const name of unique) assertName(name);
    this.assertTxnSize(unique.length * 2 + (audit ? 2 : 0), 'updateJobs', 0);
    const b = this.budget();
    // After a write whose reply was lost: the bodies it wrote, to recognise them on re-read.
    let unsure: Map<string, string | null> | null = null;
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const read = await this.txn(b, 'updateJobs', [], unique.map((n) => this.opRead(JOBS + n)), [], true);
      const states = unique.map((_n, i) => this.keyState(read.responses[i]?.response_range?.kvs[0]));
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
          ops.push(this.opDelete(JOBS + name));
          written.set(name, null);
          result.set(name, null);
          continue;
        }
        if (next.name !== name) throw new Error(`updateJobs("${name}"): updater returned a job named "${next.name}"`);
        const body = JSON.stringify(next);
        result.set(name, JSON.parse(body) as Job);
        if (body === states[i]?.value) continue;
        ops.push(this.opPut(JOBS + name, body));
        written.set(name, body);
      }
      if (ops.length === 0) return result;
      const primary = unique[0] as string;
      const entry = audit && written.has(primary) ? audit(current.get(primary) ?? null, result.get(primary) ?? null) : null;
      if (entry) ops.push(...this.auditOps(entry));
      try {
        const res = await this.txn(b, 'updateJobs', unique.map((n, i) => this.cmpMod(JOBS + n, states[i]?.mod ?? '0')), ops, [], false);
        if (res.succeeded) return result;
      } catch (err) {
        if (!this.mayRetryWrite(err, b)) throw err;
        unsure = written;
        continue;
      }
      await this.conflictPause(attempt);
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
    this.assertOpen();
    const byJob = new Map<string, AuditEntry[]>();
    const loose: AuditEntry[] = [];
    const named = new Set([...batch.put.map((j) => j.name), ...batch.delete]);
    for (const entry of batch.audit) {
      if (entry.job !== null && named.has(entry.job)) byJob.set(entry.job, [...(byJob.get(entry.job) ?? []), entry]);
      else loose.push(entry);
    }
    const auditFor = (name: string): IRequestOp[] => {
      const entries = byJob.get(name) ?? [];
      byJob.delete(name);
      return entries.flatMap((e) => this.auditOps(e));
    };
    const groups: IRequestOp[][] = [];
    for (const job of batch.put) {
      assertName(job.name);
      groups.push([this.opPut(JOBS + job.name, JSON.stringify(job)), ...auditFor(job.name)]);
    }
    for (const name of batch.delete) {
      assertName(name);
      groups.push([
        ...auditFor(name),
        this.opDelete(JOBS + name),
        this.opDelete(TICKS + name),
        this.opDeletePrefix(`${SKIPS}${name}/`),
        this.opDeletePrefix(`${EXECUTIONS}${name}/`),
        this.opDeletePrefix(`${RUNNING}${name}/`),
        this.opDeletePrefix(`${GROUPS}${name}/`),
      ]);
    }
    for (const entry of loose) groups.push(this.auditOps(entry));
    let ops: IRequestOp[] = [];
    // A deadline per transaction: a large batch is many of them.
    const flush = async (): Promise<void> => {
      if (ops.length === 0) return;
      const sent = ops;
      ops = [];
      await this.txn(this.budget(), 'writeJobs', [], sent, [], true);
    };
    for (const group of groups) {
      if (ops.length + group.length > this.maxTxnOps) await flush();
      ops.push(...group);
    }
    await flush();
  }

  async deleteJob(name: string, audit?: AuditBuilder): Promise<Job | null> {
    this.assertOpen();
    assertName(name);
    const b = this.budget();
    const key = JOBS + name;
    let unsure: string | null = null;
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.read(b, 'deleteJob', key);
      // A delete whose reply was lost and whose job is now gone: ours, as far as anyone can tell.
      if (unsure !== null && cur.value === null) return parseBody<Job>(unsure, `job "${name}"`);
      unsure = null;
      const deleted = cur.value === null ? null : parseBody<Job>(cur.value, `job "${name}"`);
      const entry = deleted && audit ? audit(deleted, null) : null;
      const ops = [
        ...(entry ? this.auditOps(entry) : []),
        this.opDelete(key),
        this.opDelete(TICKS + name),
        this.opDeletePrefix(`${SKIPS}${name}/`),
        this.opDeletePrefix(`${EXECUTIONS}${name}/`),
        this.opDeletePrefix(`${RUNNING}${name}/`),
        this.opDeletePrefix(`${GROUPS}${name}/`),
      ];
      try {
        const res = await this.txn(b, 'deleteJob', [this.cmpMod(key, cur.mod)], ops, [], false);
        if (res.succeeded) return cur.value === null ? null : parseBody<Job>(cur.value, `job "${name}"`);
      } catch (err) {
        if (!this.mayRetryWrite(err, b)) throw err;
        unsure = cur.value;
        continue;
      }
      await this.conflictPause(attempt);
    }
    throw new Error(`deleteJob("${name}"): still conflicting with concurrent writers after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  // ---- executions ----

  async putExecution(execution: Execution): Promise<void> {
    this.assertOpen();
    const ops = this.executionOps([execution], false);
    // A finished execution has a group entry: a start record arriving after the execution was
    // closed (agent lost) finds it and must not reopen the execution.
    const compares = isRunning(execution)
      ? [this.cmp(groupKey(execution.job_name, execution.group, execution.id), CompareTarget.Version, { version: 0 })]
      : [];
    // Re-sending the same puts is harmless (and the compare still holds), so this write may retry like a read.
    const res = await this.txn(this.budget(), 'putExecution', compares, ops, [], true);
    if (!res.succeeded) throw new ExecutionClosedError(execution.job_name, execution.id);
  }

  async dispatchExecutions(executions: Execution[], options: DispatchOptions = {}): Promise<boolean> {
    this.assertOpen();
    const first = executions[0];
    if (first === undefined) return true;
    const ops = [...this.executionOps(executions, true), ...(options.audit ? this.auditOps(options.audit) : [])];
    this.assertTxnSize(ops.length, 'dispatchExecutions', executions.length);
    const compares = options.exclusive ? [this.cmpNoneRunning(first.job_name)] : [];
    // Re-sending the same puts is harmless only when nothing is compared.
    const res = await this.txn(this.budget(), 'dispatchExecutions', compares, ops, [], !options.exclusive);
    return res.succeeded;
  }

  /** True for the whole range only when no key exists under the job's running index (etcd range compare). */
  private cmpNoneRunning(jobName: string): ICompare {
    const { key, range_end } = this.prefixRange(`${RUNNING}${jobName}/`);
    return { key, range_end, target: CompareTarget.Version, result: CompareResult.Equal, version: 0 };
  }

  async completeExecution(execution: Execution, fn: JobUpdater, options: CompleteOptions = {}): Promise<Job | null> {
    this.assertOpen();
    const name = execution.job_name;
    const execOps = this.executionOps(options.next ? [execution, options.next] : [execution], false);
    const execBody = JSON.stringify(execution);
    const b = this.budget();
    const key = JOBS + name;
    const execKey = `${EXECUTIONS}${name}/${execution.id}`;
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      // Job and execution read at one revision: the write below is conditional on both.
      const read = await this.txn(b, 'completeExecution', [], [this.opRead(key), this.opRead(execKey)], [], true);
      const cur = this.keyState(read.responses[0]?.response_range?.kvs[0]);
      const stored = this.keyState(read.responses[1]?.response_range?.kvs[0]);
      const current = cur.value === null ? null : parseBody<Job>(cur.value, `job "${name}"`);
      if (stored.value !== null && !isRunning(parseBody<Execution>(stored.value, `execution "${name}/${execution.id}"`))) {
        // Our own write whose reply was lost (or a retried call): done already, count nothing.
        if (stored.value === execBody) return current;
        throw new ExecutionClosedError(name, execution.id);
      }
      const next = fn(current);
      const ops = [...execOps];
      const compares = [this.cmpMod(key, cur.mod), this.cmpMod(execKey, stored.mod)];
      let result: Job | null = current;
      if (next === null) {
        if (cur.value !== null) ops.push(this.opDelete(key));
        result = null;
      } else if (next !== undefined) {
        if (next.name !== name) {
          throw new Error(`completeExecution("${name}"): updater returned a job named "${next.name}"`);
        }
        result = JSON.parse(JSON.stringify(next)) as Job;
      }
      if (options.group && result !== null) {
        const revision = BigInt(read.header.revision);
        const members = await this.groupAt(b, name, execution.group, revision);
        const after = [...members.filter((m) => m.id !== execution.id && m.id !== options.next?.id), execution];
        if (options.next) after.push(options.next);
        const decided = options.group(result, after);
        if (decided !== undefined) {
          if (decided.job.name !== name) throw new Error(`completeExecution("${name}"): group outcome names job "${decided.job.name}"`);
          result = JSON.parse(JSON.stringify(decided.job)) as Job;
          if (decided.followUp !== undefined) {
            const body = JSON.stringify({ node: execution.node_name, children: decided.followUp });
            ops.push(this.opPut(`${FOLLOWUPS}${name}/${String(execution.group)}`, body));
          }
        }
        // The outcome holds only if the group didn't change since it was read: no member
        // finished, started or retried meanwhile (their index keys would be newer).
        compares.push(
          this.cmpRangeUnchanged(`${GROUPS}${name}/${String(execution.group)}/`, revision),
          this.cmpRangeUnchanged(`${RUNNING}${name}/`, revision),
        );
      }
      if (result !== null) {
        const body = JSON.stringify(result);
        if (body !== cur.value) ops.push(this.opPut(key, body));
      }
      try {
        // The job compare holds even when the job is untouched, so the returned job is the one the
        // execution was stored against; the execution compare makes a close that raced us win.
        const res = await this.txn(b, 'completeExecution', compares, ops, [], false);
        if (res.succeeded) return result;
      } catch (err) {
        // Whether it landed is read back on the next round: finding our result means job and execution both did.
        if (!this.mayRetryWrite(err, b)) throw err;
        continue;
      }
      await this.conflictPause(attempt);
    }
    throw new Error(`completeExecution("${name}"): still conflicting with concurrent writers after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  async getExecution(jobName: string, id: string): Promise<Execution | null> {
    this.assertOpen();
    assertName(jobName);
    assertId(id);
    const cur = await this.read(this.budget(), 'getExecution', `${EXECUTIONS}${jobName}/${id}`);
    return cur.value === null ? null : parseBody<Execution>(cur.value, `execution "${jobName}/${id}"`);
  }

  async listExecutions(jobName: string, query: ExecutionQuery = {}): Promise<Page<Execution>> {
    this.assertOpen();
    assertName(jobName);
    const sort = query.sort ?? 'started_at';
    const order = query.order ?? 'desc';
    if (!['started_at', 'finished_at', 'attempt'].includes(sort) || !['asc', 'desc'].includes(order)) {
      throw new Error(`listExecutions: unsupported sort "${String(sort)}" / order "${String(order)}"`);
    }
    const all = await this.jobExecutions(this.budget(), 'listExecutions', jobName);
    const total = all.length;
    const start = bound(query.start, 0, total);
    const end = bound(query.end, total, total);
    if (start >= end) return { items: [], total };
    const sortKey = (e: Execution): number => {
      if (sort === 'attempt') return e.attempt;
      if (sort === 'finished_at') return toMillis(e.finished_at) ?? RUNNING_SORT_KEY;
      return toMillis(e.started_at) ?? 0;
    };
    const dir = order === 'asc' ? 1 : -1;
    const decorated = all.map((e) => ({ e, k: sortKey(e) }));
    decorated.sort((a, b) => dir * (a.k - b.k || compareBytes(a.e.id, b.e.id)));
    return { items: decorated.slice(start, end).map((d) => d.e), total };
  }

  async listGroup(jobName: string, group: number): Promise<Execution[]> {
    this.assertOpen();
    assertName(jobName);
    const b = this.budget();
    if (!(await this.groupIndexComplete(b, 'listGroup', jobName))) await this.reindexGroups(b, jobName);
    const prefix = `${GROUPS}${jobName}/${String(group)}/`;
    const finished = await this.scan(b, 'listGroup', prefix, JOB_PAGE, true);
    const keys = finished.kvs.map((kv) => `${EXECUTIONS}${jobName}/${this.rel(kv.key).slice(prefix.length)}`);
    // A job has few running executions, and their index values are small.
    const running = await this.scan(b, 'listGroup', `${RUNNING}${jobName}/`, JOB_PAGE);
    for (const kv of running.kvs) {
      const entry = parseRunning(kv.value);
      // An entry without a group (written by an older version) is read to find out.
      if (entry === null || entry.group === group) {
        keys.push(`${EXECUTIONS}${jobName}/${this.rel(kv.key).slice(RUNNING.length + jobName.length + 1)}`);
      }
    }
    const members = (await this.readExecutions(b, 'listGroup', [...new Set(keys)])).filter((e) => e.group === group);
    return members
      .map((e) => ({ e, s: toMillis(e.started_at) ?? 0 }))
      .sort((a, c) => a.e.attempt - c.e.attempt || a.s - c.s || compareBytes(a.e.id, c.e.id))
      .map((d) => d.e);
  }

  /** The group's executions as of `revision` (index and records read at that revision). */
  private async groupAt(b: Budget, jobName: string, group: number, revision: bigint): Promise<Execution[]> {
    const rev = revision.toString();
    const prefix = `${GROUPS}${jobName}/${String(group)}/`;
    const finished = await this.range(b, 'completeExecution', { ...this.prefixRange(prefix), keys_only: true, revision: rev });
    const keys = finished.kvs.map((kv) => `${EXECUTIONS}${jobName}/${this.rel(kv.key).slice(prefix.length)}`);
    const running = await this.range(b, 'completeExecution', { ...this.prefixRange(`${RUNNING}${jobName}/`), revision: rev });
    for (const kv of running.kvs) {
      const entry = parseRunning(kv.value);
      if (entry === null || entry.group === group) {
        keys.push(`${EXECUTIONS}${jobName}/${this.rel(kv.key).slice(RUNNING.length + jobName.length + 1)}`);
      }
    }
    return (await this.readExecutions(b, 'completeExecution', [...new Set(keys)], rev)).filter((e) => e.group === group);
  }

  /** True while no key under the prefix was written after `revision` (a range compare; new keys count too). */
  private cmpRangeUnchanged(relPrefix: string, revision: bigint): ICompare {
    const { key, range_end } = this.prefixRange(relPrefix);
    return { key, range_end, target: CompareTarget.Mod, result: CompareResult.Less, mod_revision: (revision + 1n).toString() };
  }

  /**
   * Executions stored before the group index existed have no entry there: two cheap counts
   * tell, and the job is then indexed once (reindexGroups) before its groups are read.
   */
  private async groupIndexComplete(b: Budget, what: string, jobName: string): Promise<boolean> {
    const res = await this.txn(b, what, [], [
      { request_range: { ...this.prefixRange(`${EXECUTIONS}${jobName}/`), count_only: true } },
      { request_range: { ...this.prefixRange(`${GROUPS}${jobName}/`), count_only: true } },
      { request_range: { ...this.prefixRange(`${RUNNING}${jobName}/`), count_only: true } },
    ], [], true);
    const count = (i: number): number => Number(res.responses[i]?.response_range?.count ?? 0);
    return count(0) <= count(1) + count(2);
  }

  /** Reads the given execution keys, batched in txns (one round trip and one snapshot per chunk); absent ones are skipped. */
  private async readExecutions(b: Budget, what: string, keys: string[], revision?: string): Promise<Execution[]> {
    const found: Execution[] = [];
    for (let i = 0; i < keys.length; i += this.maxTxnOps) {
      const chunk = keys.slice(i, i + this.maxTxnOps);
      const reads = chunk.map((k): IRequestOp => ({ request_range: { key: this.k(k), revision } }));
      const res = await this.txn(b, what, [], reads, [], true);
      for (const r of res.responses) {
        const kv = r.response_range?.kvs[0];
        if (kv !== undefined) found.push(parseBody<Execution>(kv.value, 'execution'));
      }
    }
    return found;
  }

  async listRunning(jobName?: string): Promise<Execution[]> {
    this.assertOpen();
    if (jobName !== undefined) assertName(jobName);
    const b = this.budget();
    const indexPrefix = jobName === undefined ? RUNNING : `${RUNNING}${jobName}/`;
    const { kvs } = await this.scan(b, 'listRunning', indexPrefix, JOB_PAGE, true);
    const keys: string[] = [];
    for (const kv of kvs) {
      const ref = splitJobAndId(this.rel(kv.key).slice(RUNNING.length));
      if (ref !== null) keys.push(`${EXECUTIONS}${ref.job}/${ref.id}`);
    }
    // Ones deleted since the index was read are skipped; ones finished meanwhile are dropped here.
    const found = (await this.readExecutions(b, 'listRunning', keys)).filter(isRunning);
    return found
      .map((e) => ({ e, s: toMillis(e.started_at) ?? 0 }))
      .sort((a, b) => a.s - b.s || compareBytes(a.e.job_name, b.e.job_name) || compareBytes(a.e.id, b.e.id))
      .map((d) => d.e);
  }

  async deleteExecutions(jobName: string): Promise<number> {
    this.assertOpen();
    assertName(jobName);
    const res = await this.txn(
      this.budget(),
      'deleteExecutions',
      [],
      [
        this.opDeletePrefix(`${EXECUTIONS}${jobName}/`),
        this.opDeletePrefix(`${RUNNING}${jobName}/`),
        this.opDeletePrefix(`${GROUPS}${jobName}/`),
      ],
      [],
      true,
    );
    return Number(res.responses[0]?.response_delete_range?.deleted ?? 0);
  }

  async pruneExecutions(jobName: string, keep: number): Promise<number> {
    this.assertOpen();
    assertName(jobName);
    const n = Number.isFinite(keep) ? Math.max(0, Math.trunc(keep)) : 0;
    const b = this.budget();
    // Runs after every finished execution: count first, so the common case (history not full) reads nothing more.
    const counted = await this.range(b, 'pruneExecutions', { ...this.prefixRange(`${EXECUTIONS}${jobName}/`), count_only: true });
    if (Number(counted.count) <= n) return 0;
    if (!(await this.groupIndexComplete(b, 'pruneExecutions', jobName))) await this.reindexGroups(b, jobName);
    // The group index carries start time and state: victims are chosen without reading any output.
    const { kvs } = await this.scan(b, 'pruneExecutions', `${GROUPS}${jobName}/`, JOB_PAGE);
    const entries = kvs.flatMap((kv) => {
      const rel = this.rel(kv.key);
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
    const size = Math.max(1, Math.floor(this.maxTxnOps / perOp));
    for (let i = 0; i < victims.length; i += size) {
      const chunk = victims.slice(i, i + size);
      const ops = (v: (typeof chunk)[number]): IRequestOp[] => [this.opDelete(v.key), this.opDelete(`${EXECUTIONS}${jobName}/${v.id}`)];
      // Conditional on the entry being unchanged since it was read (it is rewritten with each result)
      // and on the execution not running again (a running one has no say in the entry).
      const cmps = (v: (typeof chunk)[number]): ICompare[] => [
        this.cmpMod(v.key, v.mod),
        this.cmp(`${RUNNING}${jobName}/${v.id}`, CompareTarget.Version, { version: 0 }),
      ];
      const res = await this.txn(b, 'pruneExecutions', chunk.flatMap(cmps), chunk.flatMap(ops), [], true);
      if (res.succeeded) {
        deleted += chunk.length;
        continue;
      }
      for (const v of chunk) {
        const one = await this.txn(b, 'pruneExecutions', cmps(v), ops(v), [], true);
        if (one.succeeded) deleted += 1;
      }
    }
    return deleted;
  }

  /** One-off for executions stored before the group index: index them (only while their record is unchanged). */
  private async reindexGroups(b: Budget, jobName: string): Promise<void> {
    const { kvs } = await this.scan(b, 'pruneExecutions', `${EXECUTIONS}${jobName}/`, EXECUTION_PAGE);
    const puts = kvs.flatMap((kv) => {
      const e = parseBody<Execution>(kv.value, `execution of "${jobName}"`);
      if (isRunning(e)) return [];
      const entry: GroupEntry = { s: toMillis(e.started_at) ?? 0 };
      return [{ cmp: this.cmpMod(this.rel(kv.key), kv.mod_revision), op: this.opPut(groupKey(jobName, e.group, e.id), JSON.stringify(entry)) }];
    });
    const size = Math.max(1, Math.floor(this.maxTxnOps / 2));
    for (let i = 0; i < puts.length; i += size) {
      const chunk = puts.slice(i, i + size);
      // A record rewritten meanwhile wrote its own entry; skipping it then is right.
      const res = await this.txn(b, 'pruneExecutions', chunk.map((x) => x.cmp), chunk.map((x) => x.op), [], true);
      if (!res.succeeded) {
        for (const x of chunk) await this.txn(b, 'pruneExecutions', [x.cmp], [x.op], [], true);
      }
    }
  }

  // ---- ticks and routing ----

  async getLastTick(jobName: string): Promise<string | null> {
    this.assertOpen();
    assertName(jobName);
    return (await this.read(this.budget(), 'getLastTick', TICKS + jobName)).value;
  }

  async listLastTicks(): Promise<Map<string, string>> {
    this.assertOpen();
    const { kvs } = await this.scan(this.budget(), 'listLastTicks', TICKS, 1000);
    return new Map(kvs.map((kv) => [this.rel(kv.key).slice(TICKS.length), kv.value.toString()]));
  }

  async commitTick(jobName: string, tick: string, executions: Execution[], options: DispatchOptions = {}): Promise<boolean> {
    this.assertOpen();
    assertName(jobName);
    const tickMs = parseTick(tick);
    if (this.currentFence() === 'none') return false;
    const key = TICKS + jobName;
    const ops = [this.opPut(key, tick), ...this.executionOps(executions, true)];
    this.assertTxnSize(ops.length, 'commitTick', executions.length);
    const b = this.budget();
    let cur = await this.read(b, 'commitTick', key);
    let unsure = false;
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      // Read afresh each round: leadership can change while this commit is retrying.
      const fence = this.currentFence();
      if (fence === 'none') return false;
      if (unsure) {
        unsure = false;
        // A commit whose reply was lost: our tick plus our first execution mean it landed.
        if (cur.value === tick && (await this.executionStored(b, executions[0]))) return true;
      }
      if (cur.value !== null) {
        const stored = Date.parse(cur.value);
        // A stored tick that no longer parses cannot prove it is newer; let the new one replace it.
        if (!Number.isNaN(stored) && stored >= tickMs) return false;
      }
      const compares = [this.cmpMod(key, cur.mod)];
      const failure = [this.opRead(key)];
      if (fence !== null) {
        compares.push(this.cmp(fence.key, CompareTarget.Create, { create_revision: fence.createRevision }));
        failure.push(this.opRead(fence.key));
      }
      if (options.exclusive) compares.push(this.cmpNoneRunning(jobName));
      let res: ITxnResponse;
      try {
        res = await this.txn(b, 'commitTick', compares, ops, failure, false);
      } catch (err) {
        if (!this.mayRetryWrite(err, b)) throw err;
        unsure = true;
        cur = await this.read(b, 'commitTick', key);
        continue;
      }
      if (res.succeeded) return true;
      if (fence !== null) {
        const holder = res.responses[1]?.response_range?.kvs[0];
        // Leadership moved (or the leader key expired): this agent must not dispatch.
        if (holder === undefined || holder.create_revision !== fence.createRevision) return false;
      }
      const next = this.keyState(res.responses[0]?.response_range?.kvs[0]);
      // Tick unchanged and fence held: the job had a running execution (forbid).
      if (options.exclusive && next.mod === cur.mod) return false;
      cur = next;
    }
    throw new Error(`commitTick("${jobName}"): still conflicting with concurrent writers after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  consumeAssignments(node: string, handler: (execution: Execution) => void): () => void {
    if (this.closed) return () => undefined;
    const prefix = `${ASSIGN}${nodeSegment(node)}/`;
    const sub = this.subscribe();
    const inFlight = new Set<string>();

    const deliver = (execution: Execution): void => {
      try {
        handler(execution);
      } catch (err) {
        this.reportListenerError(err);
      }
    };

    const deliverStored = async (b: Budget, job: string, id: string): Promise<void> => {
      const cur = await this.read(b, 'consumeAssignments', `${EXECUTIONS}${job}/${id}`);
      if (cur.value === null) {
        this.warn({ node, job, execution: id }, 'etcd store: assigned execution no longer exists (job deleted?); skipped');
        return;
      }
      const execution = parseBody<Execution>(cur.value, `execution "${job}/${id}"`);
      if (execution.finished_at !== null) return; // closed meanwhile (recovery, or the leader's lost-agent check)
      deliver(execution);
    };

    const claim = async (key: string): Promise<void> => {
      if (sub.stopped || inFlight.has(key)) return;
      const ref = splitJobAndId(key.slice(prefix.length));
      if (ref === null) return;
      inFlight.add(key);
      let unsure = false;
      let delay = 100;
      try {
        while (!sub.stopped) {
          const b = this.budget();
          try {
            if (unsure) {
              // One consumer per node: if the key vanished after our claim's reply was lost, the claim was ours.
              const still = await this.read(b, 'consumeAssignments', key);
              if (still.value === null) {
                await deliverStored(b, ref.job, ref.id);
                return;
              }
              unsure = false;
            }
            const execKey = `${EXECUTIONS}${ref.job}/${ref.id}`;
            let res: ITxnResponse;
            try {
              // Claim and read in one txn: whoever deletes the key gets the execution, exactly once.
              res = await this.txn(
                b,
                'consumeAssignments',
                [this.cmp(key, CompareTarget.Version, { version: 0 }, CompareResult.Greater)],
                [this.opDelete(key), this.opRead(execKey)],
                [],
                false,
              );
            } catch (err) {
              if (err instanceof EtcdUnavailableError) unsure = true;
              throw err;
            }
            if (!res.succeeded) return; // another consumer claimed it
            const kv = res.responses[1]?.response_range?.kvs[0];
            if (kv === undefined) {
              this.warn({ node, job: ref.job, execution: ref.id }, 'etcd store: assigned execution no longer exists (job deleted?); skipped');
              return;
            }
            deliver(parseBody<Execution>(kv.value, `execution "${ref.job}/${ref.id}"`));
            return;
          } catch (err) {
            if (sub.stopped) return;
            if (!(err instanceof EtcdUnavailableError)) {
              this.warn({ node, key, err: messageOf(err) }, 'etcd store: cannot take an assigned execution');
              return;
            }
            if (!(await pause(delay, sub.abort.signal))) return;
            delay = Math.min(delay * 2, 2000);
          }
        }
      } finally {
        inFlight.delete(key);
      }
    };

    const relist = async (): Promise<bigint> => {
      const { kvs, revision } = await this.scan(this.budget(), 'consumeAssignments', prefix, JOB_PAGE, true);
      for (const kv of kvs) this.background(claim(this.rel(kv.key)), 'claiming an assignment');
      return revision;
    };

    const start = async (): Promise<void> => {
      let delay = 100;
      while (!sub.stopped) {
        try {
          const revision = await relist();
          if (sub.stopped) return;
          const from = revision + 1n;
          const watcher = this.ns
            .watch()
            .prefix(prefix)
            .only('put')
            .startRevision(from.toString())
            // watcher() rather than create(): create() never settles while etcd is down, and
            // gives no handle to cancel meanwhile.
            .watcher();
          sub.watcher = watcher;
          watcher.on('put', (kv: IKeyValue) => {
            this.background(claim(kv.key.toString()), 'claiming an assignment');
          });
          this.watchHealth(sub, watcher, from, `assignments of ${node}`, () => {
            // Events are replayed from the last revision; the re-list covers keys the replay can't (compaction).
            relist().catch((err: unknown) => {
              this.warn({ node, err: messageOf(err) }, 'etcd store: re-listing assignments after reconnect failed');
            });
          }, () => {
            this.background(start(), 'restarting the assignment watch');
          });
          return;
        } catch (err) {
          if (sub.stopped) return;
          this.warn({ node, err: messageOf(err), retry_ms: delay }, 'etcd store: cannot list assignments; retrying');
          if (!(await pause(delay, sub.abort.signal))) return;
          delay = Math.min(delay * 2, 2000);
        }
      }
    };

    this.background(start(), 'starting the assignment watch');
    return () => {
      this.background(this.unsubscribe(sub), 'cancelling the assignment watch');
    };
  }

  // ---- follow-ups ----

  async listFollowUps(node?: string): Promise<FollowUp[]> {
    this.assertOpen();
    const { kvs } = await this.scan(this.budget(), 'listFollowUps', FOLLOWUPS, JOB_PAGE);
    const out: FollowUp[] = [];
    for (const kv of kvs) {
      const rel = this.rel(kv.key).slice(FOLLOWUPS.length);
      const slash = rel.lastIndexOf('/');
      const body = parseBody<{ node: string; children: string[] }>(kv.value, `follow-up "${rel}"`);
      if (node !== undefined && body.node !== node) continue;
      out.push({ job: rel.slice(0, slash), group: Number(rel.slice(slash + 1)), node: body.node, children: body.children });
    }
    return out;
  }

  async deleteFollowUp(job: string, group: number): Promise<void> {
    this.assertOpen();
    assertName(job);
    await this.txn(this.budget(), 'deleteFollowUp', [], [this.opDelete(`${FOLLOWUPS}${job}/${String(group)}`)], [], true);
  }

  // ---- settings ----

  async getSetting(key: string): Promise<string | null> {
    this.assertOpen();
    return (await this.read(this.budget(), 'getSetting', SETTINGS + key)).value;
  }

  async setSetting(key: string, value: string | null, audit?: AuditEntry): Promise<void> {
    this.assertOpen();
    const op = value === null ? this.opDelete(SETTINGS + key) : this.opPut(SETTINGS + key, value);
    // Idempotent even with the audit entry: a resent put of the same entry id writes the same bytes.
    await this.txn(this.budget(), 'setSetting', [], [op, ...(audit ? this.auditOps(audit) : [])], [], true);
  }

  // ---- skipped ticks ----

  async recordSkips(jobName: string, skips: SkipRecord[]): Promise<Job | null> {
    this.assertOpen();
    assertName(jobName);
    const b = this.budget();
    const key = JOBS + jobName;
    const puts = skips.map((s) => this.opPut(`${SKIPS}${jobName}/${s.id}`, JSON.stringify(s)));
    // A record already stored (a retried write, a new leader recomputing the same gap) is one of ours:
    // the transaction requires the first record absent, and its failure branch reads it back, so
    // telling "already recorded" from "the job changed" costs no extra round trip.
    const probe = skips[0] ? `${SKIPS}${jobName}/${skips[0].id}` : null;
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.read(b, 'recordSkips', key);
      if (cur.value === null) return null;
      const current = parseBody<Job>(cur.value, `job "${jobName}"`);
      const body = JSON.stringify(countSkips(current, skips));
      const compare = [this.cmpMod(key, cur.mod), ...(probe ? [this.cmp(probe, CompareTarget.Version, { version: 0 })] : [])];
      try {
        const res = await this.txn(b, 'recordSkips', compare, [this.opPut(key, body), ...puts], probe ? [this.opRead(probe)] : [], false);
        if (res.succeeded) {
          await this.pruneSkips(b, jobName);
          return JSON.parse(body) as Job;
        }
        if ((res.responses[0]?.response_range?.kvs.length ?? 0) > 0) return current;
      } catch (err) {
        if (!this.mayRetryWrite(err, b)) throw err;
        continue;
      }
      await this.conflictPause(attempt);
    }
    throw new Error(`recordSkips("${jobName}"): still conflicting with concurrent writers after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  /** Keeps the newest SKIPS_KEPT records; trims in batches so most writes only count. */
  private async pruneSkips(b: Budget, jobName: string): Promise<void> {
    const { key, range_end } = this.prefixRange(`${SKIPS}${jobName}/`);
    const counted = await this.range(b, 'recordSkips', { key, range_end, count_only: true });
    const excess = Number(counted.count) - SKIPS_KEPT;
    if (excess < 100) return;
    const oldest = await this.range(b, 'recordSkips', { key, range_end, keys_only: true, limit: excess, sort_order: SortOrder.Ascend, sort_target: SortTarget.Key });
    const last = oldest.kvs.at(-1);
    if (!last) return;
    const end = Buffer.concat([last.key, Buffer.from([0])]);
    await this.txn(b, 'recordSkips', [], [{ request_delete_range: { key, range_end: end } }], [], true);
  }

  async listSkips(jobName: string, page: { start?: number; end?: number } = {}): Promise<Page<SkipRecord>> {
    this.assertOpen();
    assertName(jobName);
    return this.newestFirst<SkipRecord>('listSkips', `${SKIPS}${jobName}/`, page, 'skip record');
  }

  async activity(query: ActivityQuery): Promise<Activity> {
    this.assertOpen();
    const b = this.budget();
    return etcdActivity(query, {
      scan: async (rel, keysOnly) => (await this.scan(b, 'activity', rel, keysOnly ? 5000 : JOB_PAGE * 10, keysOnly)).kvs.map((kv) => ({ key: this.rel(kv.key), value: kv.value.toString() })),
      read: async (keys) => {
        const values: string[] = [];
        for (let i = 0; i < keys.length; i += this.maxTxnOps) {
          const res = await this.txn(b, 'activity', [], keys.slice(i, i + this.maxTxnOps).map((k) => this.opRead(k)), [], true);
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
    this.assertOpen();
    const { kvs } = await this.scan(this.budget(), 'listTokens', TOKENS, JOB_PAGE);
    return kvs.map((kv) => parseBody<StoredToken>(kv.value, 'API token'));
  }

  async createToken(token: StoredToken, audit: AuditEntry): Promise<boolean> {
    this.assertOpen();
    assertName(token.name);
    const b = this.budget();
    const key = TOKENS + token.name;
    const ops = [this.opPut(key, JSON.stringify(token)), ...this.auditOps(audit)];
    for (;;) {
      try {
        const res = await this.txn(b, 'createToken', [this.cmp(key, CompareTarget.Version, { version: 0 })], ops, [], false);
        return res.succeeded;
      } catch (err) {
        if (!this.mayRetryWrite(err, b)) throw err;
        // The reply was lost: if the name now holds our hash, the write was ours.
        const cur = await this.read(b, 'createToken', key);
        if (cur.value !== null) return parseBody<StoredToken>(cur.value, 'API token').hash === token.hash;
      }
    }
  }

  async deleteToken(name: string, audit: AuditEntry): Promise<StoredToken | null> {
    this.assertOpen();
    assertName(name);
    const b = this.budget();
    const key = TOKENS + name;
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.read(b, 'deleteToken', key);
      if (cur.value === null) return null;
      const token = parseBody<StoredToken>(cur.value, 'API token');
      try {
        const res = await this.txn(b, 'deleteToken', [this.cmpMod(key, cur.mod)], [this.opDelete(key), ...this.auditOps(audit)], [], false);
        if (res.succeeded) return token;
      } catch (err) {
        if (!this.mayRetryWrite(err, b)) throw err;
        // Lost reply: the next read tells (gone means ours, as far as anyone can tell).
        const again = await this.read(b, 'deleteToken', key);
        if (again.value === null) return token;
        continue;
      }
      await this.conflictPause(attempt);
    }
    throw new Error(`deleteToken("${name}"): still conflicting with concurrent writers after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    this.assertOpen();
    // Same key, same bytes on a resend: safe to retry like a read.
    await this.txn(this.budget(), 'appendAudit', [], this.auditOps(entry), [], true);
  }

  async listAudit(query: AuditQuery = {}): Promise<Page<AuditEntry>> {
    this.assertOpen();
    if (query.job !== undefined) assertName(query.job);
    const rel = query.job === undefined ? AUDIT_ALL : `${AUDIT_JOB}${query.job}/`;
    return this.newestFirst<AuditEntry>('listAudit', rel, query, 'audit entry');
  }

  /** A page of the records under a prefix whose keys sort by time, newest first, with the total. */
  private async newestFirst<T>(what: string, relPrefix: string, page: { start?: number; end?: number }, label: string): Promise<Page<T>> {
    const b = this.budget();
    const { key, range_end } = this.prefixRange(relPrefix);
    const counted = await this.range(b, what, { key, range_end, count_only: true });
    const total = Number(counted.count);
    const start = Math.max(0, page.start ?? 0);
    const end = Math.min(total, page.end ?? total);
    if (end <= start) return { items: [], total };
    // etcd has no offset: read the newest `end` keys (at the counted revision) and drop the first `start`.
    const res = await this.range(b, what, {
      key,
      range_end,
      limit: end,
      revision: counted.header.revision,
      sort_order: SortOrder.Descend,
      sort_target: SortTarget.Key,
    });
    return { items: res.kvs.slice(start).map((kv) => parseBody<T>(kv.value, label)), total };
  }

  private auditOps(entry: AuditEntry): IRequestOp[] {
    const body = JSON.stringify(entry);
    const ops = [this.opPut(AUDIT_ALL + entry.id, body)];
    if (entry.job !== null) ops.push(this.opPut(`${AUDIT_JOB}${entry.job}/${entry.id}`, body));
    return ops;
  }

  // ---- watches ----

  watchJobs(listener: (event: JobEvent) => void): () => void {
    if (this.closed) return () => undefined;
    const sub = this.subscribe();
    // Names this subscription has reported present: after a compaction gap, those now absent get a delete.
    const known = new Set<string>();
    // Replaying from the last revision this store saw means nothing written after any read the caller
    // makes next is missed; events it already saw come again, in order, which listeners tolerate.
    const floor = this.revision;

    const emit = (event: JobEvent): void => {
      if (sub.stopped) return;
      try {
        listener(event);
      } catch (err) {
        this.reportListenerError(err);
      }
    };

    const resync = async (): Promise<bigint> => {
      const { kvs, revision } = await this.scan(this.budget(), 'watchJobs', JOBS, JOB_PAGE);
      const present = new Set<string>();
      for (const kv of kvs) {
        const name = this.rel(kv.key).slice(JOBS.length);
        present.add(name);
        known.add(name);
        emit({ type: 'put', job: parseBody<Job>(kv.value, `job "${name}"`) });
      }
      for (const name of [...known]) {
        if (present.has(name)) continue;
        known.delete(name);
        emit({ type: 'delete', name });
      }
      return revision;
    };

    const start = async (afterGap: boolean): Promise<void> => {
      let delay = 100;
      while (!sub.stopped) {
        try {
          let revision: bigint;
          if (afterGap) revision = await resync();
          else {
            const seed = await this.scan(this.budget(), 'watchJobs', JOBS, JOB_PAGE, true);
            for (const kv of seed.kvs) known.add(this.rel(kv.key).slice(JOBS.length));
            // With nothing read through this store yet, "now" is the best floor there is.
            revision = floor > 0n ? floor : seed.revision;
          }
          if (sub.stopped) return;
          const from = revision + 1n;
          const watcher = this.ns
            .watch()
            .prefix(JOBS)
            .startRevision(from.toString())
            // watcher() rather than create(): see consumeAssignments.
            .watcher();
          sub.watcher = watcher;
          watcher.on('put', (kv: IKeyValue) => {
            try {
              const name = kv.key.toString().slice(JOBS.length);
              known.add(name);
              emit({ type: 'put', job: parseBody<Job>(kv.value, `job "${name}"`) });
            } catch (err) {
              this.warn({ err: messageOf(err) }, 'etcd store: ignoring an unreadable job in the watch');
            }
          });
          watcher.on('delete', (kv: IKeyValue) => {
            const name = kv.key.toString().slice(JOBS.length);
            known.delete(name);
            emit({ type: 'delete', name });
          });
          this.watchHealth(sub, watcher, from, 'jobs', () => undefined, () => {
            this.background(start(true), 'restarting the job watch');
          });
          return;
        } catch (err) {
          if (sub.stopped) return;
          this.warn({ err: messageOf(err), retry_ms: delay }, 'etcd store: cannot start the job watch; retrying');
          if (!(await pause(delay, sub.abort.signal))) return;
          delay = Math.min(delay * 2, 2000);
        }
      }
    };

    this.background(start(false), 'starting the job watch');
    return () => {
      this.background(this.unsubscribe(sub), 'cancelling the job watch');
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Watchers must be detached before the client closes, or etcd3 keeps re-dialling a closed pool.
    await Promise.all([...this.subscriptions].map((s) => this.unsubscribe(s)));
    this.client.close();
  }

  // ---- internals ----

  private subscribe(): Subscription {
    const sub: Subscription = { stopped: false, abort: new AbortController(), watcher: null, disconnected: false };
    this.subscriptions.add(sub);
    return sub;
  }

  private async unsubscribe(sub: Subscription): Promise<void> {
    if (sub.stopped) return;
    sub.stopped = true;
    sub.abort.abort();
    this.subscriptions.delete(sub);
    const watcher = sub.watcher;
    sub.watcher = null;
    if (watcher === null) return;
    // etcd3 waits for the server to confirm a cancel; with the stream down that can take a reconnect.
    const timer = new AbortController();
    await Promise.race([
      watcher.cancel().catch(() => undefined),
      sleep(this.callTimeoutMs, undefined, { signal: timer.signal }).catch(() => undefined),
    ]);
    timer.abort();
  }

  /**
   * Wires a watcher's connection events: a lost stream is logged once and
   * `onResumed` runs when it is back; a watcher etcd cancelled (its start
   * revision was compacted, typically) is dead, so `onDead` builds a new one.
   *
   * It also fixes where a reconnect resumes. etcd3 moves the resume point to
   * the header revision of every response, but a replay after a reconnect
   * comes in several responses that all carry the *current* revision: a
   * second disconnect mid-replay would skip the rest. Here the resume point
   * is one past the last event actually delivered (or an idle watch's
   * progress notification).
   */
  private watchHealth(
    sub: Subscription,
    watcher: Watcher,
    startRevision: bigint,
    what: string,
    onResumed: () => void,
    onDead: () => void,
  ): void {
    let delivered = startRevision - 1n;
    watcher.on('data', (res: IWatchResponse) => {
      for (const event of res.events) {
        const rev = BigInt(event.kv.mod_revision);
        if (rev > delivered) delivered = rev;
      }
      // An empty response that is neither a creation nor a cancellation is a progress
      // notification, which etcd sends only to a watcher that has caught up.
      if (res.events.length === 0 && !res.created && !res.canceled) {
        const rev = BigInt(res.header.revision);
        if (rev > delivered) delivered = rev;
      }
    });
    watcher.on('connecting', () => {
      // etcd3 emits this just before sending watcher.request, so the change goes out with it.
      watcher.request.start_revision = (delivered + 1n).toString();
    });
    watcher.on('disconnected', (err: Error) => {
      if (sub.stopped || sub.disconnected) return;
      sub.disconnected = true;
      this.warn({ watch: what, err: messageOf(err) }, 'etcd store: watch disconnected; reconnecting');
    });
    watcher.on('connected', () => {
      if (sub.stopped || !sub.disconnected) return;
      sub.disconnected = false;
      this.info({ watch: what }, 'etcd store: watch reconnected');
      onResumed();
    });
    watcher.on('error', (err: Error) => {
      if (sub.stopped || sub.watcher !== watcher) return;
      sub.watcher = null;
      this.warn({ watch: what, err: messageOf(err) }, 'etcd store: watch cancelled by etcd; re-listing and watching again');
      onDead();
    });
  }

  /** Logging never throws into a background loop (that would be an unhandled rejection). */
  private warn(obj: object, msg: string): void {
    try {
      this.log.warn(obj, msg);
    } catch {
      // A broken logger must not stop watches or claims.
    }
  }

  private info(obj: object, msg: string): void {
    try {
      this.log.info(obj, msg);
    } catch {
      // As warn().
    }
  }

  /** Runs a background task whose failures have nowhere to go but the log. */
  private background(task: Promise<unknown>, what: string): void {
    task.catch((err: unknown) => this.warn({ err: messageOf(err) }, `etcd store: ${what} failed`));
  }

  private reportListenerError(err: unknown): void {
    try {
      this.onListenerError(err);
    } catch {
      // The error hook itself failing must not break event delivery.
    }
  }

  private budget(): Budget {
    return { until: Date.now() + this.callTimeoutMs, extra: this.maxAttempts > 2 ? 1 : 0 };
  }

  private mayRetry(b: Budget): boolean {
    if (Date.now() < b.until) return true;
    if (b.extra <= 0) return false;
    b.extra -= 1;
    return true;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`etcd store ${this.prefix} is closed`);
  }

  /** A CAS write that failed in transit may be retried (by re-reading) while the budget lasts. */
  private mayRetryWrite(err: unknown, b: Budget): boolean {
    return err instanceof EtcdUnavailableError && !this.closed && this.mayRetry(b);
  }

  /** Lost a CAS race: after a few, spread the contenders out a little. */
  private async conflictPause(attempt: number): Promise<void> {
    if (attempt < 3) return;
    await sleep(Math.random() * Math.min(50, 2 ** attempt));
  }

  /**
   * Runs one RPC. Transient failures of idempotent requests are retried (the
   * client picks another member each time) while the budget lasts; a
   * non-idempotent one is reported at once so the caller can check what landed.
   */
  private async rpc<T>(b: Budget, what: string, fn: () => Promise<T>, idempotent: boolean): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.assertOpen();
      try {
        return await fn();
      } catch (err) {
        if (this.closed) throw new Error(`etcd store ${this.prefix} is closed`, { cause: err });
        if (!isTransient(err)) throw new Error(`etcd ${what} failed: ${messageOf(err)}`, { cause: err });
        if (!idempotent || attempt >= this.maxAttempts || !this.mayRetry(b)) throw new EtcdUnavailableError(what, err);
        await sleep(Math.min(50 * attempt, Math.max(0, b.until - Date.now())));
      }
    }
  }

  private note(header: IResponseHeader | undefined): void {
    if (header?.revision === undefined) return;
    const rev = BigInt(header.revision);
    if (rev > this.revision) this.revision = rev;
  }

  private async range(b: Budget, what: string, req: IRangeRequest): Promise<IRangeResponse> {
    const res = await this.rpc(b, what, () => this.client.kv.range(req), true);
    this.note(res.header);
    return res;
  }

  private async txn(
    b: Budget,
    what: string,
    compare: ICompare[],
    success: IRequestOp[],
    failure: IRequestOp[],
    idempotent: boolean,
  ): Promise<ITxnResponse> {
    const res = await this.rpc(b, what, () => this.client.kv.txn({ compare, success, failure }), idempotent);
    this.note(res.header);
    return res;
  }

  private async read(b: Budget, what: string, rel: string): Promise<KeyState> {
    const res = await this.range(b, what, { key: this.k(rel) });
    return this.keyState(res.kvs[0]);
  }

  private keyState(kv: IKeyValue | undefined): KeyState {
    return kv === undefined ? { value: null, mod: '0' } : { value: kv.value.toString(), mod: kv.mod_revision };
  }

  /** Every key-value under a prefix, in key order, read page by page at one revision. */
  private async scan(
    b: Budget,
    what: string,
    relPrefix: string,
    pageSize: number,
    keysOnly = false,
  ): Promise<{ kvs: IKeyValue[]; revision: bigint }> {
    const { key, range_end } = this.prefixRange(relPrefix);
    let start = key;
    let revision: string | undefined;
    const kvs: IKeyValue[] = [];
    for (;;) {
      const res = await this.range(b, what, { key: start, range_end, limit: pageSize, revision, keys_only: keysOnly });
      revision ??= res.header.revision;
      kvs.push(...res.kvs);
      const last = res.kvs.at(-1);
      if (!res.more || last === undefined) break;
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
    return { kvs, revision: BigInt(revision ?? '0') };
  }

  private async jobExecutions(b: Budget, what: string, jobName: string): Promise<Execution[]> {
    const { kvs } = await this.scan(b, what, `${EXECUTIONS}${jobName}/`, EXECUTION_PAGE);
    return kvs.map((kv) => parseBody<Execution>(kv.value, `execution of "${jobName}"`));
  }

  private async executionStored(b: Budget, execution: Execution | undefined): Promise<boolean> {
    if (execution === undefined) return true;
    const cur = await this.read(b, 'commitTick', `${EXECUTIONS}${execution.job_name}/${execution.id}`);
    return cur.value === JSON.stringify(execution);
  }

  /**
   * The puts for executions: the record, its running-index entry (or its
   * removal once finished) and, when `route`, the assignment to its agent.
   * Duplicates collapse to the last one (etcd rejects a txn touching a key twice).
   */
  private executionOps(executions: Execution[], route: boolean): IRequestOp[] {
    const byKey = new Map<string, Execution>();
    for (const e of executions) {
      assertName(e.job_name);
      assertId(e.id);
      byKey.set(`${e.job_name}/${e.id}`, e);
    }
    const ops: IRequestOp[] = [];
    for (const [ref, e] of byKey) {
      ops.push(this.opPut(EXECUTIONS + ref, JSON.stringify(e)));
      if (isRunning(e)) {
        const entry: RunningEntry = { node: e.node_name, group: e.group };
        ops.push(this.opPut(RUNNING + ref, JSON.stringify(entry)));
        if (route) ops.push(this.opPut(`${ASSIGN}${nodeSegment(e.node_name)}/${ref}`, e.node_name));
      } else {
        // A finished execution leaves no queue entry behind, so an agent that restarts
        // (and closed it as lost) is never handed it again.
        const entry: GroupEntry = { s: toMillis(e.started_at) ?? 0 };
        ops.push(
          this.opDelete(RUNNING + ref),
          this.opDelete(`${ASSIGN}${nodeSegment(e.node_name)}/${ref}`),
          this.opPut(groupKey(e.job_name, e.group, e.id), JSON.stringify(entry)),
        );
      }
    }
    return ops;
  }

  private assertTxnSize(ops: number, what: string, executions: number): void {
    if (ops <= this.maxTxnOps) return;
    throw new Error(
      `${what}: ${executions} executions need ${ops} operations in one etcd transaction, over the limit of ${this.maxTxnOps}; ` +
        `raise etcd's --max-txn-ops and the store's maxTxnOps together, or target fewer agents`,
    );
  }

  private k(rel: string): Buffer {
    return Buffer.from(this.prefix + rel);
  }

  private rel(key: Buffer): string {
    return key.subarray(this.prefixBytes.length).toString();
  }

  private prefixRange(rel: string): { key: Buffer; range_end: Buffer } {
    const r = Range.prefix(this.k(rel));
    return { key: r.start, range_end: r.end };
  }

  private opPut(rel: string, value: string): IRequestOp {
    return { request_put: { key: this.k(rel), value: Buffer.from(value) } };
  }

  private opDelete(rel: string): IRequestOp {
    return { request_delete_range: { key: this.k(rel) } };
  }

  private opDeletePrefix(rel: string): IRequestOp {
    return { request_delete_range: this.prefixRange(rel) };
  }

  private opRead(rel: string): IRequestOp {
    return { request_range: { key: this.k(rel) } };
  }

  private cmpMod(rel: string, mod: string): ICompare {
    return this.cmp(rel, CompareTarget.Mod, { mod_revision: mod });
  }

  private cmp(
    rel: string,
    target: CompareTarget,
    value: Pick<ICompare, 'mod_revision' | 'create_revision' | 'version'>,
    result: CompareResult = CompareResult.Equal,
  ): ICompare {
    return { key: this.k(rel), target, result, ...value };
  }
}
