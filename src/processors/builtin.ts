/** The processors every agent has (dkron's log, files, syslog, fluent). */
import { FilesProcessor } from './files.js';
import { FluentProcessor } from './fluent.js';
import { LogProcessor } from './log.js';
import { SyslogProcessor } from './syslog.js';
import type { Processor } from './types.js';

export interface BuiltinProcessorOptions {
  /** Directory of the `files` processor when the job doesn't set `log_dir`. */
  logDir: string;
}

export function builtinProcessors(o: BuiltinProcessorOptions): Processor[] {
  return [new LogProcessor(), new FilesProcessor(o.logDir), new SyslogProcessor(), new FluentProcessor(process.env)];
}
