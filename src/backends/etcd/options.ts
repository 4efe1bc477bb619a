/** What the etcd store is given: how to reach etcd, and where to report what it can't return. */
import type { StoreLog } from '../../store/kv-shared.js';

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
