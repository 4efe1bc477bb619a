/**
 * The processor chain (src/processors/chain.ts): the job's order, `output` rewrites seen by the
 * next processor, `note` replacing the stored output, and containment of a processor that
 * throws, hangs or is missing (the content stays in the record with the reason).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { runProcessors } from '../../src/processors/chain.js';
import { ProcessorRegistry } from '../../src/processors/registry.js';
import type { Processor, ProcessRequest, ProcessResult } from '../../src/processors/types.js';
import type { Execution } from '../../src/job/types.js';

const execution: Execution = {
  id: 'e1', job_name: 'j', started_at: '2026-11-29T00:00:00.000Z', finished_at: '2026-11-29T00:00:01.000Z', success: true,
  output: 'secret=42 done\n', node_name: 'n1', group: 1, attempt: 1, exit_code: 0, scheduled_at: '2026-11-29T00:00:00.000Z', trigger: 'schedule',
};

function processor(name: string, fn: (r: ProcessRequest) => Promise<ProcessResult | undefined>): Processor {
  return { name, validate: () => null, process: fn };
}

const seen: Array<[string, string, Record<string, string>]> = [];
const registry = new ProcessorRegistry();
registry.register(processor('redact', async (r) => ({ output: r.execution.output.replace(/secret=\d+/, 'secret=***') })));
registry.register(processor('ship', async (r) => {
  seen.push(['ship', r.execution.output, r.config]);
  return r.config.forward === 'true' ? undefined : { note: 'Output shipped' };
}));
registry.register(processor('store', async (r) => {
  seen.push(['store', r.execution.output, r.config]);
  return { note: '/logs/e1.log' };
}));
registry.register(processor('boom', async () => {
  throw new Error('disk full');
}));
registry.register(processor('hang', (r) => new Promise((resolve) => r.signal.addEventListener('abort', () => resolve(undefined)))));

const options = { registry, nodeName: 'n1', log: pino({ level: 'silent' }), timeoutMs: 200 };

void test('processors run in the order the job lists them; a rewrite is seen by the next', async () => {
  seen.length = 0;
  const stored = await runProcessors({ redact: {}, ship: { forward: 'true' } }, execution, options);
  assert.equal(stored, 'secret=*** done\n');
  assert.deepEqual(seen, [['ship', 'secret=*** done\n', { forward: 'true', reporting_node: 'n1' }]]);
  seen.length = 0;
  await runProcessors({ ship: { forward: 'true' }, redact: {} }, execution, options);
  assert.equal(seen[0]?.[1], 'secret=42 done\n', 'listed before redact, ship sees the raw output');
});

void test('notes replace the stored output; every processor still receives the content', async () => {
  seen.length = 0;
  const stored = await runProcessors({ ship: {}, store: {} }, execution, options);
  assert.equal(stored, 'Output shipped\n/logs/e1.log');
  assert.deepEqual(seen.map((s) => s[1]), ['secret=42 done\n', 'secret=42 done\n']);
});

void test('a failing processor keeps the content in the record and names the reason; the next still runs', async () => {
  seen.length = 0;
  const stored = await runProcessors({ boom: {}, store: {} }, execution, options);
  assert.equal(seen.length, 1, 'store ran after boom failed');
  assert.equal(stored, 'secret=42 done\n/logs/e1.log\nprocessor "boom" failed: disk full\n');
});

void test('a processor past its deadline is abandoned with a reason', async () => {
  const stored = await runProcessors({ hang: {} }, execution, options);
  assert.equal(stored, 'secret=42 done\nprocessor "hang" failed: did not finish within 200 ms\n');
});

void test('a processor missing on this agent is named and the output kept', async () => {
  const stored = await runProcessors({ nowhere: {} }, execution, options);
  assert.match(stored, /^secret=42 done\nprocessor "nowhere" is not present on agent n1; output kept\n$/);
});

void test('no processors: the output is stored as it is', async () => {
  assert.equal(await runProcessors({}, execution, options), execution.output);
});
