/**
 * Runs a job's processors over a finished attempt, in the order the job lists them (JSON key
 * order, which every store keeps), and returns the output to store. A processor that fails,
 * throws or overruns its deadline is contained: the record keeps the content plus a line naming
 * the processor and the reason, and the next processor still runs.
 */
import type { Execution } from '../job/types.js';
import type { Logger } from '../util/log.js';
import type { ProcessorRegistry } from './registry.js';
import type { ProcessResult } from './types.js';

export interface ChainOptions {
  registry: ProcessorRegistry;
  nodeName: string;
  log: Logger;
  /** Longest one processor may take. */
  timeoutMs: number;
}

export async function runProcessors(
  processors: Record<string, Record<string, string>>,
  execution: Execution,
  o: ChainOptions,
): Promise<string> {
  const names = Object.keys(processors);
  if (names.length === 0) return execution.output;
  let content = execution.output;
  const notes: string[] = [];
  const problems: string[] = [];
  for (const name of names) {
    const impl = o.registry.get(name);
    if (!impl) {
      problems.push(`processor "${name}" is not present on agent ${o.nodeName}; output kept`);
      continue;
    }
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        impl.process({
          execution: { ...execution, output: content },
          config: { ...(processors[name] ?? {}), reporting_node: o.nodeName },
          nodeName: o.nodeName,
          signal: controller.signal,
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const reason = new Error(`did not finish within ${o.timeoutMs} ms`);
            // Rejected first: a processor that returns as soon as it is aborted still overran.
            reject(reason);
            controller.abort(reason);
          }, o.timeoutMs);
        }),
      ]);
      const r: ProcessResult = result ?? {};
      if (typeof r.output === 'string') content = r.output;
      if (typeof r.note === 'string' && r.note !== '') notes.push(r.note);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      o.log.warn({ processor: name, job: execution.job_name, execution: execution.id, err: reason }, 'processor failed');
      problems.push(`processor "${name}" failed: ${reason}`);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
  // A failed processor may not have delivered the output anywhere: keep it in the record then.
  const stored = notes.length > 0 && problems.length === 0 ? notes.join('\n') : content;
  const lines = [...(problems.length > 0 ? notes : []), ...problems];
  if (lines.length === 0) return stored;
  const sep = stored === '' || stored.endsWith('\n') ? '' : '\n';
  return `${stored}${sep}${lines.join('\n')}\n`;
}
