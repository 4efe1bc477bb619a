/**
 * The call layer of the etcd store: the etcd3 client, and every RPC the store
 * makes, with its deadline, retries and budget. The parts of the store (jobs,
 * executions, queue, records, watches) build ops and compares here and never
 * touch the client's KV API themselves.
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
  type ICompare,
  type IKeyValue,
  type IRangeRequest,
  type IRangeResponse,
  type IRequestOp,
  type IResponseHeader,
  type ITxnResponse,
  type Namespace,
} from 'etcd3';
import { UnavailableError } from '../../errors/catalogue.js';
import { messageOf } from '../../store/kv-shared.js';
import { HostBreakers, isTransient, oncePolicy, watchBackoff } from './fault.js';
import { SETTINGS } from './keys.js';
import type { EtcdStoreOptions } from './options.js';
import { BARE_CONNECT_FAILURE, explainConnectFailure } from './tls-diagnosis.js';

/**
 * etcd could not be reached or did not answer within the deadline. The API answers 503
 * (KAIROS_STORE_UNAVAILABLE): the request was fine, the backend is away (and agents retry on their own).
 */
export class EtcdUnavailableError extends UnavailableError {
  constructor(what: string, cause: unknown) {
    super(`etcd unavailable: ${what}: ${messageOf(cause)}`);
    // As Error's own { cause } option would set it (KairosError takes no options).
    Object.defineProperty(this, 'cause', { value: cause, writable: true, configurable: true });
    this.name = 'EtcdUnavailableError';
  }
}

export const JOB_PAGE = 500;
/** Executions carry up to --output-limit bytes of output each; smaller pages keep responses bounded. */
export const EXECUTION_PAGE = 100;

export interface Budget {
  /** Failed RPCs are retried only until this instant. */
  until: number;
  /**
   * Retries allowed after `until`: with several members, one call that ran
   * into a hung member's deadline still gets one try on another member.
   */
  extra: number;
}

export interface KeyState {
  value: string | null;
  /** mod_revision; "0" when the key is absent, which is what a compare sees too. */
  mod: string;
}

export function parseBody<T>(body: string | Buffer, what: string): T {
  try {
    return JSON.parse(body.toString()) as T;
  } catch (err) {
    throw new Error(`etcd store: corrupt ${what}: ${messageOf(err)}`, { cause: err });
  }
}

/** What the call layer takes of the store's options: where etcd is and how to reach it. */
export type CallOptions = Omit<EtcdStoreOptions, 'onListenerError' | 'log'>;

export class EtcdCalls {
  /** The root client (no namespace), shared with the cluster module. */
  readonly client: Etcd3;
  /** The client namespaced to `<keyspace>/`: leases, election and watches use it. */
  readonly ns: Namespace;

  private readonly prefix: string;
  private readonly prefixBytes: Buffer;
  /** Deadline of each RPC; also how long a watch cancel is waited for. */
  readonly callTimeoutMs: number;
  private readonly maxAttempts: number;
  /** etcd's --max-txn-ops: parts batch their transactions to it. */
  readonly maxTxnOps: number;
  private highestRevision = 0n;
  /** Open sightings (sightRevisions): each keeps the lowest revision of the replies since it began. */
  private readonly sightings = new Set<{ lowest: bigint | null }>();
  private isClosed = false;

