/** The processors every agent has (dkron's log, files, syslog, fluent). */
import type { Processor } from './types.js';

export interface BuiltinProcessorOptions {
  /** Directory of the `files` processor when the job doesn't set `log_dir`. */
  logDir: string;
}

export function builtinProcessors(_o: BuiltinProcessorOptions): Processor[] {
  return [];
}
