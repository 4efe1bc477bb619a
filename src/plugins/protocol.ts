/**
 * The line-delimited JSON protocol of executable plugins (docs/plugins.md): Kairos writes one
 * request line on the plugin's stdin and closes it; the plugin answers with lines on stdout.
 * The schemas are the contract: anything they reject ends the run as a protocol violation.
 */
import { z } from 'zod';
import type { Execution } from '../job/types.js';

export const PROTOCOL_VERSION = 1;

/** Kairos → executor plugin. */
export interface ExecuteRequestMessage {
  type: 'execute';
  protocol: typeof PROTOCOL_VERSION;
  job_name: string;
  execution_id: string;
  node_name: string;
  attempt: number;
  /** ISO 8601 (UTC) instant the run was scheduled for. */
  scheduled_at: string;
  config: Record<string, string>;
}

/** Kairos → processor plugin. */
export interface ProcessRequestMessage {
  type: 'process';
  protocol: typeof PROTOCOL_VERSION;
  node_name: string;
  execution: Execution;
  config: Record<string, string>;
}

// Loose objects: a newer plugin may add fields; only the ones Kairos reads are checked.
const outputMessage = z.looseObject({ type: z.literal('output'), data: z.string() });
const executeResultMessage = z.looseObject({
  type: z.literal('result'),
  success: z.boolean(),
  error: z.string().optional(),
  exit_code: z.number().int().optional(),
});

/** Executor plugin → Kairos: any number of `output` lines, then one `result`. */
export const executorMessage = z.discriminatedUnion('type', [outputMessage, executeResultMessage]);
export type ExecutorMessage = z.infer<typeof executorMessage>;

const processResultMessage = z.looseObject({
  type: z.literal('result'),
  output: z.string().optional(),
  note: z.string().optional(),
});
const processErrorMessage = z.looseObject({ type: z.literal('error'), message: z.string() });

/** Processor plugin → Kairos: exactly one `result` or `error`. */
export const processorMessage = z.discriminatedUnion('type', [processResultMessage, processErrorMessage]);
export type ProcessorMessage = z.infer<typeof processorMessage>;

/**
 * Parses one stdout line. Returns the message, or the reason it is not one; the reason quotes
 * the start of the line so an operator can see what the plugin actually wrote.
 */
export function parseLine<T>(line: string, schema: z.ZodType<T>): { ok: true; message: T } | { ok: false; reason: string } {
  const invalid = { ok: false as const, reason: `plugin wrote an invalid protocol line: ${line.slice(0, 200)}` };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return invalid;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? { ok: true, message: parsed.data } : invalid;
}
