/** ZooKeeper error codes the backend acts on, and the errors it reports (naming the znode). */
import zookeeper from 'node-zookeeper-client';
import { UnavailableError } from '../../errors/catalogue.js';
import { messageOf } from '../../store/kv-shared.js';

export const CODES = {
  NO_NODE: zookeeper.Exception.NO_NODE,
  NODE_EXISTS: zookeeper.Exception.NODE_EXISTS,
  BAD_VERSION: zookeeper.Exception.BAD_VERSION,
  NOT_EMPTY: zookeeper.Exception.NOT_EMPTY,
  CONNECTION_LOSS: zookeeper.Exception.CONNECTION_LOSS,
  OPERATION_TIMEOUT: zookeeper.Exception.OPERATION_TIMEOUT,
  SESSION_EXPIRED: zookeeper.Exception.SESSION_EXPIRED,
} as const;

export const TRANSIENT = new Set<number>([CODES.CONNECTION_LOSS, CODES.OPERATION_TIMEOUT, CODES.SESSION_EXPIRED]);

/**
 * ZooKeeper could not be reached or did not answer within the deadline. The API answers 503
 * (KAIROS_STORE_UNAVAILABLE): the request was fine, the backend is away (and agents retry on their own).
 */
export class ZookeeperUnavailableError extends UnavailableError {
  constructor(what: string, path: string, cause: unknown) {
    super(`zookeeper unavailable: ${what} (${path}): ${messageOf(cause)}`);
    // As Error's own { cause } option would set it (KairosError takes no options).
    Object.defineProperty(this, 'cause', { value: cause, writable: true, configurable: true });
    this.name = 'ZookeeperUnavailableError';
  }
}

/** A ZooKeeper answer other than success (no node, node exists, bad version...), naming the znode. */
export class ZookeeperError extends Error {
  constructor(
    readonly zkCode: number,
    what: string,
    readonly path: string,
    cause: unknown,
  ) {
    super(`zookeeper ${what} failed on ${path}: ${messageOf(cause)}`, { cause });
    this.name = 'ZookeeperError';
  }
}

export function codeOf(err: unknown): number | null {
  const c = (err as { getCode?: () => number } | null)?.getCode;
  return typeof c === 'function' ? c.call(err) : null;
}

export function isCode(err: unknown, code: number): boolean {
  return err instanceof ZookeeperError && err.zkCode === code;
}

