/**
 * Child process of the embedded-store crash test. Writes forever and prints
 * "ack job <name>" / "ack exec <id>" only after the write's promise resolved,
 * so every ack is a write the store promised to keep. The parent kills it
 * with SIGKILL mid-stream.
 *
 * Usage: node --import tsx test/helpers/store-writer.ts <db-file> <cycle>
 *
 * The record builders are exported so the parent can rebuild exactly what an
 * ack stands for.
 */
import { pathToFileURL } from 'node:url';
import { SqliteStore } from '../../src/backends/embedded/sqlite-store.js';
import type { Execution, Job } from '../../src/job/types.js';
import { T0, at, exec, job } from './fixtures.js';

/** The job every execution belongs to; its success_count counts completed executions. */
export const COUNTER_JOB = 'counter';

export function writerJob(name: string): Job {
  const stamp = at(name.length);
  return job(name, {
    id: `id-${name}`,
    displayname: `Job ${name}`,
    timezone: 'UTC',
    owner: 'crash-test',
    owner_email: 'crash@test',
    tags: { name, role: 'writer' },
    metadata: { pad: 'p'.repeat(200) },
    retries: 1,
    concurrency: 'forbid',
    executor_config: { command: `echo ${name}` },
    created_at: stamp,
    updated_at: stamp,
  });
}

export function writerExecution(id: string, index: number): Execution {
  const started = T0 + index * 1000;
  return exec(COUNTER_JOB, id, {
    started_at: at(index),
    finished_at: new Date(started + 250).toISOString(),
    // Larger than a page now and then, so some commits span several WAL frames.
    output: `output of ${id}\n`.repeat(index % 7 === 0 ? 400 : 3),
    node_name: 'writer',
    group: started * 1000,
    scheduled_at: at(index),
  });
}

async function main(file: string, cycle: string): Promise<void> {
  const store = SqliteStore.open(file);
  // Later cycles keep the counter they find; it must equal the stored executions.
  await store.updateJob(COUNTER_JOB, (cur) => (cur === null ? writerJob(COUNTER_JOB) : undefined));
  for (let i = 0; ; i++) {
    const name = `job-${cycle}-${i}`;
    await store.updateJob(name, () => writerJob(name));
    process.stdout.write(`ack job ${name}\n`);

    const id = `exec-${cycle}-${i}`;
    await store.completeExecution(writerExecution(id, i), (cur) =>
      cur === null
        ? { ...writerJob(COUNTER_JOB), success_count: 1 }
        : { ...cur, success_count: cur.success_count + 1 },
    );
    process.stdout.write(`ack exec ${id}\n`);
  }
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const [file, cycle] = process.argv.slice(2);
  if (file === undefined || cycle === undefined) {
    process.stderr.write('usage: store-writer.ts <db-file> <cycle>\n');
    process.exit(2);
  }
  main(file, cycle).catch((err: unknown) => {
    process.stderr.write(`store-writer failed: ${String(err)}\n`);
    process.exit(1);
  });
}
