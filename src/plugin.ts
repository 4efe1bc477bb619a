/**
 * The interface a third-party plugin module implements, published as `kairos/plugin`:
 *
 *   import type { KairosPlugin } from 'kairos/plugin';
 *   const plugin: KairosPlugin = { executors: [myExecutor] };
 *   export default plugin;
 *
 * Only types live here: a plugin needs no runtime code from Kairos. See docs/plugins.md.
 */
export type { Executor, ExecutionRequest, ExecutionOutcome } from './executors/types.js';
export type { Processor, ProcessRequest, ProcessResult } from './processors/types.js';
export type { Execution } from './job/types.js';
import type { Executor } from './executors/types.js';
import type { Processor } from './processors/types.js';

/** What the agent hands a plugin factory. */
export interface PluginContext {
  nodeName: string;
  /** A child of the agent's logger (pino API: info/warn/error with an object and a message). */
  log: {
    info(obj: object, msg?: string): void;
    warn(obj: object, msg?: string): void;
    error(obj: object, msg?: string): void;
  };
}

/** A module's default export: the plugin, or a function making it (sync or async). */
export interface KairosPlugin {
  executors?: Executor[];
  processors?: Processor[];
}

export type KairosPluginFactory = (context: PluginContext) => KairosPlugin | Promise<KairosPlugin>;
