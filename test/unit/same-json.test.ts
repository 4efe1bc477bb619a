/** The bulk diff's equality: JSON's, without serialising (an unchanged apply compares 100k pairs). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sameJson } from '../../src/core/bulk.js';

test('sameJson is equality as JSON sees it', () => {
  assert.ok(sameJson({ a: 1, b: { c: [1, 'x'] } }, { b: { c: [1, 'x'] }, a: 1 }), 'key order is ignored');
  assert.ok(sameJson({ a: 1, u: undefined }, { a: 1 }), 'an undefined field is a missing one');
  assert.ok(sameJson([undefined], [null]), 'undefined in a list is null');
  assert.ok(sameJson(null, null));
  assert.ok(!sameJson({ a: 1 }, { a: 2 }));
  assert.ok(!sameJson({ a: 1 }, { a: 1, b: null }), 'null is a value');
  assert.ok(!sameJson([1], [1, 2]));
  assert.ok(!sameJson({ a: [1] }, { a: { 0: 1 } }), 'a list is not an object');
  assert.ok(!sameJson({ a: '1' }, { a: 1 }));
  assert.ok(!sameJson({}, null));
});