  constructor(options: CallOptions) {
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

  /** Highest cluster revision seen in any reply; a new job watch starts after it. */
  get revision(): bigint {
    return this.highestRevision;
  }

  /**
   * The lowest revision of any reply from now until `stop`, null while there is none. A job watch
   * opened before this store saw any revision starts at most there: a caller that reads (a CAS
   * write does) after opening it sees its answer at that revision or later, so a write it makes
   * next is never older than where the watch starts.
   */
  sightRevisions(): { lowest(): bigint | null; stop(): void } {
    const sighting = { lowest: null as bigint | null };
    this.sightings.add(sighting);
    return { lowest: () => sighting.lowest, stop: () => this.sightings.delete(sighting) };
  }

  /** True once the store is closed: every call then rejects. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Refuses every further call (the store's close(); the client itself is closed after the watches). */
  markClosed(): void {
    this.isClosed = true;
  }

  /** A cheap linearizable read; rejects with "etcd unavailable" when the cluster can't answer. */
  async ping(): Promise<void> {
    this.assertOpen();
    await this.range(this.budget(), 'ping', { key: this.k(SETTINGS), limit: 1, keys_only: true });
  }

  budget(): Budget {
    return { until: Date.now() + this.callTimeoutMs, extra: this.maxAttempts > 2 ? 1 : 0 };
  }

  private mayRetry(b: Budget): boolean {
    if (Date.now() < b.until) return true;
    if (b.extra <= 0) return false;
    b.extra -= 1;
    return true;
  }

  assertOpen(): void {
    if (this.closed) throw new Error(`etcd store ${this.prefix} is closed`);
  }

  /** A CAS write that failed in transit may be retried (by re-reading) while the budget lasts. */
  mayRetryWrite(err: unknown, b: Budget): boolean {
    return err instanceof EtcdUnavailableError && !this.closed && this.mayRetry(b);
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
    if (rev > this.highestRevision) this.highestRevision = rev;
    for (const s of this.sightings) if (s.lowest === null || rev < s.lowest) s.lowest = rev;
  }

  async range(b: Budget, what: string, req: IRangeRequest): Promise<IRangeResponse> {
    const res = await this.rpc(b, what, () => this.client.kv.range(req), true);
    this.note(res.header);
    return res;
  }

  async txn(
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

  async read(b: Budget, what: string, rel: string): Promise<KeyState> {
    const res = await this.range(b, what, { key: this.k(rel) });
    return this.keyState(res.kvs[0]);
  }

  /**
   * Splits items into transactions within --max-txn-ops, in order: `ops` of each item add up to at
   * most maxTxnOps per transaction, and at most `maxItems` items go in one (etcd counts a txn's
   * compares apart from its operations; an item that compares once needs it).
   */
  packTxns<T>(items: readonly T[], ops: (item: T) => number, maxItems = Infinity): T[][] {
    const txns: T[][] = [];
    let current: T[] = [];
    let used = 0;
    for (const item of items) {
      const n = ops(item);
      if (current.length > 0 && (used + n > this.maxTxnOps || current.length + 1 > maxItems)) {
        txns.push(current);
        current = [];
        used = 0;
      }
      current.push(item);
      used += n;
    }
    if (current.length > 0) txns.push(current);
    return txns;
  }

  /**
   * Several keys in one round trip: a read-only txn per chunk of maxTxnOps (one snapshot each).
   * Answers each distinct key's state; an absent key has value null and mod '0'.
   */
  async readMany(b: Budget, what: string, rels: string[], revision?: string): Promise<Map<string, KeyState>> {
    const keys = [...new Set(rels)];
    const chunks: string[][] = [];
    for (let i = 0; i < keys.length; i += this.maxTxnOps) chunks.push(keys.slice(i, i + this.maxTxnOps));
    const answers = await Promise.all(
      chunks.map(async (chunk) => {
        const reads = chunk.map((rel): IRequestOp => ({ request_range: { key: this.k(rel), revision } }));
        return (await this.txn(b, what, [], reads, [], true)).responses;
      }),
    );
    // In the order asked, whatever order the chunks came back in.
    const out = new Map<string, KeyState>();
    chunks.forEach((chunk, c) => chunk.forEach((rel, i) => out.set(rel, this.keyState(answers[c]?.[i]?.response_range?.kvs[0]))));
    return out;
  }

  keyState(kv: IKeyValue | undefined): KeyState {
    return kv === undefined ? { value: null, mod: '0' } : { value: kv.value.toString(), mod: kv.mod_revision };
  }

  /** Every key-value under a prefix, in key order, read page by page at one revision. */
  async scan(
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

  assertTxnSize(ops: number, what: string, executions: number): void {
    if (ops <= this.maxTxnOps) return;
    throw new Error(
      `${what}: ${executions} executions need ${ops} operations in one etcd transaction, over the limit of ${this.maxTxnOps}; ` +
        `raise etcd's --max-txn-ops and the store's maxTxnOps together, or target fewer agents`,
    );
  }

  k(rel: string): Buffer {
    return Buffer.from(this.prefix + rel);
  }

  rel(key: Buffer): string {
    return key.subarray(this.prefixBytes.length).toString();
  }

  prefixRange(rel: string): { key: Buffer; range_end: Buffer } {
    const r = Range.prefix(this.k(rel));
    return { key: r.start, range_end: r.end };
  }

  opPut(rel: string, value: string): IRequestOp {
    return { request_put: { key: this.k(rel), value: Buffer.from(value) } };
  }

  opDelete(rel: string): IRequestOp {
    return { request_delete_range: { key: this.k(rel) } };
  }

  opDeletePrefix(rel: string): IRequestOp {
    return { request_delete_range: this.prefixRange(rel) };
  }

  opRead(rel: string): IRequestOp {
    return { request_range: { key: this.k(rel) } };
  }

  cmpMod(rel: string, mod: string): ICompare {
    return this.cmp(rel, CompareTarget.Mod, { mod_revision: mod });
  }

  cmp(
    rel: string,
    target: CompareTarget,
    value: Pick<ICompare, 'mod_revision' | 'create_revision' | 'version'>,
    result: CompareResult = CompareResult.Equal,
  ): ICompare {
    return { key: this.k(rel), target, result, ...value };
  }
}
