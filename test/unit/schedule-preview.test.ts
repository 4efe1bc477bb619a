/**
 * The schedule preview (POST /v1/schedule/preview, GET /v1/jobs/NAME/next): local times, offsets,
 * DST days flagged exactly, plain-word descriptions. Every instant is fixed, never "now".
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { previewSchedule, type PreviewRun } from '../../src/scheduler/preview.js';
import { describeSchedule } from '../../src/scheduler/describe.js';
import { jobNext } from '../../src/api/routes/schedule.js';
import { ScheduleError } from '../../src/scheduler/schedule.js';
import type { Job } from '../../src/job/types.js';

const BERLIN = 'Europe/Berlin';
const NY = 'America/New_York';

const brief = (r: PreviewRun): string => `${r.local} ${r.offset} ${r.dst ?? '-'}`;

describe('schedule preview: DST', () => {
  test('a fixed time inside the spring-forward gap is flagged skipped and runs after the gap (Berlin, last Sunday of March)', () => {
    const p = previewSchedule('0 30 2 * * *', { timezone: BERLIN, count: 4, after: new Date('2026-03-27T00:00:00Z') });
    assert.equal(p.timezone, BERLIN);
    assert.equal(p.description, 'at 02:30 every day');
    assert.deepEqual(p.next.map(brief), [
      '2026-03-27 02:30:00 +01:00 -',
      '2026-03-28 02:30:00 +01:00 -',
      '2026-03-29 03:00:00 +02:00 skipped',
      '2026-03-30 02:30:00 +02:00 -',
    ]);
    assert.equal(p.next[2]?.at, '2026-03-29T01:00:00.000Z');
    assert.equal(p.next[2]?.note, '02:30 does not exist on 2026-03-29 (clocks jump from 02:00 to 03:00): runs at 03:00 instead');
    assert.equal(p.next[0]?.note, undefined);
  });

  test('a fixed time inside the fall-back overlap is flagged repeated and runs once (Berlin, last Sunday of October)', () => {
    const p = previewSchedule('0 30 2 * * *', { timezone: BERLIN, count: 3, after: new Date('2026-10-24T00:00:00Z') });
    assert.deepEqual(p.next.map(brief), ['2026-10-24 02:30:00 +02:00 -', '2026-10-25 02:30:00 +02:00 repeated', '2026-10-26 02:30:00 +01:00 -']);
    assert.equal(p.next[1]?.at, '2026-10-25T00:30:00.000Z');
    assert.match(p.next[1]?.note ?? '', /02:30 occurs twice on 2026-10-25 \(clocks go back from 03:00 to 02:00\): runs once, on the first pass/);
  });

  test('an hourly job runs on both passes of the repeated hour, each flagged', () => {
    const p = previewSchedule('0 30 * * * *', { timezone: BERLIN, count: 4, after: new Date('2026-10-24T23:00:00Z') });
    assert.deepEqual(p.next.map(brief), [
      '2026-10-25 01:30:00 +02:00 -',
      '2026-10-25 02:30:00 +02:00 repeated',
      '2026-10-25 02:30:00 +01:00 repeated',
      '2026-10-25 03:30:00 +01:00 -',
    ]);
    assert.match(p.next[1]?.note ?? '', /first pass/);
    assert.match(p.next[2]?.note ?? '', /second pass/);
    // Other runs that day say the clocks change, without a flag.
    assert.equal(p.next[0]?.note, 'clocks go back 1 hour this day, from 03:00 to 02:00');
  });

  test('an interval job flags the first run after the gap once; runs the gap would have held are gone', () => {
    const p = previewSchedule('0 */30 * * * *', { timezone: BERLIN, count: 3, after: new Date('2026-03-29T00:10:00Z') });
    assert.deepEqual(p.next.map(brief), ['2026-03-29 01:30:00 +01:00 -', '2026-03-29 03:00:00 +02:00 skipped', '2026-03-29 03:30:00 +02:00 -']);
    assert.match(p.next[1]?.note ?? '', /02:00–02:59 does not exist on 2026-03-29/);
  });

  test('a job that names no time in the gap is not flagged on the DST day (New York, second Sunday of March)', () => {
    const p = previewSchedule('0 0 12 * * *', { timezone: NY, count: 2, after: new Date('2026-03-08T00:00:00Z') });
    assert.deepEqual(p.next.map(brief), ['2026-03-08 12:00:00 -04:00 -', '2026-03-09 12:00:00 -04:00 -']);
    assert.equal(p.next[0]?.note, 'clocks go forward 1 hour this day, from 02:00 to 03:00');
  });

  test('the TZ= prefix decides the zone; UTC never flags', () => {
    const p = previewSchedule('TZ=America/New_York 0 30 2 * * *', { timezone: 'UTC', count: 1, after: new Date('2026-03-08T00:00:00Z') });
    assert.equal(p.timezone, NY);
    assert.deepEqual(p.next.map(brief), ['2026-03-08 03:00:00 -04:00 skipped']);
    const u = previewSchedule('0 30 2 * * *', { timezone: 'UTC', count: 3, after: new Date('2026-03-28T00:00:00Z') });
    assert.ok(u.next.every((r) => r.dst === null && r.note === undefined && r.offset === '+00:00'));
  });
});

