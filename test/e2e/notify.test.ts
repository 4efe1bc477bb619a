/**
 * Notifications and metrics against real receivers on loopback: an HTTP
 * server (Slack, dkron webhook), an SMTP server, UDP sockets (StatsD,
 * DogStatsD), and /metrics parsed as Prometheus text. Waits are on events
 * (receivers, API state), never sleeps.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { api, eventually, removeDir, shellJob, startAgent, tempDir, type AgentHandle, finishedRun } from '../helpers/agent.js';
import { httpSink, smtpSink, udpSink, type HttpSink, type MailSink, type UdpSink } from '../helpers/sinks.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import type { Execution, Job } from '../../src/job/types.js';

const MODES = ['failure', 'success', 'always', 'never', 'change'] as const;
/** Runs 1..4 go success, failure, failure, success; these runs (0-based) are notified. */
const EXPECTED: Record<(typeof MODES)[number], number[]> = { failure: [1, 2], success: [0, 3], always: [0, 1, 2, 3], never: [], change: [1, 3] };

const WEBHOOK_PAYLOAD =
  '{"job":"{{.JobName}}","success":{{.Success}},"node":"{{.NodeName}}","by":"{{.ReportingNode}}",' +
  '"start":"{{.StartTime}}","end":"{{.FinishedAt}}","output":{{printf "%q" .Output}},"report":{{printf "%q" .Report}}' +
  '{{if eq .Success "false"}},"alert":true{{end}}}';

/** Go's time.Time String() for a UTC instant, written out independently of the implementation. */
function goTime(iso: string): string {
  const d = new Date(iso).toISOString(); // 2026-11-29T15:04:05.120Z
  const [date, rest] = d.split('T') as [string, string];
  const [hms, frac] = rest.replace('Z', '').split('.') as [string, string];
  const f = frac.replace(/0+$/, '');
  return `${date} ${hms}${f ? `.${f}` : ''} +0000 UTC`;
}

function family(text: string, name: string): PromFamily | undefined {
  return parsePrometheusTextFormat(text).find((f) => f.name === name);
}

function sample(text: string, name: string, labels: Record<string, string>): number {
  const f = family(text, name);
  const m = f?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m ? Number(m.value) : 0;
}

async function executions(agent: AgentHandle, job: string): Promise<Execution[]> {
  const r = await api<Execution[]>(agent.url, 'GET', `/v1/jobs/${job}/executions?_sort=started_at&_order=asc`);
  assert.equal(r.status, 200);
  return r.body;
}

async function finished(agent: AgentHandle, job: string, count: number): Promise<Execution[]> {
  return eventually(`${count} finished executions of ${job}`, async () => {
    const list = (await executions(agent, job)).filter((e) => finishedRun(e));
    return list.length >= count ? list : undefined;
  });
}

const slackJob = (hit: { body: string }): { job: string; body: { text: string; blocks: { type: string; elements?: { text?: string }[] }[] } } => {
  const body = JSON.parse(hit.body) as { text: string; blocks: { type: string; elements?: { text?: string }[] }[] };
  return { job: /^Kairos job ([^\s:]+)/.exec(body.text)?.[1] ?? '', body };
};

