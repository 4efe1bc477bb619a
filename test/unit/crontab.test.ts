/**
 * Crontab import (src/cli/crontab.ts): every cron syntax form becomes the job
 * cron would run, at the times cron would run it. cron's times are computed
 * independently with cron-parser (not croner, which Kairos itself uses).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CronExpressionParser } from 'cron-parser';
import { parseCrontab, splitPercent, withStdin, slug } from '../../src/cli/crontab.js';
import { parseSchedule } from '../../src/scheduler/schedule.js';
import { normalizeJobInput } from '../../src/job/schema.js';
import { ExecutorRegistry } from '../../src/executors/registry.js';
import { ShellExecutor } from '../../src/executors/shell.js';

export const SAMPLE = [
  '# every form cron reads', // 1
  'SHELL=/bin/sh', // 2
  'MAILTO=ops@example.com', // 3
  'GREETING = "hello there"', // 4
  '*/15 * * * * /usr/local/bin/backup.sh --full', // 5: step
  '0 9-17/2 * * mon-fri echo $GREETING', // 6: range with step, day names
  '30 4 1,15 jan,jul * run-report', // 7: lists, month names
  '@daily /usr/bin/cleanup', // 8
  '0 3 * * 7 echo sunday', // 9: 7 = Sunday
  '5 0 * * 1-7 echo every-day', // 10: range to 7
  '0 0 13 * fri echo friday-or-13th', // 11: dom OR dow
  'MAILTO=""', // 12
  '5 4 * * * echo "50\\% done" && cat%first line%second line', // 13: % stdin, \% literal
  '@reboot /usr/bin/start-thing', // 14
  '61 * * * * broken', // 15
  'not a cron line at all', // 16
  '@hourly  echo hourly', // 17
  '', // 18
].join('\n');

const EXPECTED_SCHEDULES: Record<number, string> = {
  5: '*/15 * * * *',
  6: '0 9-17/2 * * mon-fri',
  7: '30 4 1,15 jan,jul *',
  8: '@daily',
  9: '0 3 * * 0',
  10: '5 0 * * 1-6,0',
  11: '0 0 13 * fri',
  13: '5 4 * * *',
  17: '@hourly',
};

const registry = new ExecutorRegistry();
registry.register(new ShellExecutor());

test('crontab: each line becomes the job cron would run; @reboot and malformed lines are reported by line number', () => {
  const result = parseCrontab(SAMPLE, { timezone: 'Europe/Paris', tags: { team: 'ops' }, source: 'sample' });
  assert.deepEqual(result.lines, [5, 6, 7, 8, 9, 10, 11, 13, 17]);
  result.jobs.forEach((job, i) => {
    const line = result.lines[i] as number;
    assert.equal(job.schedule, EXPECTED_SCHEDULES[line], `line ${line}`);
    assert.equal(job.timezone, 'Europe/Paris');
    assert.equal(job.executor, 'shell');
    assert.equal(job.executor_config.shell, 'true');
    assert.deepEqual(job.tags, { team: 'ops' });
    assert.equal(job.metadata['imported-from'], 'sample');
    assert.equal(job.executor_config.env, 'SHELL=/bin/sh,GREETING=hello there');
    // Every job is valid for the API.
    normalizeJobInput(job, registry);
  });
  const byLine = new Map(result.jobs.map((j, i) => [result.lines[i], j]));
  assert.equal(byLine.get(5)?.executor_config.command, '/usr/local/bin/backup.sh --full');
  assert.match(byLine.get(5)?.name ?? '', /^backup-sh-full-[0-9a-f]{8}$/);
  assert.equal(byLine.get(5)?.owner_email, 'ops@example.com');
  assert.equal(byLine.get(13)?.owner_email, undefined, 'MAILTO="" clears the owner email');
  assert.equal(byLine.get(13)?.executor_config.command, "{ echo \"50% done\" && cat\n} <<'KAIROS_STDIN'\nfirst line\nsecond line\nKAIROS_STDIN");

  assert.deepEqual(
    result.problems.filter((p) => p.kind === 'skipped').map((p) => p.line),
    [14, 15, 16],
  );
  assert.match(result.problems.find((p) => p.line === 14)?.reason ?? '', /@reboot/);
  assert.match(result.problems.find((p) => p.line === 15)?.reason ?? '', /minute/);
});

test('crontab: names are stable across imports and differ per command', () => {
  const a = parseCrontab(SAMPLE, { timezone: 'UTC' });
  const b = parseCrontab(`# moved down\n\n${SAMPLE}`, { timezone: 'UTC' });
  assert.deepEqual(
    a.jobs.map((j) => j.name),
    b.jobs.map((j) => j.name),
  );
  assert.equal(new Set(a.jobs.map((j) => j.name)).size, a.jobs.length);
  assert.equal(slug('/usr/local/bin/backup.sh --full'), 'backup-sh-full');
  const twice = parseCrontab('0 1 * * * same\n0 2 * * * same\n', { timezone: 'UTC' });
  assert.equal(twice.jobs.length, 2);
  assert.notEqual(twice.jobs[0]?.name, twice.jobs[1]?.name);
});

test('crontab: the system format takes a user column', () => {
  const result = parseCrontab('17 * * * * root cd / && run-parts --report /etc/cron.hourly\n', { system: true, timezone: 'UTC' });
  assert.equal(result.jobs.length, 1);
  assert.equal(result.jobs[0]?.owner, 'root');
  assert.equal(result.jobs[0]?.metadata['cron-user'], 'root');
  assert.equal(result.jobs[0]?.executor_config.command, 'cd / && run-parts --report /etc/cron.hourly');
});

test('crontab: % handling as cron does it', () => {
  assert.deepEqual(splitPercent('cmd'), { command: 'cmd', stdin: null });
  assert.deepEqual(splitPercent('date +\\%Y'), { command: 'date +%Y', stdin: null });
  assert.deepEqual(splitPercent('cat%a%b\\%c%'), { command: 'cat', stdin: 'a\nb%c\n' });
  // The here-doc feeds the whole command, as cron feeds `sh -c`.
  const script = withStdin('tr a-z A-Z | cat', 'one\ntwo');
  const out = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
  assert.equal(out.stdout, 'ONE\nTWO\n');
  // A line equal to the delimiter gets another one.
  assert.match(withStdin('cat', 'KAIROS_STDIN'), /KAIROS_STDIN_1'\n/);
});

test('crontab: imported schedules fire when cron would (cron-parser), for a year of runs', () => {
  const result = parseCrontab(SAMPLE, { timezone: 'UTC' });
  for (const [i, job] of result.jobs.entries()) {
    const line = result.lines[i] as number;
    // cron-parser reads cron's own text (with 7 for Sunday), not the rewritten one.
    const original = SAMPLE.split('\n')[line - 1] as string;
    const cronSpec = original.startsWith('@') ? (original.split(/\s+/)[0] as string) : original.split(/\s+/).slice(0, 5).join(' ');
    const cron = CronExpressionParser.parse(cronSpec, { currentDate: new Date('2026-01-01T00:00:00Z'), tz: 'UTC' });
    const ours = parseSchedule(job.schedule, { timezone: 'UTC' });
    let at = new Date('2026-01-01T00:00:00Z');
    for (let n = 0; n < 200; n++) {
      const want = cron.next().toDate();
      const got = ours.next(at);
      assert.equal(got?.toISOString(), want.toISOString(), `line ${line} (${cronSpec}), run ${n}`);
      at = got as Date;
    }
  }
});
