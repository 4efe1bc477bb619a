import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate, goQuote, goTimeString, jsEscape, TemplateError } from '../../src/notify/template.js';
import { TEMPLATE_FIELDS, dkronReport, templateData } from '../../src/notify/report.js';
import { shouldNotify } from '../../src/notify/notifier.js';
import { DeliveryQueue, type Delivery } from '../../src/notify/queue.js';
import { parseHeaders, redactUrl } from '../../src/notify/http.js';
import { slackMessage } from '../../src/notify/slack.js';
import { mailSubject } from '../../src/notify/mail.js';
import type { Execution } from '../../src/job/types.js';

const exec = (over: Partial<Execution> = {}): Execution => ({
  id: '1700000000000-n1',
  job_name: 'backup',
  started_at: '2026-11-29T15:04:05.120Z',
  finished_at: '2026-11-29T15:04:06Z',
  success: false,
  output: 'disk "full"\n',
  node_name: 'n1',
  group: 1764428645000000,
  attempt: 1,
  exit_code: 1,
  scheduled_at: '2026-11-29T15:04:05Z',
  trigger: 'schedule',
  ...over,
});

test('Go time.Time String(): trailing zeros trimmed, UTC zone, zero time as year 1', () => {
  assert.equal(goTimeString(new Date('2026-11-29T15:04:05.120Z')), '2026-11-29 15:04:05.12 +0000 UTC');
  assert.equal(goTimeString(new Date('2026-11-29T15:04:06Z')), '2026-11-29 15:04:06 +0000 UTC');
  assert.equal(goTimeString(new Date('0001-01-01T00:00:00Z')), '0001-01-01 00:00:00 +0000 UTC');
});

test('dkron template variables render as dkron renders them', () => {
  const e = exec();
  const t = compileTemplate('{"text": "{{.JobName}} on {{.NodeName}} success={{.Success}} at {{.StartTime}} → {{.FinishedAt}} by {{.ReportingNode}}"}', TEMPLATE_FIELDS);
  assert.equal(
    t.render(templateData(e, [e], 'leader1')),
    '{"text": "backup on n1 success=false at 2026-11-29 15:04:05.12 +0000 UTC → 2026-11-29 15:04:06 +0000 UTC by leader1"}',
  );
  assert.equal(
    dkronReport(e, [e], 'leader1'),
    'Executed: backup\nReporting node: leader1\nStart time: 2026-11-29 15:04:05.12 +0000 UTC\nEnd time: 2026-11-29 15:04:06 +0000 UTC\n' +
      'Success: false\nNode: n1\nOutput: disk "full"\n\nExecution group: 1764428645000000\n' +
      '\t[Node]: n1 [Start]: 2026-11-29 15:04:05.12 +0000 UTC [End]: 2026-11-29 15:04:06 +0000 UTC [Success]: false\n',
  );
});

test('if/else, eq, printf %q, js, html, pipelines and trim markers', () => {
  const e = exec();
  const data = templateData(e, [e], 'l');
  const r = (src: string): string => compileTemplate(src, TEMPLATE_FIELDS).render(data);
  assert.equal(r('{{if eq .Success "true"}}ok{{else}}FAIL{{end}}'), 'FAIL');
  assert.equal(r('{{if .Output}}has{{end}}|{{if eq .Success "true"}}a{{else if eq .NodeName "n1"}}b{{else}}c{{end}}'), 'has|b');
  assert.equal(r('{{printf "%q" .Output}}'), '"disk \\"full\\"\\n"');
  assert.equal(r('{{.Output | printf "%q"}}'), '"disk \\"full\\"\\n"');
  assert.equal(r('{{js .Output}}'), 'disk \\"full\\"\\u000A');
  assert.equal(r('{{html "<a href=\'x\'>&</a>"}}'), '&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;');
  assert.equal(r('a  {{- .JobName -}}  b{{/* comment */}}'), 'abackupb');
  assert.equal(goQuote('tab\there\u0001\u2028é'), '"tab\\there\\x01\\u2028é"');
  assert.equal(jsEscape("it's <b>=</b>"), "it\\'s \\u003Cb\\u003E\\u003D\\u003C/b\\u003E");
});

