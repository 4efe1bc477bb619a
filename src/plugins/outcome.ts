/** Shared wording of plugin run results, so both plugin forms report failures alike. */
import type { OutputBuffer } from '../executors/output-buffer.js';
import type { ExecutionOutcome } from '../executors/types.js';

/** The kept output with `note` on a line of its own after it. */
export function withNote(output: OutputBuffer, note: string): string {
  const text = output.toString();
  if (note === '') return text;
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  return `${text}${sep}${note}\n`;
}

export function failed(output: OutputBuffer, note: string, exitCode: number | null = null): ExecutionOutcome {
  return { success: false, exitCode, output: withNote(output, note), truncated: output.truncated };
}

export function killedNote(signal: AbortSignal): string {
  // The reason is whatever the agent aborted with; any value is printable.
  const reason: unknown = signal.reason;
  return `killed: ${reason instanceof Error ? reason.message : String(reason ?? 'aborted')}`;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
