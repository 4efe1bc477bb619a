/**
 * One ZooKeeper session for a store and its cluster: the connection, its
 * deadlines and retries, and a new session after expiry.
 *
 * node-zookeeper-client queues requests while disconnected (forever) and has no
 * read timeout (a frozen server leaves calls hanging). So:
 *  - a call is only handed to the client while connected; otherwise it waits for
 *    the connection within its budget, then fails with "zookeeper unavailable";
 *    a call that timed out on our side was therefore either sent (its outcome is
 *    checked by the caller through versions) or never sent, not sent much later;
 *  - a watchdog probes the server and drops a connection that stops answering,
 *    so the client moves to another member within the session timeout;
 *  - an expired session (the client is dead then) is replaced by a new client;
 *    listeners get 'connected' with newSession = true and re-create what the old
 *    session owned (ephemerals, watches).
 * Reads (and writes whose repetition is harmless) are retried on CONNECTION_LOSS
 * while their budget lasts; other writes report "unavailable" at once so the
 * caller can check what landed.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import zookeeper from 'node-zookeeper-client';
import type { Client, Event as ZkEvent, Stat, State } from 'node-zookeeper-client';
import type { StoreLog } from '../../store/kv-shared.js';
import { CODES, TRANSIENT, ZookeeperError, ZookeeperUnavailableError, codeOf, isCode } from './errors.js';

export const CreateMode = zookeeper.CreateMode;

export { CODES, ZookeeperError, ZookeeperUnavailableError, isCode } from './errors.js';

export interface Budget {
  /** Failed calls are retried (and waits for the connection last) only until this instant. */
  until: number;
}

export type Op =
  | { type: 'create'; path: string; data: Buffer; mode?: number }
  | { type: 'set'; path: string; data: Buffer; version: number }
  | { type: 'remove'; path: string; version: number }
  | { type: 'check'; path: string; version: number };

/** A multi either applied, or failed as a whole at op `index` with ZooKeeper error `code`. */
export type MultiResult = { ok: true } | { ok: false; index: number; code: number };

export interface SessionOptions {
  /** host:port of each server. */
  servers: string[];
  /** Asked of the server, which clamps it to [2, 20] × its tickTime. */
  sessionTimeoutMs: number;
  /** Budget of one store call (connection wait plus retries). */
  callTimeoutMs: number;
  /** A path the watchdog probes (the root znode). */
  probePath: string;
  log: StoreLog;
}

type Done<T> = (err: unknown, value?: T) => void;

class DeadlineError extends Error {}

export class ZkSession extends EventEmitter {
  readonly callTimeoutMs: number;
  readonly servers: string;
  private client: Client;
  private connected = false;
  private sessionHex: string | null = null;
  private closed = false;
  private waiters: (() => void)[] = [];
  private readonly watchdog: NodeJS.Timeout;
  private probing = false;
  private handshake: { socket: object; since: number } | null = null;
  private readonly ensured = new Set<string>();
  /** When ZooKeeper last answered a request of ours (0: never). */
  lastOk = 0;
  /** Incremented with every new session (the first included). */
  generation = 0;

  constructor(private readonly o: SessionOptions) {
    super();
    this.setMaxListeners(0);
    if (o.servers.length === 0) throw new Error('zookeeper backend: at least one server (host:port) is required');
    this.servers = o.servers.join(',');
    this.callTimeoutMs = o.callTimeoutMs;
    this.client = this.newClient();
    const every = Math.max(100, Math.floor(o.sessionTimeoutMs / 6));
    this.watchdog = setInterval(() => void this.probe(every), every);
    this.watchdog.unref();
  }