test('unsupported constructs and unknown fields are refused at compile time, naming them', () => {
  const bad: [string, RegExp][] = [
    ['{{range .Output}}x{{end}}', /unsupported template construct "range"/],
    ['{{with .Output}}x{{end}}', /"with"/],
    ['{{$x := 1}}', /"\$x" \(variables\)/],
    ['{{.Job}}', /unknown template field "\.Job"/],
    ['{{if .Success}}x', /missing \{\{end\}\}/],
    ['{{upper .JobName}}', /unsupported template function "upper"/],
    ['{{len (.Output)}}', /parenthesised/],
  ];
  for (const [src, re] of bad) assert.throws(() => compileTemplate(src, TEMPLATE_FIELDS), (err: Error) => err instanceof TemplateError && re.test(err.message), src);
});

test('notify_on over success, failure, failure, success', () => {
  const runs = ['success', 'failed', 'failed', 'success'] as const;
  const expected: Record<string, number[]> = { failure: [1, 2], success: [0, 3], always: [0, 1, 2, 3], never: [], change: [1, 3] };
  for (const [mode, want] of Object.entries(expected)) {
    const got: number[] = [];
    let previous: (typeof runs)[number] | '' = '';
    runs.forEach((status, i) => {
      if (shouldNotify(mode as 'failure', status, previous)) got.push(i);
      previous = status;
    });
    assert.deepEqual(got, want, mode);
  }
  assert.equal(shouldNotify('change', 'failed', ''), true, 'a first failure is a change');
  assert.equal(shouldNotify('change', 'partially_failed', 'failed'), false);
});

test('the queue retries with backoff, records every attempt and drops the oldest when full', async () => {
  const outcomes: string[] = [];
  const q = new DeliveryQueue({ size: 2, attempts: 3, backoffMs: 1, timeoutMs: 1000, concurrency: 1, onOutcome: (c, o) => outcomes.push(`${c}:${o}`) });
  let calls = 0;
  const updates: string[] = [];
  const done = new Promise<void>((resolve) => {
    const d: Delivery = {
      record: { channel: 'webhook', target: 't', status: 'pending', attempts: 0, last_error: null, at: '' },
      send: async () => {
        if (++calls < 3) throw new Error(`nope ${calls}`);
      },
      onUpdate: (r) => {
        updates.push(`${r.status}/${r.attempts}/${r.last_error ?? ''}`);
        if (r.status === 'sent') resolve();
      },
    };
    q.push(d);
  });
  await done;
  assert.deepEqual(updates, ['pending/0/', 'pending/1/nope 1', 'pending/2/nope 2', 'sent/3/']);
  assert.deepEqual(outcomes, ['webhook:retry', 'webhook:retry', 'webhook:sent']);

  // A hanging endpoint: attempts end by the deadline; the queue stays bounded.
  const hang: Delivery['send'] = (signal) => new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
  const mk = (n: number): Delivery => ({ record: { channel: 'slack', target: `t${n}`, status: 'pending', attempts: 0, last_error: null, at: '' }, send: hang });
  const ds = [1, 2, 3, 4, 5].map(mk);
  for (const d of ds) q.push(d);
  assert.ok(q.depth <= 2, `depth ${q.depth}`);
  assert.ok(q.dropped >= 2);
  assert.equal(ds[1]?.record.status, 'failed');
  assert.match(ds[1]?.record.last_error ?? '', /queue full/);
  q.close();
});

test('headers split on the first colon; URLs are shortened in records', () => {
  assert.deepEqual(parseHeaders(['Content-Type: application/json', 'X-Url: http://a:1/', 'bad']), { 'Content-Type': 'application/json', 'X-Url': 'http://a:1/' });
  assert.equal(redactUrl('https://hooks.slack.com/services/T000/B000/secret'), 'https://hooks.slack.com/services/…');
});

test('Slack message is Block Kit with known block types; mail subject is dkron\'s', () => {
  const e = exec();
  const notice = { kind: 'group' as const, job: 'backup', status: 'failed' as const, last: e, group: [e], reportingNode: 'l', link: 'http://ui/ui/#/jobs/backup' };
  const m = slackMessage(notice, '#ops');
  assert.equal(m.channel, '#ops');
  assert.deepEqual(m.blocks.map((b) => b.type), ['header', 'section', 'section', 'context', 'actions']);
  assert.equal(mailSubject('[Dkron]', notice), '[Dkron]Failed backup execution report');
});

test('a long output with characters Slack escapes still ends in a closed code block within the limit', () => {
  const e = exec({ output: '<&>'.repeat(3000) });
  const m = slackMessage({ kind: 'group', job: 'j', status: 'failed', last: e, group: [e], reportingNode: 'l', link: null }, null);
  const section = m.blocks[2] as { text: { text: string } };
  assert.ok(section.text.text.length <= 3000);
  assert.ok(section.text.text.startsWith('```') && section.text.text.endsWith('```'));
});
