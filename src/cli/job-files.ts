/**
 * Reading job files for `kairos apply` and `kairos diff`: JSON or YAML, one or
 * many jobs each (`---` separated documents, a list, or `{jobs: [...]}`), as the
 * text of one JSON array for the bulk request (the agent stamps the ownership
 * label). A large JSON file holding a list goes in as its own text, unparsed:
 * the agent parses and validates every job anyway, and a syntax error makes
 * `apply` parse the files here to name the file and line. Other large sets are
 * parsed on worker threads (parse-worker.ts), one share of the files each: YAML
 * parsing is most of the time of a 100k-job apply, and it is CPU work that
 * splits by file.
 */
import { readFileSync, statSync, readdirSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CORE_SCHEMA, loadAll, YAMLException } from 'js-yaml';
import { UsageError } from '../client/http.js';

export const OWNER_KEY = 'managed-by';
export const DEFAULT_OWNER = 'kairos-apply';
const EXTENSIONS = ['.json', '.yaml', '.yml'];
/** Below this many bytes of files, starting workers costs more than it saves. */
const PARALLEL_BYTES = 4 * 1024 * 1024;
/** A JSON list file this large is sent as its text (parsing, then serialising it again, cost ~1 s per 100k jobs). */
const AS_TEXT_BYTES = 256 * 1024;

/** The files named by -f: a file as is, a directory's *.json/*.yaml/*.yml (sorted, not recursive). */
function jobFiles(paths: string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    if (p === '-') {
      files.push(p);
      continue;
    }
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new UsageError(`-f ${p}: no such file or directory`);
    }
    if (st.isDirectory()) {
      const inDir = readdirSync(p)
        .filter((f) => EXTENSIONS.some((e) => f.toLowerCase().endsWith(e)))
        .sort()
        .map((f) => join(p, f));
      files.push(...inDir.filter((f) => statSync(f).isFile()));
    } else files.push(p);
  }
  return files;
}

/** A file's jobs, in order. A document is a job, a list of jobs, or `{jobs: [...]}`. */
function parseJobText(text: string, source: string): unknown[] {
  // Plain JSON parses much faster as JSON; YAML (a superset) reads it otherwise, with line numbers on errors.
  const values: unknown[] = [];
  let json: unknown;
  if (/^\s*[[{]/.test(text)) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (json !== undefined) values.push(json);
  else {
    // js-yaml: ~9x faster than \`yaml\` on 100k documents. The core schema reads YAML 1.2 scalars only
    // (an unquoted RFC 3339 time stays a string, as `export` writes it).
    try {
      loadAll(text, (doc) => values.push(doc), { schema: CORE_SCHEMA, filename: source });
    } catch (err) {
      if (!(err instanceof YAMLException)) throw err;
      throw new UsageError(`${source}:${err.mark ? err.mark.line + 1 : '?'}: ${err.reason}`);
    }
  }
  const jobs: unknown[] = [];
  for (const value of values) {
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) jobs.push(...value);
    else if (typeof value === 'object' && Array.isArray((value as { jobs?: unknown }).jobs) && !('name' in value)) jobs.push(...(value as { jobs: unknown[] }).jobs);
    else jobs.push(value);
  }
  return jobs;
}

/** One file's jobs as the text of a JSON array's items (no brackets), and how many (null: not counted, sent as text). */
export interface ParsedFile {
  json: string;
  count: number | null;
}

export function parseFileForApply(file: string): ParsedFile {
  const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  const jobs = parseJobText(text, file === '-' ? 'stdin' : file);
  return { json: JSON.stringify(jobs).slice(1, -1), count: jobs.length };
}

/** A large JSON file holding one list, as the text of its items; null for any other file. */
function listText(file: string, size: number): ParsedFile | null {
  if (size < AS_TEXT_BYTES || !file.toLowerCase().endsWith('.json')) return null;
  const text = readFileSync(file, 'utf8').trim();
  if (!text.startsWith('[') || !text.endsWith(']')) return null;
  return { json: text.slice(1, -1).trim(), count: null };
}

/**
 * Every job of the files as the text of one JSON array. The text goes into the
 * request as is: 100k jobs are never rebuilt as objects on the main thread.
 * `parseAll` parses every file, large JSON lists too: a file's syntax error is
 * then thrown here, naming the file and line.
 */
export async function loadJobsJson(paths: string[], options: { parseAll?: boolean } = {}): Promise<{ count: number | null; json: string }> {
  const all = jobFiles(paths);
  const allSizes = all.map((f) => (f === '-' ? 0 : statSync(f).size));
  const asText = all.map((f, i) => (options.parseAll || f === '-' ? null : listText(f, allSizes[i] ?? 0)));
  const files = all.filter((_f, i) => asText[i] === null);
  const worker = new URL('./parse-worker.js', import.meta.url);
  const sizes = allSizes.filter((_s, i) => asText[i] === null);
  const total = sizes.reduce((a, b) => a + b, 0);
  const threads = Math.min(availableParallelism(), 4, files.length);
  // From source (tsx), there is no compiled worker: parse here.
  let parsed: ParsedFile[];
  if (total < PARALLEL_BYTES || threads < 2 || files.includes('-') || !existsSync(fileURLToPath(worker))) {
    parsed = files.map((f) => parseFileForApply(f));
  } else {
    // Largest files first, each to the least loaded share.
    const shares: { files: number[]; bytes: number }[] = Array.from({ length: threads }, () => ({ files: [], bytes: 0 }));
    for (const i of files.map((_f, i) => i).sort((a, b) => (sizes[b] ?? 0) - (sizes[a] ?? 0))) {
      const share = shares.reduce((min, s) => (s.bytes < min.bytes ? s : min));
      share.files.push(i);
      share.bytes += sizes[i] ?? 0;
    }
    parsed = new Array<ParsedFile>(files.length);
    await Promise.all(
      shares.map(
        (share) =>
          new Promise<void>((resolve, reject) => {
            const w = new Worker(worker, { workerData: { files: share.files.map((i) => files[i]) } });
            w.once('message', (msg: { parsed?: ParsedFile[]; usage?: string; error?: string }) => {
              if (msg.parsed) msg.parsed.forEach((p, k) => (parsed[share.files[k] as number] = p));
              if (msg.usage !== undefined) reject(new UsageError(msg.usage));
              else if (msg.error !== undefined) reject(new Error(msg.error));
              else resolve();
            });
            w.once('error', reject);
          }),
      ),
    );
  }
  // Back in the order of the files.
  let next = 0;
  const items = asText.map((t) => t ?? (parsed[next++] as ParsedFile)).filter((p) => p.json !== '');
  const count = items.some((p) => p.count === null) ? null : items.reduce((n, p) => n + (p.count ?? 0), 0);
  return { count, json: `[${items.map((p) => p.json).join(',')}]` };
}
