/**
 * Where the etcd store reports trouble it cannot return to a caller: a watch
 * lost or restarted, an assignment it could not take, a background task that
 * failed, a listener that threw. None of these may throw in turn.
 */
import { messageOf } from './calls.js';
import type { EtcdStoreOptions, StoreLog } from './options.js';

export class StoreReport {
  private readonly onListenerError: (error: unknown) => void;
  private readonly log: StoreLog;

  constructor(options: Pick<EtcdStoreOptions, 'onListenerError' | 'log'>) {
    this.onListenerError =
      options.onListenerError ??
      ((error) => process.emitWarning(`etcd store listener threw: ${messageOf(error)}`, 'KairosStoreWarning'));
    this.log = options.log ?? {
      warn: (obj, msg) => process.emitWarning(`${msg} ${JSON.stringify(obj)}`, 'KairosStoreWarning'),
      info: () => undefined,
    };
  }

  /** Logging never throws into a background loop (that would be an unhandled rejection). */
  warn(obj: object, msg: string): void {
    try {
      this.log.warn(obj, msg);
    } catch {
      // A broken logger must not stop watches or claims.
    }
  }

  info(obj: object, msg: string): void {
    try {
      this.log.info(obj, msg);
    } catch {
      // As warn().
    }
  }

  /** Runs a background task whose failures have nowhere to go but the log. */
  background(task: Promise<unknown>, what: string): void {
    task.catch((err: unknown) => this.warn({ err: messageOf(err) }, `etcd store: ${what} failed`));
  }

  /** Hands an error thrown by a watch listener or assignment handler to onListenerError. */
  listenerError(err: unknown): void {
    try {
      this.onListenerError(err);
    } catch {
      // The error hook itself failing must not break event delivery.
    }
  }
}
