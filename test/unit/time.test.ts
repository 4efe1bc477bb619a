/** src/job/time.ts: instantMs must read every string exactly as Date.parse does, only faster. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instantMs, iso } from '../../src/job/time.js';

void test('instantMs agrees with Date.parse on what iso() writes, on other forms and on nonsense', () => {
  const samples: string[] = [];
  // Instants across four centuries, each as iso() writes it.
  for (let i = 0; i < 2000; i++) samples.push(iso(Date.UTC(1900, 0, 1) + Math.floor(((i * 7919) % 2000) / 2000 * 400 * 365.25 * 86_400_000) + i * 37));
  samples.push(
    '0001-01-01T00:00:00.000Z', // year 1 (Date.UTC would read 1901)
    '0099-12-31T23:59:59.999Z',
    '2026-02-29T00:00:00.000Z', // no such day: Date.parse rolls it over, and so must this
    '2024-02-29T12:00:00.000Z',
    '2026-13-01T00:00:00.000Z',
    '2026-11-30T24:00:00.000Z',
    '2026-11-30T23:60:00.000Z',
    '2026-11-30T23:59:60.000Z',
    '2026-11-30T14:00:00Z',
    '2026-11-30T14:00:00.000+01:00',
    '2026-11-30t14:00:00.000z',
    '2026-11-30T14:0a:00.000Z',
    '',
    'garbage',
  );
  for (const s of samples) assert.ok(Object.is(instantMs(s), Date.parse(s)), `${s}: ${instantMs(s)} vs Date.parse ${Date.parse(s)}`);
});