describe('schedule preview: shapes', () => {
  test('count defaults to 5 and is capped at 50; @every and @at', () => {
    const after = new Date('2026-01-01T00:00:00Z');
    assert.equal(previewSchedule('@every 1h30m', { timezone: 'UTC', after }).next.length, 5);
    const every = previewSchedule('@every 1h30m', { timezone: 'UTC', after, count: 500 });
    assert.equal(every.next.length, 50);
    assert.equal(every.next[1]?.at, '2026-01-01T03:00:00.000Z');
    const at = previewSchedule('@at 2026-12-01T02:00:00Z', { timezone: BERLIN, after, count: 10 });
    assert.deepEqual(at.next.map(brief), ['2026-12-01 03:00:00 +01:00 -']);
    assert.equal(at.description, 'once at 2026-12-01 02:00 UTC');
    assert.deepEqual(previewSchedule('@manually', { after }).next, []);
  });

  test('a bad schedule or zone throws ScheduleError', () => {
    assert.throws(() => previewSchedule('61 * * * *'), ScheduleError);
    assert.throws(() => previewSchedule('TZ=Mars/Olympus 0 * * * *'), ScheduleError);
  });

  test('a stored job: from its next, up to expires_at; a child job runs after its parent', () => {
    const base = { name: 'j', schedule: '@every 1h', timezone: 'UTC', parent_job: '', disabled: false, expires_at: null } as unknown as Job;
    const job = { ...base, next: '2026-05-01T10:15:00.000Z', expires_at: '2026-05-01T12:15:00.000Z' } as Job;
    assert.deepEqual(jobNext(job, 10).next.map((r) => r.at), ['2026-05-01T10:15:00.000Z', '2026-05-01T11:15:00.000Z', '2026-05-01T12:15:00.000Z']);
    const child = jobNext({ ...base, schedule: '', parent_job: 'a', next: null } as Job, 10);
    assert.deepEqual([child.description, child.next], ['after a', []]);
    const disabled = jobNext({ ...base, disabled: true, next: null } as Job, 3);
    assert.equal(disabled.next.length, 3);
    assert.equal((disabled as { disabled?: boolean }).disabled, true);
  });
});

describe('schedule in plain words', () => {
  const cases: Array<[string, string]> = [
    ['*/5 * * * *', 'every 5 minutes'],
    ['0 0 2 * * *', 'at 02:00 every day'],
    ['0 0 * * * 1-5', 'at minute 0 past every hour on Monday through Friday'],
    ['@every 1h30m', 'every 1h30m'],
    ['@at 2026-12-01T02:00:00Z', 'once at 2026-12-01 02:00 UTC'],
    ['@daily', 'at 00:00 every day'],
    ['@weekly', 'at 00:00 on Sunday'],
    ['@yearly', 'at 00:00 on January 1'],
    ['0 0 9-17 * * MON-FRI', 'at minute 0 past every hour from 09:00 to 17:59 on Monday through Friday'],
    ['0 */15 9-17 * * *', 'every 15 minutes from 09:00 to 17:59'],
    ['0 0 0 1,15 * *', 'at 00:00 on day 1 and 15 of the month'],
    ['30 4 1 * 0', 'at 04:30 on day 1 of the month or on Sunday'],
    ['0 0 12 * JAN-MAR *', 'at 12:00 every day in January through March'],
    ['*/10 * * * * *', 'every 10 seconds'],
    ['0 0 8,20 * * *', 'at 08:00 and 20:00 every day'],
    ['TZ=Asia/Tokyo 0 0 9 * * *', 'at 09:00 every day (Asia/Tokyo)'],
    // Too irregular to say well: the expression itself.
    ['0 1-5/2,7 3,9-11 * * *', '0 1-5/2,7 3,9-11 * * *'],
  ];
  for (const [spec, words] of cases) {
    test(`${spec} → ${words}`, () => assert.equal(describeSchedule(spec), words));
  }
});
