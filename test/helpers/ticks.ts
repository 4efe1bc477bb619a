/**
 * "Every tick exactly once" for an `@every 1s` job whose command appends its
 * $KAIROS_SCHEDULED_AT to a file: no instant twice, none missing between the
 * first and the last, all on the job's phase. Used by the chaos and fault tests.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';

/** The scheduled instants the job wrote, in file order. */
export function ticksIn(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => Date.parse(l.trim()));
}

/** Asserts each tick ran once and none is missing; returns the ticks sorted. */
export function assertEveryTickOnce(all: number[]): number[] {
  const unique = new Set(all);
  assert.equal(unique.size, all.length, `duplicate ticks: ${all.length - unique.size}`);
  const sorted = [...unique].sort((a, b) => a - b);
  const missing: string[] = [];
  for (let k = 1; k < sorted.length; k++) {
    const step = (sorted[k] as number) - (sorted[k - 1] as number);
    assert.equal(step % 1000, 0, `ticks keep the @every phase: ${new Date(sorted[k - 1] as number).toISOString()} then ${new Date(sorted[k] as number).toISOString()}`);
    for (let m = 1; m < step / 1000; m++) missing.push(new Date((sorted[k - 1] as number) + m * 1000).toISOString());
  }
  assert.deepEqual(missing, [], 'every tick in the window ran');
  return sorted;
}

/** The `@every 1s` job (catch_up all, on the `role=worker` agent) whose runs these checks read. */
export function tickerJob(file: string): Record<string, unknown> {
  return {
    name: 'ticker',
    schedule: '@every 1s',
    catch_up: 'all',
    tags: { role: 'worker' },
    executor: 'shell',
    executor_config: { command: `echo "$KAIROS_SCHEDULED_AT" >> ${file}`, shell: 'true' },
  };
}
