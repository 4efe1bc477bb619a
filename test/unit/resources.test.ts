/** Capacity-aware placement's arithmetic (src/job/resources.ts): quantities, validation, fit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeNeeds, emptyCapacity, everFits, misfit, needsOf, normalizeResources, parseCpu, parseMemory } from '../../src/job/resources.js';
import { ValidationError } from '../../src/job/schema.js';

void test('quantities read as Kubernetes writes them', () => {
  assert.equal(parseCpu(2), 2);
  assert.equal(parseCpu('0.5'), 0.5);
  assert.equal(parseCpu('500m'), 0.5);
  for (const bad of [0, -1, '', 'two', '1.5.0', '5x', null]) assert.equal(parseCpu(bad), null, String(bad));
  assert.equal(parseMemory('4Gi'), 4 * 2 ** 30);
  assert.equal(parseMemory('512Mi'), 512 * 2 ** 20);
  assert.equal(parseMemory('1G'), 1e9);
  assert.equal(parseMemory(1024), 1024);
  for (const bad of ['4GB', 'lots', '0', -5, '1.5Xi']) assert.equal(parseMemory(bad), null, String(bad));
});

void test('normalizeResources keeps the stored form and names the key at fault', () => {
  assert.equal(normalizeResources(undefined), null);
  assert.equal(normalizeResources({}), null);
  assert.deepEqual(normalizeResources({ cpu: '250m', memory: '1Gi', slots: { gpu: 1 } }), { cpu: 0.25, memory: '1Gi', slots: { gpu: 1 } });
  const rejects = (raw: unknown, field: string): void => {
    assert.throws(() => normalizeResources(raw), (e: unknown) => e instanceof ValidationError && e.field === field, field);
  };
  rejects({ cpu: 0 }, 'resources.cpu');
  rejects({ memory: '4GB' }, 'resources.memory');
  rejects({ slots: { gpu: 0 } }, 'resources.slots.gpu');
  rejects({ slots: { 'g p u': 1 } }, 'resources.slots.g p u');
  rejects({ disk: '1Gi' }, 'resources.disk');
  rejects([], 'resources');
});

void test('a run fits beside what runs: cpu, memory and each slot', () => {
  const cap = { cpu: 4, memory: 8 * 2 ** 30, slots: { gpu: 1 } };
  const two = needsOf({ cpu: 2 })!;
  const used = emptyCapacity();
  assert.equal(misfit(cap, used, two), null);
  used.cpu = 3;
  assert.match(misfit(cap, used, two) ?? '', /^cpu 1 of 4 free, needs 2$/);
  assert.equal(misfit({ cpu: 0.3, memory: 0, slots: {} }, { cpu: 0.2, memory: 0, slots: {} }, { cpu: 0.1, memory: 0, slots: {} }), null, 'float dust');
  assert.match(misfit(cap, emptyCapacity(), needsOf({ memory: '9Gi' })!) ?? '', /memory 8 GiB of 8 GiB free, needs 9 GiB/);
  assert.match(misfit(cap, { cpu: 0, memory: 0, slots: { gpu: 1 } }, needsOf({ slots: { gpu: 1 } })!) ?? '', /slot gpu: 0 of 1 free, needs 1/);
  assert.equal(everFits(cap, needsOf({ slots: { tpu: 1 } })!), false);
  assert.equal(describeNeeds(needsOf({ cpu: 2, memory: '1Gi', slots: { gpu: 1 } })!), 'cpu 2, memory 1 GiB, gpu 1');
});
