/**
 * What a backend is to the rest of Kairos: a name, and a factory that opens
 * its store and, for an agent, its cluster (membership, election, fencing)
 * together. The agent knows backends only through this interface, so adding
 * one is a folder beside embedded/ and etcd/ plus a line in catalog.ts.
 */
import type { Store } from '../store/types.js';
import type { Cluster } from '../cluster/types.js';
import type { SelfDescription } from '../cluster/member.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../util/log.js';
import type { BackendAuthFiles } from '../util/tls-files.js';

/** How to reach a backend that wants TLS or credentials (file paths, read by the backend). */
export type BackendAuthConfig = BackendAuthFiles;

/** The agent options a backend reads (declared per backend in catalog.ts). */
export interface BackendOptions {
  /** host:port of each server of the backend (empty: the backend's default). */
  machines: string[];
  /** Root of Kairos' keys (etcd key prefix, ZooKeeper root znode). */
  keyspace: string;
  /** How fast a dead agent or leader is noticed: etcd lease TTL, ZooKeeper session timeout. */
  leaseTtlMs: number;
  auth: BackendAuthConfig;
  /** Directory of the embedded store. */
  dataDir: string;
}

/** What an agent tells its backend's cluster about itself. */
export interface ClusterMember extends SelfDescription {
  log: Logger;
  /** Receives member.joined / member.left. */
  events?: EventBus;
}

export interface Backend {
  readonly name: string;
  readonly store: Store;
  /**
   * Membership and leadership for one agent. The backend wires its leadership
   * fence into its own store, so a deposed leader's tick commits are refused
   * however the backend expresses that (etcd revision, ZooKeeper node version).
   */
  cluster(self: ClusterMember): Cluster;
}

export interface OpenContext {
  log?: Logger;
}

/** A backend's entry point: the module catalog.ts loads when the backend is chosen. */
export interface BackendModule {
  open(options: BackendOptions, context: OpenContext): Promise<Backend>;
}
