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
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';
import type { Execution, Job } from '../../src/job/types.js';

/** The job every execution belongs to; its success_count counts completed executions. */
export const COUNTER_JOB = 'counter';

export function writerJob(name: string): Job {
  const stamp = new Date(Date.UTC(2024, 0, 1) + name.length * 1000).toISOString();
  return {
    id: `id-${name}`,
    name,
    displayname: `Job ${name}`,
    timezone: 'UTC',
    schedule: '@every 1m',
    owner: 'crash-test',
    owner_email: 'crash@test',
    success_count: 0,
    error_count: 0,
    last_success: null,
    last_error: null,
    disabled: false,
    tags: { name, role: 'writer' },
    metadata: { pad: 'p'.repeat(200) },
    retries: 1,
    dependent_jobs: null,
    parent_job: '',
    processors: {},
    concurrency: 'forbid',
    executor: 'shell',
    executor_config: { command: `echo ${name}` },
    status: '',
    next: null,
    ephemeral: false,
    starts_at: null,
    expires_at: null,
    catch_up: 'latest',
    starting_deadline: '',
    history_limit: 0,
    skip_count: 0,
    last_skip: null,
    last_skip_reason: '',
    last_group: 0,
    created_at: stamp,
    updated_at: stamp,
  };
}

export function writerExecution(id: string, index: number): Execution {
  const started = Date.UTC(2024, 0, 1) + index * 1000;
  return {
    id,
    job_name: COUNTER_JOB,
    started_at: new Date(started).toISOString(),
    finished_at: new Date(started + 250).toISOString(),
    success: true,
    // Larger than a page now and then, so some commits span several WAL frames.
    output: `output of ${id}\n`.repeat(index % 7 === 0 ? 400 : 3),
    node_name: 'writer',
    group: started * 1000,
    attempt: 1,
    exit_code: 0,
    scheduled_at: new Date(started).toISOString(),
    trigger: 'schedule',
  };
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
