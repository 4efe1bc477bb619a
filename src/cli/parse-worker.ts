/** A worker thread of loadJobsJson (job-files.ts): parses its share of the files and posts them back. */
import { parentPort, workerData } from 'node:worker_threads';
import { UsageError } from '../client/http.js';
import { parseFileForApply } from './job-files.js';

const { files } = workerData as { files: string[] };
try {
  parentPort?.postMessage({ parsed: files.map((f) => parseFileForApply(f)) });
} catch (err) {
  // A file's mistake (YAML error with its line) reaches the user as the usage error it is.
  parentPort?.postMessage(err instanceof UsageError ? { usage: err.message } : { error: err instanceof Error ? err.message : String(err) });
}
