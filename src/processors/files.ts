/**
 * dkron's `files` processor: each execution's output goes to `<log_dir>/<execution id>.log`;
 * the stored record keeps the path instead of the output (unless `forward`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { forwards } from './types.js';
import type { Processor, ProcessRequest, ProcessResult } from './types.js';

export class FilesProcessor implements Processor {
  readonly name = 'files';

  /** @param defaultLogDir used when the job's config has no `log_dir` (dkron: /var/log/dkron). */
  constructor(private readonly defaultLogDir: string) {}

  validate(config: Record<string, string>): { field: string; message: string } | null {
    const dir = config.log_dir;
    if (dir !== undefined && dir !== '' && !isAbsolute(dir)) {
      return { field: 'processors.files.log_dir', message: `log_dir must be an absolute path, got "${dir}"` };
    }
    return null;
  }

  async process(request: ProcessRequest): Promise<ProcessResult | undefined> {
    const configured = request.config.log_dir;
    const dir = configured !== undefined && configured !== '' ? configured : this.defaultLogDir;
    // Checked again here: a job saved by an older version, or a plugin-less restore, skips validate().
    if (!isAbsolute(dir)) throw new Error(`log_dir must be an absolute path, got "${dir}"`);
    const path = join(dir, `${fileName(request.execution.id)}.log`);
    await mkdir(dir, { recursive: true });
    await writeFile(path, request.execution.output, { signal: request.signal });
    return forwards(request.config) ? undefined : { note: path };
  }
}

/**
 * Execution ids are `<nanos>-<node name>` and node names are free text (they default to the
 * host name but `--node-name` takes anything), so `/`, NUL and the like become `_`.
 */
export function fileName(executionId: string): string {
  const safe = executionId.replace(/[^A-Za-z0-9._@+-]/g, '_');
  return safe === '' || /^\.+$/.test(safe) ? `_${safe}` : safe;
}
