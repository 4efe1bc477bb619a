/**
 * Processors run after an execution attempt, on the agent that ran it, before the result is
 * stored (dkron runs them on the leader; here the runner owns the record, so it runs them).
 * Built-ins (log, files, syslog, fluent) and plugins implement the same interface.
 */
import type { Execution } from '../job/types.js';

export interface ProcessRequest {
  /**
   * The finished attempt. `output` is the executor's output as rewritten by the processors
   * before this one (see ProcessResult.output).
   */
  execution: Readonly<Execution>;
  /** This processor's entry in the job's `processors` (all values strings, as dkron). */
  config: Record<string, string>;
  /** The agent running the processor (dkron's injected `reporting_node`). */
  nodeName: string;
  /** Aborted when the processor overruns its deadline: stop and return. */
  signal: AbortSignal;
}

/**
 * What a processor does to the stored record. Both fields optional; `undefined` / `{}` leaves it.
 * - `output` rewrites the content itself (e.g. redaction): later processors and the stored
 *   record see the new text.
 * - `note` replaces the stored output with a pointer to where it went ("Output in syslog"),
 *   dkron's behaviour without `forward: "true"`. Notes of several processors are joined by lines;
 *   later processors still receive the content, not the note.
 */
export interface ProcessResult {
  output?: string;
  note?: string;
}

export interface Processor {
  readonly name: string;
  /** Save-time check of the job's config for this processor; keys reported as `processors.<name>.<key>`. */
  validate(config: Record<string, string>): { field: string; message: string } | null;
  process(request: ProcessRequest): Promise<ProcessResult | undefined>;
}

/** dkron's `forward`: keep the output in the stored record as well. */
export function forwards(config: Record<string, string>): boolean {
  return config.forward === 'true';
}
