import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScheduleError, isValidTimezone, parseSchedule } from '../../src/scheduler/schedule.js';
import type { Schedule, ScheduleOptions } from '../../src/scheduler/schedule.js';

// A Saturday; every expectation below is a fixed instant, never "now".
const FROM = '2026-03-14T10:20:30.000Z';
const UTC: ScheduleOptions = { timezone: 'UTC' };
const NY = 'America/New_York';

function nextIso(spec: string, after: string, options: ScheduleOptions = UTC): string | null {
  return parseSchedule(spec, options).next(new Date(after))?.toISOString() ?? null;
}

function runs(schedule: Schedule, from: string, n: number): string[] {
  const out: string[] = [];
  let d: Date | null = new Date(from);
  for (let i = 0; i < n; i++) {
    d = schedule.next(d);
    if (!d) break;
    out.push(d.toISOString());
  }
  return out;
}

function runsBetween(schedule: Schedule, from: string, to: string): string[] {
  const out: string[] = [];
  const end = new Date(to);
  let d: Date | null = new Date(from);
  for (;;) {
    d = schedule.next(d);
    if (!d || d >= end) return out;
    out.push(d.toISOString());
  }
}

function assertScheduleError(spec: string, message?: RegExp, options: ScheduleOptions = UTC): void {
  assert.throws(
    () => parseSchedule(spec, options),
    (err: unknown) => {
      assert.ok(err instanceof ScheduleError, `expected ScheduleError for "${spec}", got ${String(err)}`);
      assert.ok(err.message.length > 0);
      assert.doesNotMatch(err.message, /^ScheduleError/);
      if (message) assert.match(err.message, message);
      return true;
    },
  );
}

void test('descriptors', () => {
  const cases: Array<[string, string]> = [
    ['@yearly', '2027-01-01T00:00:00.000Z'],
    ['@annually', '2027-01-01T00:00:00.000Z'],
    ['@monthly', '2026-04-01T00:00:00.000Z'],
    ['@weekly', '2026-03-15T00:00:00.000Z'],
    ['@daily', '2026-03-15T00:00:00.000Z'],
    ['@midnight', '2026-03-15T00:00:00.000Z'],
    ['@hourly', '2026-03-14T11:00:00.000Z'],
    ['@minutely', '2026-03-14T10:21:00.000Z'],
  ];
  for (const [spec, want] of cases) {
    const s = parseSchedule(spec, UTC);
    assert.equal(s.kind, 'cron', spec);
    assert.equal(s.next(new Date(FROM))?.toISOString(), want, spec);
  }
  assert.deepEqual(runs(parseSchedule('@weekly', UTC), FROM, 2), [
    '2026-03-15T00:00:00.000Z',
    '2026-03-22T00:00:00.000Z',
  ]);
});

void test('descriptors honour the job timezone (unlike dkron)', () => {
  assert.equal(nextIso('@daily', FROM, { timezone: 'Asia/Tokyo' }), '2026-03-14T15:00:00.000Z');
  assert.equal(nextIso('@monthly', FROM, { timezone: 'Asia/Tokyo' }), '2026-03-31T15:00:00.000Z');
  // Kolkata is UTC+05:30, so even its hours start at :30 UTC.
  assert.equal(nextIso('@hourly', FROM, { timezone: 'Asia/Kolkata' }), '2026-03-14T10:30:00.000Z');
  assert.equal(nextIso('TZ=Asia/Tokyo @daily', FROM), '2026-03-14T15:00:00.000Z');
});

void test('6-field cron, seconds first', () => {
  assert.equal(nextIso('30 15 10 * * *', FROM), '2026-03-15T10:15:30.000Z');
  assert.equal(nextIso('45 20 10 * * *', FROM), '2026-03-14T10:20:45.000Z');
  assert.equal(nextIso('*/15 * * * * *', FROM), '2026-03-14T10:20:45.000Z');
  assert.deepEqual(runs(parseSchedule('0 0 9-17/4 * * *', UTC), FROM, 3), [
    '2026-03-14T13:00:00.000Z',
    '2026-03-14T17:00:00.000Z',
    '2026-03-15T09:00:00.000Z',
  ]);
  assert.deepEqual(runs(parseSchedule('0 5,10 * * * *', UTC), FROM, 3), [
    '2026-03-14T11:05:00.000Z',
    '2026-03-14T11:10:00.000Z',
    '2026-03-14T12:05:00.000Z',
  ]);
  // robfig's "N/step" means N-max/step.
  assert.deepEqual(runs(parseSchedule('5/20 * * * * *', UTC), FROM, 3), [
    '2026-03-14T10:20:45.000Z',
    '2026-03-14T10:21:05.000Z',
    '2026-03-14T10:21:25.000Z',
  ]);
});

