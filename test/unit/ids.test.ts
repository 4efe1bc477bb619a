/**
 * Execution ids (src/util/ids.ts): dkron's `<nanos>-<node>`, unique within an agent and, for ids
 * two agents make the same millisecond for the same node, apart with near certainty.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { executionId } from '../../src/util/ids.js';
import type * as Ids from '../../src/util/ids.js';

void test('ids made the same millisecond are unique and ordered by their making', () => {
  const ms = Date.now();
  const ids = Array.from({ length: 500 }, () => executionId(ms, 'n1'));
  assert.equal(new Set(ids).size, ids.length);
  const nanos = ids.map((id) => BigInt(id.split('-')[0] as string));
  for (let i = 1; i < nanos.length; i++) assert.ok((nanos[i] as bigint) > (nanos[i - 1] as bigint), `id ${i} sorts after id ${i - 1}`);
  assert.ok(ids.every((id) => id.endsWith('-n1') && BigInt(id.split('-')[0] as string) / 1_000_000n === BigInt(ms)));
});

void test('two agents making an id the same millisecond for the same node (their first each) rarely make the same one', async () => {
  // A second copy of the module stands for another agent: its own sequence, starting where this one's does.
  const copy = '../../src/util/ids.js?agent=2';
  const other = (await import(copy)) as typeof Ids;
  let same = 0;
  for (let i = 0; i < 100; i++) {
    const ms = 1_700_000_000_000 + i;
    if (executionId(ms, 'n1') === other.executionId(ms, 'n1')) same++;
  }
  // Each pair matches with odds of 1 in 1000; all 100 did before the ids carried random nanoseconds.
  assert.ok(same <= 5, `${same} of 100 pairs were the same id`);
});
