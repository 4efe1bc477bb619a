/**
 * Child process of the bulk-writer kill -9 test: applies bulk batches of `per` jobs (names
 * `b<batch>-<i>`) to the store file through the embedded store's writer thread, one after the
 * other, and prints `ack <batch>` once each has resolved.
 * Usage: tsx bulk-writer-child.ts FILE PER PREFIX (names `<PREFIX>b<batch>-<i>`)
 */
import { SqliteStore } from '../../src/backends/embedded/sqlite-store.js';
import { applyBulk } from '../../src/core/bulk.js';
import { SYSTEM_ACTOR } from '../../src/core/audit.js';
import { bulkExecutors, bulkJob } from './bulk-jobs.js';

const [file, perText, prefix] = process.argv.slice(2);
const per = Number(perText);
const store = SqliteStore.open(file as string, { checkpointThread: { startAfterMs: 0 } });
const executors = bulkExecutors();
for (let batch = 0; ; batch++) {
  const jobs = Array.from({ length: per }, (_v, i) => bulkJob(`${prefix ?? ''}b${batch}-${i}`));
  await applyBulk(store, executors, { maxJobs: 0 }, { jobs }, SYSTEM_ACTOR);
  process.stdout.write(`ack ${batch}\n`);
}