void test('classic 5-field cron is minute first and fires at second 0', () => {
  assert.equal(nextIso('15 10 * * *', FROM), '2026-03-15T10:15:00.000Z');
  assert.deepEqual(runs(parseSchedule('*/5 * * * *', UTC), FROM, 2), [
    '2026-03-14T10:25:00.000Z',
    '2026-03-14T10:30:00.000Z',
  ]);
  assert.equal(nextIso('0 9 * * MON', FROM), '2026-03-16T09:00:00.000Z');
  assert.equal(nextIso('0 9 * * *', FROM, { timezone: 'Asia/Tokyo' }), '2026-03-15T00:00:00.000Z');
});

void test('next is strictly after, with second resolution', () => {
  assert.equal(nextIso('* * * * * *', '2026-01-01T10:00:00.500Z'), '2026-01-01T10:00:01.000Z');
  assert.equal(nextIso('* * * * * *', '2026-01-01T10:00:00.000Z'), '2026-01-01T10:00:01.000Z');
  assert.equal(nextIso('* * * * * *', '2026-01-01T10:00:00.999Z'), '2026-01-01T10:00:01.000Z');
  assert.equal(nextIso('0 0 10 * * *', '2026-01-01T10:00:00.000Z'), '2026-01-02T10:00:00.000Z');
  assert.equal(nextIso('0 0 10 * * *', '2026-01-01T10:00:00.001Z'), '2026-01-02T10:00:00.000Z');
  assert.equal(nextIso('0 0 10 * * *', '2026-01-01T09:59:59.999Z'), '2026-01-01T10:00:00.000Z');
});

void test('day of month and day of week: either matches when both are restricted', () => {
  const from = '2026-02-01T00:00:00.000Z'; // a Sunday
  // Feb 2 and 9 are Mondays, Feb 5 is a Thursday.
  assert.deepEqual(runs(parseSchedule('0 0 0 5 * MON', UTC), from, 3), [
    '2026-02-02T00:00:00.000Z',
    '2026-02-05T00:00:00.000Z',
    '2026-02-09T00:00:00.000Z',
  ]);
  assert.deepEqual(runs(parseSchedule('0 0 0 5 * *', UTC), from, 2), [
    '2026-02-05T00:00:00.000Z',
    '2026-03-05T00:00:00.000Z',
  ]);
  assert.deepEqual(runs(parseSchedule('0 0 0 * * MON', UTC), from, 2), [
    '2026-02-02T00:00:00.000Z',
    '2026-02-09T00:00:00.000Z',
  ]);
  // `?` and `*/1` are "star" in robfig, so only the other field restricts.
  for (const dom of ['?', '*/1', '*,5']) {
    assert.deepEqual(runs(parseSchedule(`0 0 0 ${dom} * MON`, UTC), from, 2), [
      '2026-02-02T00:00:00.000Z',
      '2026-02-09T00:00:00.000Z',
    ], dom);
  }
  assert.deepEqual(runs(parseSchedule('0 0 0 5 * ?', UTC), from, 1), ['2026-02-05T00:00:00.000Z']);
  // A step is not star: 1-31/10 (1, 11, 21, 31) OR Monday.
  assert.deepEqual(runs(parseSchedule('0 0 0 */10 * MON', UTC), from, 4), [
    '2026-02-02T00:00:00.000Z',
    '2026-02-09T00:00:00.000Z',
    '2026-02-11T00:00:00.000Z',
    '2026-02-16T00:00:00.000Z',
  ]);
});

