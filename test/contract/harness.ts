/**
 * What a backend gives the contract suite (backend-contract.ts), and the small
 * tools the cases share. A backend's test file is a harness and one call:
 * `backendContract({ label, openStore, ... })`.
 */
import type { Store } from '../../src/store/types.js';
import type { Backend, ClusterMember } from '../../src/backends/types.js';
import { silentLogger } from '../../src/util/log.js';

/** Store options every backend takes (SqliteStore.open, EtcdStore.connect). */
export interface StoreOptions {
  /** Receives what a watchJobs listener throws. */
  onListenerError?: (error: unknown) => void;
}

export interface ContractHarness {
  /** The backend's name: test titles start with it, and `Store.kind` must equal it. */
  readonly label: string;
  /** A fresh, empty store whose data is its own (a new keyspace or database). */
  openStore(options?: StoreOptions): Promise<Store>;
  /**
   * Another connection to `store`'s data, as a second agent holds it. Absent where one
   * process owns the data (embedded): the cases then use `store` itself as the other agent.
   */
  openPeer?(store: Store): Promise<Store>;
  /** Closes a store the suite opened. Default: `store.close()`. */
  closeStore?(store: Store): Promise<void>;
  /**
   * Stops the backend's server(s) and starts them again, keeping the data; `whileDown`
   * runs while nothing answers. Absent: the restart cases are skipped.
   */
  restartServer?(whileDown?: () => Promise<void>): Promise<void>;
  /** Membership and election. Absent where an agent is a cluster of its own (embedded). */
  cluster?: ClusterHarness;
}

export interface ClusterHarness {
  /** Opens the backend on `keyspace` as an agent does; backends opened on one keyspace form one cluster. */
  openBackend(keyspace: string): Promise<Backend>;
  /** The lease TTL (session timeout) the backends were opened with: how soon a dead member goes. */
  readonly leaseTtlMs: number;
  /** Cuts `backend`'s connection as a crash or a partition does: no goodbye (no lease revoke, no session close). */
  sever(backend: Backend): Promise<void>;
  /**
   * Cuts `backend` off as a network partition does (every connection dropped, new ones
   * refused; no goodbye) and resolves with a function that lets it reach the server again.
   * Absent: the partition cases are skipped.
   */
  partition?(backend: Backend): Promise<() => Promise<void>>;
  /** Releases a backend after its clusters stopped. Default: closes its store. */
  closeBackend?(backend: Backend): Promise<void>;
}

/** Runs `fn` with a fresh store, closed afterwards whatever happens. */
export function withStore(h: ContractHarness, fn: (store: Store) => Promise<void>, options?: StoreOptions): () => Promise<void> {
  return async () => {
    const store = await h.openStore(options);
    try {
      await fn(store);
    } finally {
      await closeStore(h, store);
    }
  };
}

export async function closeStore(h: ContractHarness, store: Store): Promise<void> {
  await (h.closeStore ? h.closeStore(store) : store.close());
}

/** Runs `fn` with `store` and a second agent's view of its data (the store itself where there is no other). */
export async function withPeer(h: ContractHarness, store: Store, fn: (peer: Store) => Promise<void>): Promise<void> {
  const peer = h.openPeer ? await h.openPeer(store) : store;
  try {
    await fn(peer);
  } finally {
    if (peer !== store) await closeStore(h, peer);
  }
}

/** Collects values pushed by a callback and lets a test await the n-th one (no sleeps). */
export class Collector<T> {
  readonly items: T[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];

  push = (item: T): void => {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (this.items.length < w.n) return true;
      w.resolve();
      return false;
    });
  };

  async waitFor(n: number, timeoutMs = 10_000, what = `${n} items`): Promise<T[]> {
    if (this.items.length < n) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.waiters.push({ n, resolve })),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.items)}`)),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    }
    return this.items;
  }
}

/** An agent's description of itself for Backend.cluster(). */
export function member(nodeName: string): ClusterMember {
  return { nodeName, addr: '127.0.0.1', port: () => 0, tags: {}, server: true, version: 'contract', running: () => 0, log: silentLogger() };
}
