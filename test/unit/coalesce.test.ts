import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { coalesce } from '../../src/util/coalesce.js';

void test('calls made in one turn are flushed as one batch, each answered on its own', async () => {
  const batches: number[][] = [];
  const double = coalesce<number, number>(async (batch) => {
    batches.push(batch.map((p) => p.input));
    for (const p of batch) {
      if (p.input < 0) p.reject(new Error(`negative: ${p.input}`));
      else p.resolve(p.input * 2);
    }
  });
  const first = await Promise.allSettled([double(1), double(2), double(-3)]);
  assert.deepEqual(first.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)), [2, 4, 'negative: -3']);
  const a = double(5);
  await nextTurn();
  const b = double(6);
  assert.deepEqual(await Promise.all([a, b]), [10, 12]);
  assert.deepEqual(batches, [[1, 2, -3], [5], [6]]);
});

void test('a flush that throws rejects every call it had not answered; one that forgets a call rejects that call', async () => {
  const failing = coalesce<number, number>((batch) => {
    batch[0]?.resolve(1);
    throw new Error('store down');
  });
  const results = await Promise.allSettled([failing(1), failing(2)]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected']);
  assert.match(((results[1] as PromiseRejectedResult).reason as Error).message, /store down/);

  const forgetful = coalesce<number, number>(async (batch) => {
    batch[0]?.resolve(1);
  });
  await assert.rejects(Promise.all([forgetful(1), forgetful(2)]), /without settling this call/);
});
