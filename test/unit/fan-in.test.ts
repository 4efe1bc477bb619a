/**
 * Fan-in's pure parts: the window a parent's run belongs to (src/scheduler/window.ts), the cycle
 * search over both parent forms (src/job/parents.ts), and what `depends_on` accepts at save.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { windowStart } from '../../src/scheduler/window.js';
import { findCycle, parentsOf } from '../../src/job/parents.js';
import { normalizeJobInput, ValidationError } from '../../src/job/schema.js';
import { ExecutorRegistry } from '../../src/executors/registry.js';
import { ShellExecutor } from '../../src/executors/shell.js';
import { isTimeScheduled } from '../../src/scheduler/job-entry.js';

const t = (s: string): number => Date.parse(s);
const win = (schedule: string, timezone: string, at: string): string => new Date(windowStart({ name: 'c', schedule, timezone }, t(at))).toISOString();

describe('windowStart', () => {
  test('no schedule: the window is the parent tick itself', () => {
    assert.equal(win('', '', '2026-11-30T10:00:07.000Z'), '2026-11-30T10:00:07.000Z');
  });

  test('a cron schedule: the last tick at or before the parent run', () => {
    assert.equal(win('0 * * * *', 'UTC', '2026-11-30T10:59:59.000Z'), '2026-11-30T10:00:00.000Z');
    assert.equal(win('0 * * * *', 'UTC', '2026-11-30T10:00:00.000Z'), '2026-11-30T10:00:00.000Z');
    assert.equal(win('*/15 * * * * *', 'UTC', '2026-11-30T10:00:44.000Z'), '2026-11-30T10:00:30.000Z');
    // Daily at 06:00 Berlin (UTC+1 in November): a run at 04:00 UTC belongs to yesterday's window.
    assert.equal(win('0 6 * * *', 'Europe/Berlin', '2026-11-30T04:00:00.000Z'), '2026-11-29T05:00:00.000Z');
    assert.equal(win('0 6 * * *', 'Europe/Berlin', '2026-11-30T05:00:00.000Z'), '2026-11-30T05:00:00.000Z');
    // Monthly: found through the doubling lookback.
    assert.equal(win('0 0 1 * *', 'UTC', '2026-11-30T10:00:00.000Z'), '2026-11-01T00:00:00.000Z');
  });

  test('daily windows follow the zone across a DST change', () => {
    // Europe/Berlin left summer time on 2026-10-25: midnight is 22:00 UTC before, 23:00 UTC after.
    assert.equal(win('@daily', 'Europe/Berlin', '2026-10-24T21:59:00.000Z'), '2026-10-23T22:00:00.000Z');
    assert.equal(win('@daily', 'Europe/Berlin', '2026-10-25T12:00:00.000Z'), '2026-10-24T22:00:00.000Z');
    assert.equal(win('@daily', 'Europe/Berlin', '2026-10-26T12:00:00.000Z'), '2026-10-25T23:00:00.000Z');
  });

  test('@every: windows of the interval aligned to the epoch; @at and @manually: the tick', () => {
    assert.equal(win('@every 1h', '', '2026-11-30T10:42:00.000Z'), '2026-11-30T10:00:00.000Z');
    assert.equal(win('@every 10m', '', '2026-11-30T10:42:00.000Z'), '2026-11-30T10:40:00.000Z');
    assert.equal(win('@manually', '', '2026-11-30T10:42:00.000Z'), '2026-11-30T10:42:00.000Z');
  });
});

describe('findCycle', () => {
  const graph: Record<string, string[]> = { a: [], b: ['a'], c: ['a', 'b'], d: ['c'] };
  test('no cycle through a diamond', async () => {
    assert.equal(await findCycle('e', ['d', 'b'], (n) => graph[n]), null);
  });
  test('names the loop a new link would close', async () => {
    assert.deepEqual(await findCycle('a', ['d'], (n) => graph[n]), ['a', 'd', 'c', 'a']);
    assert.deepEqual(await findCycle('b', ['c'], (n) => graph[n]), ['b', 'c', 'b']);
  });
  test('parentsOf reads either form', () => {
    assert.deepEqual(parentsOf({ parent_job: 'p', depends_on: [] }), ['p']);
    assert.deepEqual(parentsOf({ parent_job: '', depends_on: ['x', 'y'] }), ['x', 'y']);
    assert.deepEqual(parentsOf({ parent_job: '' }), []);
  });
});

describe('depends_on at save', () => {
  const executors = new ExecutorRegistry();
  executors.register(new ShellExecutor());
  const job = (patch: Record<string, unknown>): unknown => ({ name: 'c', executor: 'shell', executor_config: { command: 'true' }, ...patch });
  const rejects = (body: unknown, message: RegExp): void => {
    assert.throws(
      () => normalizeJobInput(body, executors),
      (err: unknown) => err instanceof ValidationError && err.field === 'depends_on' && message.test(err.message),
    );
  };

  test('a fan-in job needs no schedule; with one, the schedule only draws its windows', () => {
    const spec = normalizeJobInput(job({ depends_on: ['a', 'b'] }), executors);
    assert.deepEqual(spec.depends_on, ['a', 'b']);
    assert.equal(spec.schedule, '');
    const windowed = normalizeJobInput(job({ depends_on: ['a'], schedule: '@daily' }), executors);
    assert.equal(isTimeScheduled({ ...windowed, updated_at: '2026-11-30T00:00:00Z' }), false);
    assert.equal(isTimeScheduled({ ...windowed, depends_on: [], updated_at: '2026-11-30T00:00:00Z' }), true);
  });

  test('refusals name depends_on', () => {
    rejects(job({ depends_on: ['a'], parent_job: 'a' }), /either parent_job .* or depends_on/);
    rejects(job({ depends_on: ['c'] }), /itself/);
    rejects(job({ depends_on: ['a', 'a'] }), /"a" twice/);
    rejects(job({ depends_on: [''] }), /empty/);
    rejects(job({ depends_on: Array.from({ length: 33 }, (_, i) => `p${i}`) }), /at most 32/);
    rejects(job({ depends_on: 'a' }), /array/);
  });

  test('without a schedule, parent_job or depends_on the schedule is still required', () => {
    assert.throws(() => normalizeJobInput(job({}), executors), (err: unknown) => err instanceof ValidationError && err.field === 'schedule');
  });
});