void test('month and weekday names, case-insensitive', () => {
  assert.equal(nextIso('0 0 12 1 JAN *', FROM), '2027-01-01T12:00:00.000Z');
  assert.equal(nextIso('0 0 12 1 jan *', FROM), '2027-01-01T12:00:00.000Z');
  assert.equal(nextIso('0 0 12 1 Apr-Jun *', FROM), '2026-04-01T12:00:00.000Z');
  assert.equal(nextIso('0 0 12 * * mon-fri', FROM), '2026-03-16T12:00:00.000Z');
  assert.equal(nextIso('0 0 12 * * SUN', FROM), '2026-03-15T12:00:00.000Z');
  assert.equal(nextIso('0 0 12 * * SAT', FROM), '2026-03-14T12:00:00.000Z');
  assert.deepEqual(
    runs(parseSchedule('0 0 0 * * MON-FRI/2', UTC), FROM, 3),
    ['2026-03-16T00:00:00.000Z', '2026-03-18T00:00:00.000Z', '2026-03-20T00:00:00.000Z'],
  );
});

void test('TZ= and CRON_TZ= prefixes override the job timezone', () => {
  const opts = { timezone: NY };
  assert.equal(nextIso('TZ=Asia/Tokyo 0 0 9 * * *', FROM, opts), '2026-03-15T00:00:00.000Z');
  assert.equal(nextIso('CRON_TZ=Asia/Tokyo 0 0 9 * * *', FROM, opts), '2026-03-15T00:00:00.000Z');
  assert.equal(nextIso('CRON_TZ=Asia/Tokyo 0 9 * * *', FROM, opts), '2026-03-15T00:00:00.000Z');
  assert.equal(nextIso('TZ=UTC   0 0 9 * * *', FROM, opts), '2026-03-15T09:00:00.000Z');
  assertScheduleError('TZ=Mars/Olympus 0 0 9 * * *', /Mars\/Olympus/);
  assertScheduleError('CRON_TZ=Nowhere 0 0 9 * * *', /Nowhere/);
  assertScheduleError('TZ= 0 0 9 * * *');
  assertScheduleError('TZ=UTC');
});

void test('job timezone versus UTC', () => {
  assert.equal(nextIso('0 0 9 * * *', FROM, { timezone: 'Asia/Tokyo' }), '2026-03-15T00:00:00.000Z');
  assert.equal(nextIso('0 0 9 * * *', FROM, { timezone: 'UTC' }), '2026-03-15T09:00:00.000Z');
  // UTC aliases behave as UTC.
  for (const tz of ['Etc/UTC', 'utc', 'GMT']) {
    assert.equal(nextIso('0 0 9 * * *', FROM, { timezone: tz }), '2026-03-15T09:00:00.000Z', tz);
  }
  // March 14 2026 is after US DST started (Mar 8): EDT, UTC-4.
  assert.equal(nextIso('0 0 9 * * *', FROM, { timezone: NY }), '2026-03-14T13:00:00.000Z');
  assertScheduleError('0 0 9 * * *', /Mars\/Olympus/, { timezone: 'Mars/Olympus' });
});

void test('no timezone, "" and "Local" use the process zone', () => {
  const local = new Intl.DateTimeFormat().resolvedOptions().timeZone;
  for (const spec of ['0 0 9 * * *', '@daily', '30 2 * * *']) {
    const want = runs(parseSchedule(spec, { timezone: local }), FROM, 5);
    assert.deepEqual(runs(parseSchedule(spec), FROM, 5), want, spec);
    assert.deepEqual(runs(parseSchedule(spec, { timezone: '' }), FROM, 5), want, spec);
    assert.deepEqual(runs(parseSchedule(spec, { timezone: 'Local' }), FROM, 5), want, spec);
    assert.deepEqual(runs(parseSchedule(`TZ=Local ${spec}`, UTC), FROM, 5), want, spec);
  }
});

