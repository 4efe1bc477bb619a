/**
 * The start SLO (max_start_delay): which starts breach it, whether a breach is notified under
 * each notify_on, what the notice says on each channel, and the counters the event feeds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { breachMs, lateStart, recordedBreachMs, startCounts, startDelayLimitMs } from '../../src/job/slo.js';
import { lateNotified } from '../../src/notify/notifier.js';
import { slackMessage } from '../../src/notify/slack.js';
import { mailBodies, mailSubject } from '../../src/notify/mail.js';
import { summary, type Notice } from '../../src/notify/message.js';
import { EventBus } from '../../src/events/bus.js';
import { PrometheusMetrics } from '../../src/metrics/prometheus.js';
import { StatsdMetrics } from '../../src/metrics/statsd.js';
import { udpSink } from '../helpers/sinks.js';
import { job as makeJob } from '../helpers/fixtures.js';
import type { Execution, Trigger } from '../../src/job/types.js';

const exec = (over: Partial<Execution> = {}): Execution => ({
  id: '1700000000000-n1',
  job_name: 'backup',
  started_at: '2026-11-29T15:04:17.300Z',
  finished_at: null,
  success: false,
  output: '',
  node_name: 'n1',
  group: 1764428645000000,
  attempt: 1,
  exit_code: null,
  scheduled_at: '2026-11-29T15:04:05Z',
  trigger: 'schedule',
  ...over,
});

test('the limit: a positive Go duration, else no SLO', () => {
  assert.equal(startDelayLimitMs({ max_start_delay: '5s' }), 5000);
  assert.equal(startDelayLimitMs({ max_start_delay: '1m30s' }), 90_000);
  assert.equal(startDelayLimitMs({ max_start_delay: '' }), null);
  assert.equal(startDelayLimitMs({}), null, 'a job stored before the field existed');
  assert.equal(startDelayLimitMs({ max_start_delay: 'soon' }), null);
  assert.equal(startDelayLimitMs({ max_start_delay: '0s' }), null);
});

test('only first attempts of scheduled and caught-up runs count, and only beyond the limit', () => {
  const counted: Trigger[] = ['schedule', 'catchup'];
  for (const trigger of ['schedule', 'catchup', 'manual', 'parent', 'retry'] as Trigger[]) {
    assert.equal(startCounts({ attempt: 1, trigger }), counted.includes(trigger), trigger);
    assert.equal(breachMs({ attempt: 1, trigger }, 6000, 5000), counted.includes(trigger) ? 6000 : null, trigger);
  }
  assert.equal(startCounts({ attempt: 2, trigger: 'schedule' }), false);
  assert.equal(breachMs({ attempt: 1, trigger: 'schedule' }, 5000, 5000), null, 'exactly at the limit is within it');
  assert.equal(breachMs({ attempt: 1, trigger: 'schedule' }, 5001, 5000), 5001);
  assert.equal(breachMs({ attempt: 1, trigger: 'schedule' }, 60_000, null), null, 'no SLO, no breach');
  assert.equal(breachMs({ attempt: 1, trigger: 'schedule' }, NaN, 5000), null);
  // From the record: started_at − scheduled_at = 12.3 s.
  assert.equal(recordedBreachMs(exec(), 5000), 12_300);
  assert.equal(recordedBreachMs(exec(), 15_000), null);
  assert.equal(recordedBreachMs(exec({ attempt: 2, trigger: 'retry' }), 5000), null);
});

test('lateStart: the event for a breach, null otherwise', () => {
  const job = makeJob('backup', { max_start_delay: '5s' });
  const e = exec();
  const late = lateStart(job, e, 12_300);
  assert.ok(late);
  assert.deepEqual({ ...late, job: late.job.name }, { execution: e, job: 'backup', latenessMs: 12_300, limitMs: 5000 });
  assert.notEqual(late.execution, e, 'a copy: subscribers must not see the runner mutate it');
  assert.equal(lateStart(job, e, 4000), null);
  assert.equal(lateStart(makeJob('backup'), e, 12_300), null, 'no SLO');
  assert.equal(lateStart(null, e, 12_300), null, 'job deleted');
  assert.equal(lateStart(job, exec({ trigger: 'manual' }), 12_300), null);
});

test('a late start is notified where every failure is: notify_on failure and always', () => {
  const got = (['failure', 'success', 'always', 'never', 'change'] as const).filter(lateNotified);
  assert.deepEqual(got, ['failure', 'always']);
});

test('the late notice names job, scheduled and start time, lateness against the limit, node', () => {
  const e = exec();
  const n: Notice = { kind: 'late', job: 'backup', execution: e, latenessMs: 12_300, limit: '5s', reportingNode: 'n1', link: 'http://ui/ui/#/jobs/backup' };
  assert.equal(summary(n), 'Kairos job backup: started late by 12.3 s (SLO 5s) on n1');
  assert.equal(mailSubject('[Kairos]', n), '[Kairos]Late start backup execution (12.3 s late, SLO 5s)');
  const { text, html } = mailBodies(n);
  assert.match(text, /^Job:\s+backup$/m);
  assert.match(text, /^Outcome:\s+started late by 12\.3 s \(SLO 5s\)$/m);
  assert.match(text, /^Scheduled:\s+2026-11-29T15:04:05Z$/m);
  assert.match(text, /^Started:\s+2026-11-29T15:04:17\.300Z$/m);
  assert.match(text, /^Node:\s+n1$/m);
  assert.ok(!text.includes('Output:'), 'a start has no output yet');
  assert.match(html, /<h2>backup: started late<\/h2>/);
  const m = slackMessage(n, null);
  assert.equal(m.text, summary(n));
  assert.deepEqual(m.blocks.map((b) => b.type), ['header', 'section', 'context', 'actions']);
  const fields = JSON.stringify(m.blocks[1]);
  for (const want of ['*Scheduled*\\n2026-11-29T15:04:05Z', '*Started*\\n2026-11-29T15:04:17.300Z', '*Outcome*\\nstarted late by 12.3 s (SLO 5s)', '*Node*\\nn1']) {
    assert.ok(fields.includes(want), `${want} in ${fields}`);
  }
  assert.match(JSON.stringify(m.blocks[0]), /:hourglass: backup: started late/);
});

test('Prometheus counts execution.late per job, and nothing else feeds the counter', async () => {
  const bus = new EventBus();
  const metrics = new PrometheusMetrics(bus, { isLeader: () => true, members: async () => 1, running: () => 0, queued: () => 0, notifyQueueDepth: () => 0 }, 'n1');
  const value = async (job: string): Promise<number> => {
    const fam = parsePrometheusTextFormat(await metrics.text()).find((f) => f.name === 'kairos_job_start_slo_breaches_total');
    return Number(fam?.metrics.find((x) => x.labels?.job_name === job)?.value ?? 0);
  };
  const job = makeJob('backup', { max_start_delay: '5s' });
  // A very late start without the event (no SLO on the job) is lateness, not a breach.
  bus.publish('execution.started', { execution: exec(), latenessMs: 60_000 });
  assert.equal(await value('backup'), 0);
  bus.publish('execution.late', { execution: exec(), job, latenessMs: 12_300, limitMs: 5000 });
  assert.equal(await value('backup'), 1);
  assert.equal(await value('other'), 0);
  metrics.close();
});

test('DogStatsD gets job.start_slo_breach with the job_name tag, once per event', async () => {
  const sink = await udpSink();
  const bus = new EventBus();
  const errors: Error[] = [];
  const statsd = new StatsdMetrics(bus, { addr: sink.addr, dog: true, tags: [], nodeName: 'n1', onError: (err) => errors.push(err) });
  try {
    bus.publish('execution.late', { execution: exec(), job: makeJob('backup', { max_start_delay: '5s' }), latenessMs: 12_300, limitMs: 5000 });
    // A marker after it: once the marker is in, anything the event sent is too (one datagram per metric, in order).
    bus.publish('leadership.acquired', { node: 'n1' });
    await sink.waitFor('the marker', (lines) => lines.some((l) => l.startsWith('kairos.agent.leadership_acquired:')));
    const breaches = sink.items.filter((l) => l.startsWith('kairos.job.start_slo_breach:'));
    assert.deepEqual(breaches, ['kairos.job.start_slo_breach:1|c|#node:n1,job_name:backup']);
    assert.deepEqual(errors, []);
  } finally {
    await statsd.close();
    await sink.close();
  }
});