  /** The session timeout the server granted (the asked one until connected). */
  get sessionTimeoutMs(): number {
    return this.connected ? this.client.getSessionTimeout() : this.o.sessionTimeoutMs;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Hex id of the current session (null before the first connection). */
  get sessionId(): string | null {
    return this.sessionHex;
  }

  /**
   * The newest transaction id any reply has carried: everything this session has read
   * reflects the data as of at least this zxid. (The library keeps it, privately, to
   * resume sessions; watchJobs uses it as the point its events start after.)
   */
  lastZxid(): bigint {
    return zxidNum(internals(this.client).connectionManager?.zxid);
  }

  budget(ms = this.callTimeoutMs): Budget {
    return { until: Date.now() + ms };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    this.connected = false;
    for (const w of this.waiters.splice(0)) w();
    if (this.client.getState() === zookeeper.State.SYNC_CONNECTED) {
      // Ends the session at once: its ephemeral nodes go now, not after the timeout.
      this.client.close();
      return;
    }
    // The library's close() writes to a socket that may not exist yet (it throws) or is still
    // in its handshake (the server then answers garbage); and a disconnected client retries
    // forever. So a client that is not connected is silenced instead: no more reconnects,
    // and its socket, if any, dropped. Its session, if any, expires on the server.
    const cm = internals(this.client).connectionManager;
    if (!cm) return;
    cm.state = -2; // ConnectionManager.STATES.CLOSED: new requests fail at once
    cm.connect = () => undefined;
    cm.onSocketClosed = () => undefined;
    cm.onSocketData = () => undefined;
    cm.onSocketConnected = function (this: LibraryConnection) {
      this.socket?.destroy();
    };
    cm.socket?.destroy();
  }

  private newClient(): Client {
    const c = zookeeper.createClient(this.servers, { sessionTimeout: this.o.sessionTimeoutMs, spinDelay: 250, retries: 0 });
    c.on('state', (state: State) => this.onState(c, state));
    c.connect();
    return c;
  }

  private onState(c: Client, state: State): void {
    if (c !== this.client || this.closed) return;
    const S = zookeeper.State;
    if (state === S.SYNC_CONNECTED) {
      const id = c.getSessionId().toString('hex');
      const newSession = id !== this.sessionHex;
      this.sessionHex = id;
      this.connected = true;
      this.lastOk = Date.now();
      if (newSession) {
        this.generation++;
        const granted = c.getSessionTimeout();
        this.o.log.info({ session: id, timeout_ms: granted }, 'zookeeper: session established');
        if (granted !== this.o.sessionTimeoutMs) {
          this.o.log.warn({ asked_ms: this.o.sessionTimeoutMs, granted_ms: granted }, 'zookeeper: the server changed the session timeout (--lease-ttl): it allows 2 to 20 ticks (tickTime in zoo.cfg)');
        }
      }
      for (const w of this.waiters.splice(0)) w();
      this.emit('connected', newSession);
    } else if (state === S.EXPIRED) {
      this.connected = false;
      this.o.log.warn({ session: this.sessionHex }, 'zookeeper: session expired; starting a new one');
      this.emit('expired');
      // The old client closes itself (the library never reconnects an expired session).
      this.client = this.newClient();
    } else if (state === S.AUTH_FAILED) {
      this.connected = false;
      this.o.log.warn({ servers: this.servers }, 'zookeeper: authentication failed');
    } else if (this.connected) {
      // DISCONNECTED, or read-only (a partitioned server): no writes possible, treat alike.
      this.connected = false;
      this.emit('disconnected');
    }
  }

  /** Drops a connection whose server stopped answering (the client would wait on it forever). */
  private async probe(every: number): Promise<void> {
    if (this.closed) return;
    if (!this.connected) {
      this.kickStalledHandshake();
      return;
    }
    if (this.probing || Date.now() - this.lastOk < every) return;
    this.probing = true;
    const c = this.client;
    const limit = Math.max(200, Math.floor(this.sessionTimeoutMs / 2));
    try {
      await this.withDeadline<Stat>((done) => c.exists(this.o.probePath, done), limit);
      this.lastOk = Date.now();
    } catch (err) {
      if (err instanceof DeadlineError && c === this.client && this.connected) {
        this.o.log.warn({ silent_ms: Date.now() - this.lastOk }, 'zookeeper: the server stopped answering; reconnecting to another');
        // The library keeps no read timeout; destroying its socket makes it reconnect (same session).
        internals(c).connectionManager?.socket?.destroy();
      }
    } finally {
      this.probing = false;
    }
  }

  /**
   * The library times out a TCP connect but not the session handshake after it: a server
   * that accepts the connection and never answers (one still starting, seen after a
   * restart) holds the client forever. Such a socket is dropped so it tries again.
   */
  private kickStalledHandshake(): void {
    const socket = internals(this.client).connectionManager?.socket;
    if (!socket || socket.destroyed || socket.connecting) {
      this.handshake = null;
      return;
    }
    if (this.handshake?.socket !== socket) {
      this.handshake = { socket, since: Date.now() };
      return;
    }
    if (Date.now() - this.handshake.since < Math.max(500, this.o.sessionTimeoutMs / 3)) return;
    this.handshake = null;
    this.o.log.warn({ servers: this.servers }, 'zookeeper: a server accepted the connection but did not answer the session handshake; trying again');
    socket.destroy();
  }

  private waitConnected(until: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    const ms = until - Date.now();
    if (ms <= 0 || this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve(this.connected);
      }, ms);
      const wake = (): void => {
        clearTimeout(timer);
        resolve(this.connected);
      };
      this.waiters.push(wake);
    });
  }

  private withDeadline<T>(fn: (done: Done<T>) => void, ms: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new DeadlineError(`no answer within ${ms} ms`)), ms);
      try {
        fn((err, value) => {
          clearTimeout(timer);
          if (err) reject(err instanceof Error ? err : new Error(String(err)));
          else resolve(value as T);
        });
      } catch (err) {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /**
   * Runs one request within the budget. A transient failure of an idempotent
   * request is retried; of another, reported at once (ZookeeperUnavailableError)
   * so the caller can check what landed. Other ZooKeeper errors become ZookeeperError.
   */
  async call<T>(b: Budget, what: string, path: string, idempotent: boolean, fn: (c: Client, done: Done<T>) => void): Promise<T> {
    for (;;) {
      if (this.closed) throw new Error(`zookeeper backend: session to ${this.servers} is closed (${what} ${path})`);
      if (!this.connected && !(await this.waitConnected(b.until))) {
        throw new ZookeeperUnavailableError(what, path, `not connected to any server of ${this.servers} within ${this.callTimeoutMs} ms`);
      }
      const c = this.client;
      try {
        const value = await this.withDeadline<T>((done) => fn(c, done), Math.max(250, b.until - Date.now()));
        this.lastOk = Date.now();
        return value;
      } catch (err) {
        const code = codeOf(err);
        if (!(err instanceof DeadlineError) && (code === null || !TRANSIENT.has(code))) {
          if (code !== null) this.lastOk = Date.now();
          throw new ZookeeperError(code ?? 0, what, path, err);
        }
        if (this.closed) throw new Error(`zookeeper backend: session to ${this.servers} is closed (${what} ${path})`, { cause: err });
        if (!idempotent || Date.now() >= b.until) throw new ZookeeperUnavailableError(what, path, err);
        await sleep(Math.min(50, Math.max(0, b.until - Date.now())));
      }
    }
  }

  async getData(b: Budget, what: string, path: string, watcher?: (e: ZkEvent) => void): Promise<{ data: Buffer; stat: Stat } | null> {
    try {
      return await this.call<{ data: Buffer; stat: Stat }>(b, what, path, true, (c, done) => {
        const cb = (err: unknown, data: Buffer, stat: Stat): void => done(err, { data: data ?? Buffer.alloc(0), stat });
        if (watcher) c.getData(path, watcher, cb);
        else c.getData(path, cb);
      });
    } catch (err) {
      if (isCode(err, CODES.NO_NODE)) return null;
      throw err;
    }
  }

  async getChildren(b: Budget, what: string, path: string, watcher?: (e: ZkEvent) => void): Promise<{ children: string[]; stat: Stat } | null> {
    try {
      return await this.call<{ children: string[]; stat: Stat }>(b, what, path, true, (c, done) => {
        const cb = (err: unknown, children: string[], stat: Stat): void => done(err, { children: children ?? [], stat });
        if (watcher) c.getChildren(path, watcher, cb);
        else c.getChildren(path, cb);
      });
    } catch (err) {
      if (isCode(err, CODES.NO_NODE)) return null;
      throw err;
    }
  }

  async exists(b: Budget, what: string, path: string, watcher?: (e: ZkEvent) => void): Promise<Stat | null> {
    const stat = await this.call<Stat | undefined>(b, what, path, true, (c, done) => {
      if (watcher) c.exists(path, watcher, done);
      else c.exists(path, done);
    });
    return stat ?? null;
  }

  create(b: Budget, what: string, path: string, data: Buffer, mode: number, idempotent: boolean): Promise<string> {
    return this.call<string>(b, what, path, idempotent, (c, done) => c.create(path, data, mode, done));
  }

  setData(b: Budget, what: string, path: string, data: Buffer, version: number): Promise<Stat> {
    return this.call<Stat>(b, what, path, version === -1, (c, done) => c.setData(path, data, version, done));
  }

  remove(b: Budget, what: string, path: string, version: number): Promise<void> {
    return this.call<void>(b, what, path, false, (c, done) => c.remove(path, version, (err) => done(err)));
  }

  /** Creates the node and its missing ancestors (empty, persistent); cached, so cheap when repeated. */
  async ensure(b: Budget, path: string): Promise<void> {
    if (this.ensured.has(path)) return;
    const parts = path.split('/').filter((p) => p !== '');
    let cur = '';
    for (const part of parts) {
      cur += `/${part}`;
      if (this.ensured.has(cur)) continue;
      try {
        await this.create(b, 'creating a parent node', cur, Buffer.alloc(0), CreateMode.PERSISTENT, true);
      } catch (err) {
        if (!isCode(err, CODES.NODE_EXISTS)) throw err;
      }
      this.ensured.add(cur);
    }
  }

  /** Forget that these nodes exist (someone removed them: a multi found a parent missing). */
  forgetEnsured(path: string): void {
    for (const p of [...this.ensured]) if (p === path || p.startsWith(`${path}/`)) this.ensured.delete(p);
  }

  /** One atomic multi. Op failures are a result (which op, which code); transport failures throw. */
  multi(b: Budget, what: string, ops: Op[], idempotent: boolean): Promise<MultiResult> {
    const first = ops[0]?.path ?? '/';
    return this.call<MultiResult>(b, what, first, idempotent, (c, done) => {
      const tx = c.transaction();
      for (const op of ops) {
        if (op.type === 'create') tx.create(op.path, op.data, op.mode ?? CreateMode.PERSISTENT);
        else if (op.type === 'set') tx.setData(op.path, op.data, op.version);
        else if (op.type === 'remove') tx.remove(op.path, op.version);
        else tx.check(op.path, op.version);
      }
      // The library's builder turns version 0 into -1 ("any version"): set the versions ourselves.
      const raw = (tx as unknown as { ops: Array<{ version?: number }> }).ops;
      ops.forEach((op, i) => {
        const r = raw[i];
        if (r && op.type !== 'create') r.version = op.version;
      });
      tx.commit((err: unknown, results: unknown) => {
        if (err && Array.isArray(results)) {
          const rs = results as Array<{ err?: number }>;
          const index = rs.findIndex((r) => typeof r.err === 'number' && r.err !== 0);
          const code = codeOf(err) ?? rs[index]?.err ?? 0;
          this.lastOk = Date.now();
          done(null, { ok: false, index: Math.max(0, index), code });
          return;
        }
        done(err, { ok: true });
      });
    });
  }
}

/**
 * The parts of node-zookeeper-client's connection manager the session reaches into
 * (see kickStalledHandshake, probe and close): the library exposes no timeout for a
 * handshake or a silent server, and no way to stop a client that never connected.
 */
interface LibraryConnection {
  state: number;
  socket?: { destroy(): void; destroyed: boolean; connecting: boolean };
  zxid?: Buffer;
  connect(): void;
  onSocketClosed(): void;
  onSocketData(): void;
  onSocketConnected(): void;
}

function internals(c: Client): { connectionManager?: LibraryConnection } {
  return c as unknown as { connectionManager?: LibraryConnection };
}

/** A znode's czxid as a hex string (a stable identity of one incarnation of a node). */
export function zxidHex(z: Buffer | undefined): string {
  return z ? z.toString('hex') : '';
}

export function zxidNum(z: Buffer | undefined): bigint {
  return z && z.length === 8 ? z.readBigInt64BE(0) : 0n;
}