void test('@every', () => {
  const after = new Date('2026-01-01T10:00:00.000Z');
  const cases: Array<[string, number]> = [
    ['1s', 1000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['500ms', 1000],
    ['1500ms', 1000],
    ['2.9s', 2000],
  ];
  for (const [dur, ms] of cases) {
    const s = parseSchedule(`@every ${dur}`, UTC);
    assert.equal(s.kind, 'every', dur);
    assert.equal(s.next(after)?.getTime(), after.getTime() + ms, dur);
  }
  // The interval is added to `after` as given.
  const odd = new Date('2026-01-01T10:00:00.250Z');
  assert.equal(parseSchedule('@every 10s').next(odd)?.toISOString(), '2026-01-01T10:00:10.250Z');
  // The job timezone is irrelevant, even a bogus one.
  assert.equal(parseSchedule('@every 1m', { timezone: 'Mars/Olympus' }).kind, 'every');
  for (const bad of ['@every', '@every 0s', '@every 0', '@every -5s', '@every abc', '@every 10', '@every 1x']) {
    assertScheduleError(bad, /@every/);
  }
});

void test('@at', () => {
  const s = parseSchedule('@at 2026-01-02T15:04:05Z', UTC);
  assert.equal(s.kind, 'at');
  assert.equal(s.next(new Date('2026-01-01T00:00:00Z'))?.toISOString(), '2026-01-02T15:04:05.000Z');
  assert.equal(s.next(new Date('2026-01-02T15:04:04.999Z'))?.toISOString(), '2026-01-02T15:04:05.000Z');
  assert.equal(s.next(new Date('2026-01-02T15:04:05Z')), null);
  assert.equal(s.next(new Date('2027-01-01T00:00:00Z')), null);

  const offset = parseSchedule('@at 2026-01-02T15:04:05+02:00');
  assert.equal(offset.next(new Date('2026-01-01T00:00:00Z'))?.toISOString(), '2026-01-02T13:04:05.000Z');
  const negative = parseSchedule('@at 2026-01-02T15:04:05-05:30');
  assert.equal(negative.next(new Date('2026-01-01T00:00:00Z'))?.toISOString(), '2026-01-02T20:34:05.000Z');
  const frac = parseSchedule('@at 2026-01-02T15:04:05.123456789Z');
  assert.equal(frac.next(new Date('2026-01-01T00:00:00Z'))?.toISOString(), '2026-01-02T15:04:05.123Z');

  for (const bad of [
    '@at',
    '@at tomorrow',
    '@at 2026-01-02',
    '@at 2026-01-02T15:04:05',
    '@at 2026-01-02 15:04:05Z',
    '@at Jan 2 2026 15:04:05 GMT',
    '@at 2026-02-30T00:00:00Z',
    '@at 2026-13-01T00:00:00Z',
    '@at 2026-01-02T24:00:00Z',
    '@at 2026-01-02T15:04:05+2:00',
  ]) {
    assertScheduleError(bad, /@at/);
  }
});

void test('@manually', () => {
  const s = parseSchedule('@manually', UTC);
  assert.equal(s.kind, 'manual');
  assert.equal(s.next(new Date(FROM)), null);
  assert.equal(s.next(new Date(0)), null);
});

void test('~ hash placeholder', () => {
  const jobName = 'test_job'; // code points sum to 858
  const same = (a: string, b: string): void => {
    assert.deepEqual(
      runs(parseSchedule(a, { timezone: 'UTC', jobName }), FROM, 5),
      runs(parseSchedule(b, UTC), FROM, 5),
      `${a} vs ${b}`,
    );
  };
  same('0 0 ~ * * *', '0 0 18 * * *');
  same('0 0 0 1 ~ *', '0 0 0 1 7 *');
  // 858 % 60 = 18, % 24 = 18, % 28 + 1 = 19, % 12 + 1 = 7, % 7 = 4
  same('~ ~ ~ ~ ~ *', '18 18 18 19 7 *');
  same('0 0 0 * * ~', '0 0 0 * * 4');
  same('0 ~/15 * * * *', '0 18/15 * * * *');
  same('0 ~/15 * * * *', '0 18,33,48 * * * *');
  // In 5-field specs the first field is the minute.
  same('~ ~ * * *', '0 18 18 * * *');
  same('~ * * * *', '0 18 * * * *');
  assert.equal(
    nextIso('0 0 ~ * * *', FROM, { timezone: 'UTC', jobName }),
    '2026-03-14T18:00:00.000Z',
  );
  // Specs starting with @ are left alone.
  assert.equal(parseSchedule('@daily', { jobName }).kind, 'cron');
  assertScheduleError('0 0 ~ * * *', /job name/);
  assertScheduleError('0 0 ~ * * *', /job name/, { timezone: 'UTC', jobName: '' });
});

void test('errors', () => {
  assertScheduleError('* * * * * * *', /expected 5 or 6 fields, got 7/);
  assertScheduleError('* * * *', /expected 5 or 6 fields, got 4/);
  assertScheduleError('61 * * * * *', /61/);
  assertScheduleError('* 60 * * * *', /60/);
  assertScheduleError('* * 24 * * *', /24/);
  assertScheduleError('* * * 0 * *', /day of month/);
  assertScheduleError('* * * 32 * *', /32/);
  assertScheduleError('* * * * 13 *', /13/);
  assertScheduleError('* * * * 0 *', /month/);
  // robfig accepts 0-6 only; croner would take 7 as Sunday.
  assertScheduleError('* * * * * 7', /day of week/);
  assertScheduleError('* * * * FOO *', /FOO/);
  assertScheduleError('* * * * * MON-FOO', /FOO/);
  assertScheduleError('* MON * * * *', /MON/);
  assertScheduleError('*/0 * * * * *', /step/);
  assertScheduleError('*/x * * * * *', /step/);
  assertScheduleError('5-1 * * * * *', /5/);
  assertScheduleError('1-2-3 * * * * *', /hyphens/);
  assertScheduleError('1/2/3 * * * * *', /slashes/);
  assertScheduleError('1,,2 * * * * *');
  assertScheduleError('-1 * * * * *');
  // croner extensions that dkron does not accept.
  assertScheduleError('0 0 0 L * *');
  assertScheduleError('0 0 0 15W * *');
  assertScheduleError('0 0 0 * * MON#2');
  assertScheduleError('0 0 0 * * +MON');
  assertScheduleError('@foo', /unknown descriptor "@foo"/);
  assertScheduleError('@DAILY', /unknown descriptor/);
  assertScheduleError('@daily extra', /no argument/);
  assertScheduleError('@manually now', /no argument/);
  assertScheduleError('', /empty/);
  assertScheduleError('   ', /empty/);
  assertScheduleError('0 0 9 * * *', /unknown time zone "Nowhere\/Special"/, { timezone: 'Nowhere/Special' });
  assertScheduleError('@daily', /unknown time zone/, { timezone: 'Nowhere/Special' });
});

void test('isValidTimezone', () => {
  for (const tz of ['', 'Local', 'UTC', 'Etc/UTC', 'America/New_York', 'Asia/Tokyo', 'Europe/Berlin']) {
    assert.equal(isValidTimezone(tz), true, tz);
  }
  for (const tz of ['Mars/Olympus', 'New York', 'local', 'America/NowhereCity']) {
    assert.equal(isValidTimezone(tz), false, tz);
  }
});

void test('schedules stay tiny (a key, plus a cron schedule\'s last answer) and equal specs share one', () => {
  for (const spec of ['0 0 9 * * *', '@daily', '@every 1m', '@at 2026-01-02T15:04:05Z', '@manually']) {
    const s = parseSchedule(spec, { timezone: NY });
    assert.ok(Object.keys(s).filter((k) => k !== 'kind' && k !== 'next').length <= 3, spec);
    assert.equal(parseSchedule(spec, { timezone: NY }), s, `${spec} is parsed once`);
  }
  // `~` depends on the job's name: never shared.
  assert.notEqual(parseSchedule('0 ~ * * * *', { jobName: 'a' }), parseSchedule('0 ~ * * * *', { jobName: 'a' }));
});

void test('a cron schedule\'s remembered answer holds for every instant before it, and only those', () => {
  const s = parseSchedule('0 */5 * * * *', UTC);
  const base = Date.parse('2026-03-15T10:01:00.000Z');
  // Asked in increasing, then decreasing, then repeated order, across the remembered interval's edges.
  const instants = [0, 1, 60_000, 239_999, 240_000, 240_001, 900_000, 10, -3_600_000, 239_999].map((d) => base + d);
  for (const t of instants) {
    // Worked out without croner: the next multiple of 5 minutes strictly after t.
    const want = new Date(Math.floor(t / 300_000) * 300_000 + 300_000).toISOString();
    assert.equal(s.next(new Date(t))?.toISOString(), want, `next after ${new Date(t).toISOString()}`);
  }
});

void test('schedules keep working after their compiled pattern is evicted', () => {
  const first = parseSchedule('0 30 2 * * *', { timezone: NY });
  const want = runs(first, FROM, 3);
  // More distinct patterns than the cache holds.
  for (let i = 0; i < 10_050; i++) {
    parseSchedule(`${i % 60} ${Math.floor(i / 60) % 60} ${Math.floor(i / 3600)} * * *`, UTC);
  }
  assert.deepEqual(runs(first, FROM, 3), want);
  assert.deepEqual(want, ['2026-03-15T06:30:00.000Z', '2026-03-16T06:30:00.000Z', '2026-03-17T06:30:00.000Z']);
});

void test('impossible dates give null rather than looping', () => {
  assert.equal(nextIso('0 0 0 31 2 *', FROM), null);
  assert.equal(nextIso('0 0 0 30 2 *', FROM, { timezone: NY }), null);
  assert.equal(nextIso('0 0 0 29 2 *', FROM), '2028-02-29T00:00:00.000Z');
});

// DST, America/New_York 2026: spring forward Mar 8 02:00 EST -> 03:00 EDT,
// fall back Nov 1 02:00 EDT -> 01:00 EST.

void test('DST spring forward: a daily job in the gap fires once, at 03:00 EDT', () => {
  const s = parseSchedule('0 30 2 * * *', { timezone: NY });
  assert.deepEqual(runsBetween(s, '2026-03-06T12:00:00Z', '2026-03-10T12:00:00Z'), [
    '2026-03-07T07:30:00.000Z', // 02:30 EST
    '2026-03-08T07:00:00.000Z', // 02:30 does not exist: 03:00 EDT, once
    '2026-03-09T06:30:00.000Z', // 02:30 EDT
    '2026-03-10T06:30:00.000Z',
  ]);
  // Times before the gap still fire normally.
  assert.equal(nextIso('0 30 1 * * *', '2026-03-08T05:00:00Z', { timezone: NY }), '2026-03-08T06:30:00.000Z');
  // Several fixed times inside the gap collapse into one run.
  assert.deepEqual(
    runsBetween(parseSchedule('0 0,30 2 * * *', { timezone: NY }), '2026-03-08T00:00:00Z', '2026-03-09T00:00:00Z'),
    ['2026-03-08T07:00:00.000Z'],
  );
});

void test('DST fall back: a daily job in the repeated hour fires once, at the first 01:30', () => {
  const s = parseSchedule('0 30 1 * * *', { timezone: NY });
  assert.deepEqual(runsBetween(s, '2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z'), [
    '2026-10-31T05:30:00.000Z', // 01:30 EDT
    '2026-11-01T05:30:00.000Z', // 01:30 EDT, first pass only
    '2026-11-02T06:30:00.000Z', // 01:30 EST
  ]);
  // Asking from inside either pass of the repeated hour never yields the second 01:30.
  for (const after of ['2026-11-01T05:30:00Z', '2026-11-01T05:45:00Z', '2026-11-01T06:15:00Z']) {
    assert.equal(s.next(new Date(after))?.toISOString(), '2026-11-02T06:30:00.000Z', after);
  }
  // Lists of fixed times count as fixed-time too (croner fixedTimeRule 'no-wildcard').
  assert.deepEqual(
    runsBetween(parseSchedule('0 30 1,13 * * *', { timezone: NY }), '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z'),
    ['2026-11-01T05:30:00.000Z', '2026-11-01T18:30:00.000Z'],
  );
});

function assertEvenlySpaced(fires: string[], stepMs: number): void {
  for (let i = 1; i < fires.length; i++) {
    const gap = Date.parse(fires[i] as string) - Date.parse(fires[i - 1] as string);
    assert.equal(gap, stepMs, `${fires[i - 1]} -> ${fires[i]}`);
  }
}

void test('DST: hourly and sub-hourly jobs fire at every real interval, no duplicates', () => {
  for (const spec of ['0 0 * * * *', '@hourly', '0 * * * *']) {
    const s = parseSchedule(spec, { timezone: NY });
    const spring = runsBetween(s, '2026-03-08T02:30:00Z', '2026-03-08T12:30:00Z');
    assert.equal(spring.length, 10, spec);
    assert.equal(spring[0], '2026-03-08T03:00:00.000Z');
    assertEvenlySpaced(spring, 3_600_000);
    const fall = runsBetween(s, '2026-11-01T01:30:00Z', '2026-11-01T11:30:00Z');
    assert.equal(fall.length, 10, spec);
    // Both 01:00 EDT (05:00Z) and 01:00 EST (06:00Z) are real hours.
    assert.ok(fall.includes('2026-11-01T05:00:00.000Z') && fall.includes('2026-11-01T06:00:00.000Z'));
    assertEvenlySpaced(fall, 3_600_000);
  }
  const quarter = parseSchedule('0 */15 * * * *', { timezone: NY });
  assertEvenlySpaced(runsBetween(quarter, '2026-03-08T05:00:00Z', '2026-03-08T09:00:00Z'), 900_000);
  assertEvenlySpaced(runsBetween(quarter, '2026-11-01T04:00:00Z', '2026-11-01T08:00:00Z'), 900_000);
});