describe('notifications and metrics on one agent', () => {
  let agent: AgentHandle;
  let http: HttpSink;
  let smtp: MailSink;
  let dog: UdpSink;
  let plain: UdpSink;
  const dir = tempDir();

  before(async () => {
    [http, smtp, dog, plain] = await Promise.all([httpSink(), smtpSink(), udpSink(), udpSink()]);
    agent = await startAgent({
      dataDir: join(dir, 'data'),
      args: [
        '--slack-webhook-url', `${http.url}/slack/T0/B0/secret`,
        '--webhook-endpoint', `${http.url}/hook`,
        '--webhook-payload', WEBHOOK_PAYLOAD,
        '--webhook-headers', 'Content-Type: application/json',
        '--webhook-headers', 'X-Trace: a:b',
        '--pre-webhook-endpoint', `${http.url}/pre`, '--pre-webhook-payload', '{{.JobName}} started on {{.NodeName}} at {{.StartTime}}',
        '--mail-host', '127.0.0.1', '--mail-port', String(smtp.port), '--mail-from', 'kairos@example.com', '--mail-to', 'ops@example.com',
        '--ui-url', 'http://ui.example:8080/',
        '--dog-statsd-addr', dog.addr, '--dog-statsd-tags', 'env:test', '--dog-statsd-tags', 'team:ops',
        '--statsd-addr', plain.addr,
        '--notify-backoff', '100ms',
      ],
    });
  });

  after(async () => {
    try {
      if (agent) assert.equal(await agent.stop('SIGTERM'), 0);
    } finally {
      await Promise.all([http, smtp, dog, plain].map((s) => s?.close()));
      removeDir(dir);
    }
  });

  test('notify_on: each value notifies exactly its runs over success, failure, failure, success, on every channel', async () => {
    for (const mode of MODES) {
      const counter = join(dir, `count-${mode}`);
      // Runs 2 and 3 fail.
      const command = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo "run $n"; [ $n -ne 2 ] && [ $n -ne 3 ]`;
      const r = await api(agent.url, 'POST', '/v1/jobs', shellJob(`seq-${mode}`, command, { notify_on: mode, owner_email: `owner-${mode}@example.com` }));
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    for (let run = 1; run <= 4; run++) {
      for (const mode of MODES) assert.equal((await api(agent.url, 'POST', `/v1/jobs/seq-${mode}/run`)).status, 202);
      for (const mode of MODES) await finished(agent, `seq-${mode}`, run);
    }
    // Every expected notice is recorded as sent on its execution, on all three channels.
    const runs: Record<string, Execution[]> = {};
    for (const mode of MODES) {
      runs[mode] = await eventually(`notification records of seq-${mode}`, async () => {
        const list = await executions(agent, `seq-${mode}`);
        const ok = EXPECTED[mode].every((i) => {
          const recs = list[i]?.notifications ?? [];
          return recs.length === 3 && recs.every((x) => x.status === 'sent' && x.attempts === 1 && x.last_error === null);
        });
        return ok ? list : undefined;
      });
      assert.deepEqual(runs[mode]?.map((e) => e.success), [true, false, false, true]);
      runs[mode]?.forEach((e, i) => {
        if (!EXPECTED[mode].includes(i)) assert.equal(e.notifications, undefined, `seq-${mode} run ${i + 1} has no notice`);
      });
      const one = await api<Execution>(agent.url, 'GET', `/v1/jobs/seq-${mode}/executions/${runs[mode]?.[EXPECTED[mode][0] ?? 0]?.id}`);
      if (EXPECTED[mode].length > 0) {
        assert.deepEqual(one.body.notifications?.map((n) => [n.channel, n.target, n.status]).sort(), [
          ['mail', `owner-${mode}@example.com, ops@example.com`, 'sent'],
          ['slack', `${http.url}/slack/…`, 'sent'],
          ['webhook', `${http.url}/hook/…`, 'sent'],
        ]);
      }
    }
    // A marker notice after all of them: anything the sequences produced has arrived by then.
    await api(agent.url, 'POST', '/v1/jobs', shellJob('marker', 'true', { notify_on: 'always' }));
    await api(agent.url, 'POST', '/v1/jobs/marker/run');
    await http.waitFor('the marker notice on Slack', (hits) => hits.some((h) => h.path.startsWith('/slack') && slackJob(h).job === 'marker'));
    await smtp.waitFor('the marker mail', (mails) => mails.some((m) => m.subject === '[Kairos]Success marker execution report'));
    await http.waitFor('the marker webhook', (hits) => hits.some((h) => h.path === '/hook' && h.body.includes('"job":"marker"')));

    // The pre-webhook fired once per execution, as it started.
    const pre = await http.waitFor('a pre-webhook per run', (hits) => hits.filter((h) => h.path === '/pre' && h.body.startsWith('seq-always ')).length >= 4);
    assert.deepEqual(
      pre.filter((h) => h.path === '/pre' && h.body.startsWith('seq-always ')).map((h) => h.body).sort(),
      (runs.always as Execution[]).map((e) => `seq-always started on test-node at ${goTime(e.started_at)}`).sort(),
    );
    const slack = http.items.filter((h) => h.path.startsWith('/slack')).map(slackJob);
    const hooks = http.items.filter((h) => h.path === '/hook');
    for (const mode of MODES) {
      const list = runs[mode] as Execution[];
      const ids = EXPECTED[mode].map((i) => list[i]?.id);
      // Slack: one Block Kit message per expected run, naming its execution.
      const mine = slack.filter((s) => s.job === `seq-${mode}`);
      assert.deepEqual(mine.map((s) => /execution (\S+)/.exec(JSON.stringify(s.body.blocks))?.[1]).sort(), [...ids].sort(), `slack seq-${mode}`);
      for (const s of mine) {
        const types = s.body.blocks.map((b) => b.type);
        assert.ok(types.every((t) => ['header', 'section', 'context', 'actions', 'divider'].includes(t)), types.join());
        assert.match(JSON.stringify(s.body.blocks), /http:\/\/ui\.example:8080\/ui\/#\/jobs\/seq-/);
      }
      // Webhook: the dkron template rendered as dkron renders it.
      const myHooks = hooks.map((h) => ({ h, body: JSON.parse(h.body) as Record<string, unknown> })).filter((x) => x.body.job === `seq-${mode}`);
      assert.equal(myHooks.length, ids.length, `webhooks seq-${mode}`);
      for (const { h, body } of myHooks) {
        const e = list.find((x) => x.output === body.output) as Execution;
        assert.ok(e, `an execution with output ${String(body.output)}`);
        assert.equal(h.headers['content-type'], 'application/json');
        assert.equal(h.headers['x-trace'], 'a:b');
        const expected: Record<string, unknown> = {
          job: `seq-${mode}`,
          success: e.success,
          node: 'test-node',
          by: 'test-node',
          start: goTime(e.started_at),
          end: goTime(e.finished_at as string),
          output: e.output,
          report:
            `Executed: seq-${mode}\nReporting node: test-node\nStart time: ${goTime(e.started_at)}\nEnd time: ${goTime(e.finished_at as string)}\n` +
            `Success: ${String(e.success)}\nNode: test-node\nOutput: ${e.output}\nExecution group: ${e.group}\n` +
            `\t[Node]: test-node [Start]: ${goTime(e.started_at)} [End]: ${goTime(e.finished_at as string)} [Success]: ${String(e.success)}\n`,
        };
        if (!e.success) expected.alert = true;
        assert.deepEqual(body, expected);
      }
      // Mail: to the owner and --mail-to, dkron's subject, readable text and HTML.
      const mails = smtp.items.filter((m) => m.subject?.includes(` seq-${mode} `));
      assert.equal(mails.length, ids.length, `mails seq-${mode}`);
      for (const m of mails) {
        assert.deepEqual([...m.envelopeTo].sort(), ['ops@example.com', `owner-${mode}@example.com`]);
        assert.match(m.subject ?? '', new RegExp(`^\\[Kairos\\](Success|Failed) seq-${mode} execution report$`));
        assert.match(m.text ?? '', new RegExp(`Job:\\s+seq-${mode}`));
        assert.match(m.text ?? '', /Output:\nrun \d/);
        assert.match(String(m.html), /<table/);
        assert.equal(m.from?.value[0]?.address, 'kairos@example.com');
      }
    }
    const failedMails = smtp.items.filter((m) => m.subject === '[Kairos]Failed seq-failure execution report');
    assert.equal(failedMails.length, 2);

    // Prometheus: executions by outcome, notifications by channel, leader.
    const res = await fetch(`${agent.url}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal(sample(text, 'kairos_job_executions_finished_total', { job_name: 'seq-always', outcome: 'success' }), 2);
    assert.equal(sample(text, 'kairos_job_executions_finished_total', { job_name: 'seq-always', outcome: 'failed' }), 2);
    assert.equal(sample(text, 'kairos_job_executions_started_total', { job_name: 'seq-never' }), 4);
    const notices = Object.values(EXPECTED).reduce((n, l) => n + l.length, 0) + 1;
    for (const channel of ['slack', 'webhook', 'mail']) {
      assert.equal(sample(text, 'kairos_notifications_total', { channel, outcome: 'sent' }), notices, channel);
    }
    assert.equal(sample(text, 'kairos_is_leader', {}), 1);
    assert.equal(sample(text, 'kairos_members', {}), 1);
    assert.equal(family(text, 'kairos_job_execution_duration_seconds')?.type, 'HISTOGRAM');
    assert.equal(family(text, 'kairos_store_call_duration_seconds')?.type, 'HISTOGRAM');
    assert.ok(family(text, 'process_cpu_user_seconds_total'), 'default process metrics');
  });

  test("a job's own slack_webhook_url and slack_channel replace the agent's", async () => {
    const job = shellJob('own-slack', 'echo mine', { notify_on: 'success', slack_webhook_url: `${http.url}/own/hook`, slack_channel: '#ops' });
    assert.equal((await api(agent.url, 'POST', '/v1/jobs', job)).status, 201);
    assert.equal((await api(agent.url, 'POST', '/v1/jobs/own-slack/run')).status, 202);
    const hits = await http.waitFor('the job-level Slack notice', (h) => h.some((x) => x.path === '/own/hook'));
    const body = JSON.parse((hits.find((x) => x.path === '/own/hook') as { body: string }).body) as { channel: string; text: string };
    assert.equal(body.channel, '#ops');
    assert.equal(body.text, 'Kairos job own-slack succeeded');
    const [e] = await finished(agent, 'own-slack', 1);
    await eventually('the record of the job-level Slack notice', async () => {
      const r = await api<Execution>(agent.url, 'GET', `/v1/jobs/own-slack/executions/${e?.id}`);
      return r.body.notifications?.some((n) => n.channel === 'slack' && n.target === `${http.url}/own/…` && n.status === 'sent');
    });
    assert.ok(!http.items.some((x) => x.path.startsWith('/slack') && slackJob(x).job === 'own-slack'));
  });

  test('DogStatsD lines carry job, node and global tags; plain StatsD lines carry none', async () => {
    const tagged = await dog.waitFor('a DogStatsD failure count', (lines) => lines.some((l) => l.startsWith('kairos.job.executions_failed_total:1|c|#')));
    const line = tagged.find((l) => l.startsWith('kairos.job.executions_failed_total:1|c|#')) as string;
    const tags = (line.split('|#')[1] as string).split(',');
    for (const t of ['env:test', 'team:ops', 'node:test-node']) assert.ok(tags.includes(t), `${t} in ${line}`);
    assert.ok(tags.some((t) => t.startsWith('job_name:seq-')), line);
    const lines = await plain.waitFor('a StatsD failure count', (l) => l.includes('kairos.job.executions_failed_total:1|c'));
    assert.ok(lines.length > 0);
    assert.ok(lines.every((l) => !l.includes('|#')), 'no tags on plain StatsD');
    assert.ok(lines.includes('kairos.job.executions_succeeded_total:1|c'));
  });

  test('a skipped tick produces one notice with its reason (notify_skip)', async () => {
    const job = { ...shellJob('skipper', 'true', { notify_skip: true, tags: { role: 'nowhere' } }), schedule: '@every 1s' };
    assert.equal((await api(agent.url, 'POST', '/v1/jobs', job)).status, 201);
    await http.waitFor('a skip notice on Slack', (hits) => hits.some((h) => h.path.startsWith('/slack') && slackJob(h).job === 'skipper'));
    assert.equal((await api(agent.url, 'POST', '/v1/jobs/skipper/toggle')).status, 200);
    // One Slack notice and one mail per skipped tick, each with the reason (a tick in flight at the toggle still counts).
    const skipNotices = (): typeof http.items => http.items.filter((h) => h.path.startsWith('/slack') && slackJob(h).job === 'skipper');
    const skipMails = (): typeof smtp.items => smtp.items.filter((x) => x.subject === '[Kairos]Skipped skipper tick');
    const skips = await eventually('one notice per skipped tick', async () => {
      const n = (await api<Job>(agent.url, 'GET', '/v1/jobs/skipper')).body.skip_count;
      return n >= 1 && skipNotices().length === n && skipMails().length === n ? n : undefined;
    });
    for (const h of skipNotices()) assert.match(h.body, /no agent matches the job's tags \(role=nowhere\)/);
    for (const m of skipMails()) assert.match(m.text ?? '', /Reason:\s+no agent matches/);
    const text = await (await fetch(`${agent.url}/metrics`)).text();
    assert.equal(sample(text, 'kairos_scheduler_ticks_skipped_total', { job_name: 'skipper', reason: 'no_agent' }), skips);
  });
  test('a tick skipped by a forbid overlap is notified with that reason', async () => {
    const gate = join(dir, 'forbid-gate');
    const job = { ...shellJob('overlap', `while [ ! -f ${gate} ]; do sleep 0.05; done`, { concurrency: 'forbid', notify_skip: true }), schedule: '@every 1s' };
    assert.equal((await api(agent.url, 'POST', '/v1/jobs', job)).status, 201);
    const hits = await http.waitFor('a forbid skip notice', (h) => h.some((x) => x.path.startsWith('/slack') && slackJob(x).job === 'overlap'));
    const notice = slackJob(hits.find((x) => x.path.startsWith('/slack') && slackJob(x).job === 'overlap') as { body: string });
    assert.match(notice.body.text, /^Kairos job overlap: tick skipped \(concurrency is "forbid" and execution \S+ is still running on test-node\)$/);
    assert.equal((await api(agent.url, 'POST', '/v1/jobs/overlap/toggle')).status, 200);
    writeFileSync(gate, '');
    await finished(agent, 'overlap', 1);
    const text = await (await fetch(`${agent.url}/metrics`)).text();
    assert.ok(sample(text, 'kairos_scheduler_ticks_skipped_total', { job_name: 'overlap', reason: 'forbid' }) >= 1);
  });
});

describe('failing and hanging receivers', () => {
  let agent: AgentHandle;
  let hanging: HttpSink;
  let failing: HttpSink;
  let smtp: MailSink;
  const dir = tempDir();

  before(async () => {
    hanging = await httpSink(() => 'hang');
    failing = await httpSink((_h, res) => void res.writeHead(500).end('slack is down'));
    smtp = await smtpSink({ reject: true });
    agent = await startAgent({
      dataDir: dir,
      args: [
        '--webhook-endpoint', `${hanging.url}/hook`, '--webhook-payload', '{{.Report}}',
        '--slack-webhook-url', `${failing.url}/slack`,
        '--mail-host', '127.0.0.1', '--mail-port', String(smtp.port), '--mail-to', 'ops@example.com',
        '--notify-on', 'always',
        '--notify-timeout', '5s', '--notify-attempts', '2', '--notify-backoff', '30s', '--notify-queue-size', '4',
      ],
    });
  });

  after(async () => {
    try {
      if (agent) assert.equal(await agent.stop('SIGTERM'), 0);
    } finally {
      await Promise.all([hanging, failing, smtp].map((s) => s?.close()));
      removeDir(dir);
    }
  });

  test('runs go on while notices hang and fail; failures show in the API and metrics; the queue stays bounded', async () => {
    const job = { ...shellJob('busy', 'echo tick; exit 1'), schedule: '@every 1s' };
    assert.equal((await api(agent.url, 'POST', '/v1/jobs', job)).status, 201);
    await hanging.waitFor('the first webhook (left hanging)', (hits) => hits.length >= 1);
    const first = (await finished(agent, 'busy', 1))[0] as Execution;
    // The next tick's execution starts while the first notice is still in its first (hanging) attempt.
    await eventually('a later execution started', async () => (await executions(agent, 'busy')).filter((e) => e.id !== first.id).length >= 1);
    const rec = (await api<Execution>(agent.url, 'GET', `/v1/jobs/busy/executions/${first.id}`)).body.notifications ?? [];
    const hook = rec.find((n) => n.channel === 'webhook');
    assert.ok(hook, JSON.stringify(rec));
    assert.notEqual(hook.status, 'sent');

    // Failures are recorded with their reason.
    await eventually('failed attempts recorded on an execution', async () => {
      const list = await executions(agent, 'busy');
      const recs = list.flatMap((e) => e.notifications ?? []);
      const slack = recs.find((n) => n.channel === 'slack' && n.last_error?.includes('HTTP 500'));
      const mail = recs.find((n) => n.channel === 'mail' && /550|mailbox unavailable/.test(n.last_error ?? ''));
      const dropped = recs.find((n) => n.status === 'failed' && n.last_error?.includes('queue full'));
      return slack && mail && dropped;
    });
    // ... and counted; the queue never holds more than its size.
    const text = await eventually('dropped notices counted', async () => {
      const t = await (await fetch(`${agent.url}/metrics`)).text();
      return sample(t, 'kairos_notifications_total', { channel: 'slack', outcome: 'retry' }) >= 1 &&
        sample(t, 'kairos_notifications_total', { channel: 'mail', outcome: 'retry' }) >= 1 &&
        parsePrometheusTextFormat(t).find((f) => f.name === 'kairos_notifications_total')?.metrics.some((m) => m.labels?.outcome === 'dropped')
        ? t
        : undefined;
    });
    assert.ok(sample(text, 'kairos_notify_queue_depth', {}) <= 4);
    assert.ok(sample(text, 'kairos_job_executions_finished_total', { job_name: 'busy', outcome: 'failed' }) >= 2);
    assert.equal((await api(agent.url, 'POST', '/v1/jobs/busy/toggle')).status, 200);

    // /metrics is not public: once a token exists it needs one (read role).
    const created = await api<{ token: string }>(agent.url, 'POST', '/v1/tokens', { name: 'prom', role: 'read' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const anonymous = await api<{ code: string }>(agent.url, 'GET', '/metrics');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, 'KAIROS_AUTH_REQUIRED');
    const scraped = await fetch(`${agent.url}/metrics`, { headers: { authorization: `Bearer ${created.body.token}` } });
    assert.equal(scraped.status, 200);
    assert.ok(family(await scraped.text(), 'kairos_is_leader'));
  });
});

describe('ticks missed while no agent led', () => {
  const dir = tempDir();
  let http: HttpSink;
  let agent: AgentHandle | undefined;

  before(async () => {
    http = await httpSink();
  });

  after(async () => {
    try {
      if (agent) assert.equal(await agent.stop('SIGTERM'), 0);
    } finally {
      await http?.close();
      removeDir(dir);
    }
  });

  test('are notified once, with the count and the reason, by the next leader', async () => {
    const args = ['--slack-webhook-url', `${http.url}/slack`, '--notify-skip'];
    agent = await startAgent({ dataDir: dir, args });
    const job = { ...shellJob('missed', 'true', { catch_up: 'skip' }), schedule: '@every 1s' };
    assert.equal((await api(agent.url, 'POST', '/v1/jobs', job)).status, 201);
    await finished(agent, 'missed', 1);
    assert.equal(await agent.stop('SIGTERM'), 0);
    // As if the cluster had been without a leader for a minute: the last tick and the definition are a minute old.
    const db = new Database(join(dir, 'kairos.db'));
    const past = new Date(Date.now() - 60_000).toISOString();
    db.prepare('UPDATE ticks SET last_tick = ? WHERE job_name = ?').run(past, 'missed');
    // The store keeps a job's timing fields beside its body (what the scheduler loads): both change.
    db.prepare("UPDATE jobs SET body = json_set(body, '$.updated_at', ?), timing = json_set(timing, '$.updated_at', ?) WHERE name = ?").run(past, past, 'missed');
    db.close();
    agent = await startAgent({ dataDir: dir, args });
    const hits = await http.waitFor('the missed-ticks notice', (h) => h.some((x) => x.body.includes('missed while no leader')));
    const notice = JSON.parse((hits.find((x) => x.body.includes('missed while no leader')) as { body: string }).body) as { text: string };
    assert.match(notice.text, /^Kairos job missed: tick skipped \((\d+) tick\(s\) missed while no leader was scheduling; catch_up is "skip"\)$/);
    assert.ok(Number(/\((\d+) tick/.exec(notice.text)?.[1]) >= 55, notice.text);
    const text = await (await fetch(`${agent.url}/metrics`)).text();
    assert.ok(sample(text, 'kairos_scheduler_ticks_skipped_total', { job_name: 'missed', reason: 'catch_up_skip' }) >= 55);
    assert.equal(http.items.filter((x) => x.body.includes('missed while no leader')).length, 1);
  });
});

describe('mail over TLS', () => {
  let certs: TestCerts;
  const dirs: string[] = [];
  const started: AgentHandle[] = [];
  const sinks: MailSink[] = [];

  before(() => {
    certs = makeCerts();
  });

  after(async () => {
    try {
      for (const a of started) assert.equal(await a.stop('SIGTERM'), 0);
    } finally {
      await Promise.all(sinks.map((s) => s.close()));
      for (const d of dirs) removeDir(d);
      certs?.remove();
    }
  });

  for (const mode of ['STARTTLS', 'implicit TLS'] as const) {
    test(`${mode} with a user and password`, async () => {
      const tls = { key: readFileSync(certs.serverKey, 'utf8'), cert: readFileSync(certs.serverCert, 'utf8') };
      const smtp = await smtpSink({ tls, secure: mode === 'implicit TLS', auth: { user: 'kairos', pass: 's3cret' } });
      sinks.push(smtp);
      const dir = tempDir();
      dirs.push(dir);
      const agent = await startAgent({
        dataDir: dir,
        env: { NODE_EXTRA_CA_CERTS: certs.ca },
        args: [
          '--mail-host', 'localhost', '--mail-port', String(smtp.port), '--mail-username', 'kairos', '--mail-password', 's3cret',
          '--mail-from', 'cron@example.com', '--mail-subject-prefix', '[Dkron]',
          ...(mode === 'implicit TLS' ? ['--mail-tls'] : []),
        ],
      });
      started.push(agent);
      assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob('backup', 'echo no space; exit 2', { owner_email: 'dba@example.com' }))).status, 201);
      assert.equal((await api(agent.url, 'POST', '/v1/jobs/backup/run')).status, 202);
      const [mail] = await smtp.waitFor('the failure mail', (m) => m.length >= 1);
      assert.equal(mail?.secure, true);
      assert.equal(mail?.user, 'kairos');
      assert.equal(mail?.subject, '[Dkron]Failed backup execution report');
      assert.deepEqual(mail?.envelopeTo, ['dba@example.com']);
      assert.match(mail?.text ?? '', /Exit code:\s+2/);
    });
  }
});
