/**
 * The start SLO (`max_start_delay`) end to end, on one real agent with `--max-parallel 1`: a
 * manual job holds the only slot while a scheduled job's first run waits for it, so that run
 * really starts late. Its breach reaches a real HTTP sink once per channel (dkron webhook,
 * Slack) and the Prometheus counter once; the runs after it, on time, reach neither. Then the
 * job page in Chromium badges that execution, and the editor clears the field.
 * Waits are on events (sink, API, metrics, locators), never sleeps.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { Browser, Page } from 'playwright-core';
import { api, eventually, removeDir, ROOT, shellJob, startAgent, tempDir, type AgentHandle } from '../helpers/agent.js';
import { httpSink, type HttpSink } from '../helpers/sinks.js';
import { chromiumSkip, launchChromium, watchedPage } from '../helpers/browser.js';
import type { Execution, Job } from '../../src/job/types.js';

const UI_DIR = process.env.KAIROS_TEST_UI_DIR || join(ROOT, 'dist', 'ui');
const uiSkip = chromiumSkip || (existsSync(join(UI_DIR, 'app.js')) ? false : `${UI_DIR}/app.js is missing: run npm run build`);
const SHOTS = join(ROOT, 'test-artifacts', 'ui');
const PAYLOAD = '{"job":"{{.JobName}}","success":{{.Success}},"node":"{{.NodeName}}","start":"{{.StartTime}}","output":{{printf "%q" .Output}}}';
const JOB = 'late-start';
const LIMIT_MS = 1000;

const lateness = (e: Execution): number => Date.parse(e.started_at) - Date.parse(e.scheduled_at);

describe('start SLO: max_start_delay', () => {
  const dir = tempDir();
  let http: HttpSink;
  let agent: AgentHandle;
  let late: Execution | undefined;

  const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
    const text = await (await fetch(`${agent.url}/metrics`)).text();
    const f = parsePrometheusTextFormat(text).find((x) => x.name === name);
    const m = f?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
    return m ? Number(m.value) : 0;
  };
  const executions = async (job: string): Promise<Execution[]> => {
    const r = await api<Execution[]>(agent.url, 'GET', `/v1/jobs/${job}/executions?_sort=started_at&_order=asc`);
    assert.equal(r.status, 200);
    return r.body;
  };
  const hits = (path: string): HttpSink['items'] => http.items.filter((h) => h.path === path && h.body.includes(JOB));

  before(async () => {
    http = await httpSink();
    agent = await startAgent({
      dataDir: join(dir, 'data'),
      env: { KAIROS_UI_DIR: UI_DIR },
      args: [
        '--max-parallel', '1',
        '--webhook-endpoint', `${http.url}/hook`, '--webhook-payload', PAYLOAD, '--webhook-headers', 'Content-Type: application/json',
        '--slack-webhook-url', `${http.url}/slack`,
      ],
    });
  });

  after(async () => {
    try {
      if (agent) assert.equal(await agent.stop('SIGTERM'), 0);
    } finally {
      await http?.close();
      removeDir(dir);
    }
  });

  test('a max_start_delay that is not a positive duration is refused, naming the field', async () => {
    for (const bad of ['soon', '0s', '-1s', 5]) {
      const r = await api<{ field: string }>(agent.url, 'POST', '/v1/jobs', shellJob('bad-slo', 'true', { max_start_delay: bad }));
      assert.equal(r.status, 400, String(bad));
      assert.equal(r.body.field, 'max_start_delay', String(bad));
    }
    const ok = await api<Job>(agent.url, 'POST', '/v1/jobs', shellJob('null-slo', 'true', { max_start_delay: null }));
    assert.equal(ok.status, 201);
    assert.equal(ok.body.max_start_delay, '');
  });

  test('a run started late notifies once and counts once; runs within the limit do neither', async () => {
    const gate = join(dir, 'gate');
    assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob('slot-hog', `while [ ! -f ${gate} ]; do sleep 0.05; done`))).status, 201);
    assert.equal((await api(agent.url, 'POST', '/v1/jobs/slot-hog/run')).status, 202);
    await eventually('slot-hog holding the only slot', async () => (await metric('kairos_executions_running')) === 1);
    assert.equal(await metric('kairos_job_start_slo_breaches_total', { job_name: JOB }), 0);

    // forbid: while the first run waits for the slot, later ticks are skipped rather than queued behind it.
    const job = { ...shellJob(JOB, 'echo ran', { concurrency: 'forbid', max_start_delay: '1s' }), schedule: '@every 1s' };
    const created = await api<Job>(agent.url, 'POST', '/v1/jobs', job);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.max_start_delay, '1s');
    const queued = await eventually('the first run waiting for the slot', async () => {
      const [first] = await executions(JOB);
      return first && (await metric('kairos_executions_queued')) === 1 ? first : undefined;
    });
    // The run is late once its tick is more than the limit behind the clock.
    await eventually('the queued run to be past its SLO', async () => Date.now() - Date.parse(queued.scheduled_at) > LIMIT_MS + 300);
    assert.equal(hits('/hook').length, 0, 'nothing is told before the run starts');
    writeFileSync(gate, '');

    const [hook] = await http.waitFor('the late-start webhook', () => hits('/hook').length >= 1).then(() => hits('/hook'));
    // Runs after the late one start on time; two of them, then the job is stopped.
    const runs = await eventually('two more runs after the late one', async () => {
      const list = (await executions(JOB)).filter((e) => e.finished_at !== null);
      return list.length >= 3 ? list : undefined;
    });
    assert.equal((await api(agent.url, 'POST', `/v1/jobs/${JOB}/toggle`)).status, 200);
    const all = await eventually('every run finished', async () => {
      const list = await executions(JOB);
      return list.every((e) => e.finished_at !== null) ? list : undefined;
    });
    // Every notice enqueued by now has been handed to the sink.
    await eventually('the notification queue drained', async () => (await metric('kairos_notify_queue_depth')) === 0);

    late = runs[0] as Execution;
    assert.equal(late.id, queued.id);
    assert.ok(lateness(late) > LIMIT_MS, `the first run started ${lateness(late)} ms after its tick`);
    const onTime = all.slice(1);
    assert.ok(onTime.length >= 2);
    for (const e of onTime) {
      assert.equal(e.trigger, 'schedule');
      assert.ok(lateness(e) <= LIMIT_MS, `run ${e.id} started ${lateness(e)} ms after its tick (a loaded machine?)`);
    }

    // Exactly one notice per channel, about the late run.
    assert.equal(hits('/hook').length, 1);
    assert.equal(hits('/slack').length, 1);
    const body = JSON.parse(hook?.body ?? '{}') as Record<string, unknown>;
    assert.equal(body.job, JOB);
    assert.equal(body.success, false);
    assert.equal(body.node, 'test-node');
    assert.match(String(body.output), new RegExp(`^Kairos job ${JOB}: started late by \\d+(\\.\\d+)? s \\(SLO 1s\\) on test-node$`));
    const slack = JSON.parse((hits('/slack')[0] as { body: string }).body) as { text: string; blocks: unknown[] };
    assert.equal(slack.text, body.output);
    assert.ok(JSON.stringify(slack.blocks).includes(`*Scheduled*\\n${late.scheduled_at}`));
    assert.ok(JSON.stringify(slack.blocks).includes(`*Started*\\n${late.started_at}`));
    // The blocker is a manual run: never measured, never told.
    assert.equal(http.items.filter((h) => h.body.includes('slot-hog')).length, 0);

    assert.equal(await metric('kairos_job_start_slo_breaches_total', { job_name: JOB }), 1);
    assert.equal(await metric('kairos_job_start_slo_breaches_total', { job_name: 'slot-hog' }), 0);
  });

  describe('web UI', { skip: uiSkip }, () => {
    let browser: Browser;
    let page: Page;
    const pageErrors: string[] = [];

    before(async () => {
      browser = await launchChromium();
      page = await watchedPage(browser, pageErrors);
    });

    after(async () => {
      await browser?.close();
    });

    test('the job page badges the late execution and counts it; the editor clears the SLO', async () => {
      assert.ok(late, 'the notification test ran first');
      const e = late;
      await page.goto(`${agent.url}/ui/#/jobs/${JOB}`);
      await page.getByRole('heading', { level: 1, name: new RegExp(JOB) }).waitFor();
      await page.locator('#properties', { hasText: 'starts within 1s of its tick' }).waitFor();
      const table = page.getByRole('table', { name: 'Executions' });
      const row = table.locator(`tr[data-execution="${e.id}"]`);
      await row.locator('.badge-late').waitFor();
      const badge = (await row.locator('.badge-late').innerText()).trim();
      assert.equal(badge, `late by ${((lateness(e)) / 1000).toFixed(lateness(e) < 10_000 ? 2 : 1)} s (SLO 1s)`);
      // Only that one: the runs on time carry no badge.
      assert.equal(await table.locator('.badge-late').count(), 1);
      const rows = await table.locator('tbody tr[data-execution]').count();
      assert.ok(rows >= 3);
      assert.equal((await page.locator('#late-summary').innerText()).trim(), `1 of ${rows} shown runs started late (SLO 1s)`);
      // Screenshots; at 390 px the badge wraps rather than widening the page.
      mkdirSync(SHOTS, { recursive: true });
      await page.setViewportSize({ width: 1400, height: 900 });
      await page.screenshot({ path: join(SHOTS, 'job-late-1400.png'), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
      await row.locator('.badge-late').waitFor();
      const [scroll, inner] = await page.evaluate<[number, number]>('[document.documentElement.scrollWidth, window.innerWidth]');
      assert.ok(scroll <= inner, `scrollWidth ${scroll} > ${inner} at 390 px`);
      await page.screenshot({ path: join(SHOTS, 'job-late-390.png'), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 900 });

      // The editor: a bad value is refused on its field, then clearing it saves "".
      await page.goto(`${agent.url}/ui/#/jobs/${JOB}/edit`);
      await page.getByRole('heading', { level: 1, name: `Edit ${JOB}` }).waitFor();
      await page.getByText('Advanced', { exact: true }).click();
      const field = page.getByLabel('Start SLO', { exact: true });
      assert.equal(await field.inputValue(), '1s');
      await field.fill('soon');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.locator('#f-max_start_delay-error', { hasText: 'invalid max_start_delay' }).waitFor();
      await field.fill('');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.waitForURL(new RegExp(`#/jobs/${JOB}$`));
      const stored = await api<Job>(agent.url, 'GET', `/v1/jobs/${JOB}`);
      assert.equal(stored.body.max_start_delay, '');
      await page.locator(`tr[data-execution="${e.id}"]`).waitFor();
      assert.equal(await page.locator('#properties', { hasText: 'starts within' }).count(), 0);
      assert.equal(await page.locator('.badge-late').count(), 0, 'no SLO, no badge');
      assert.equal(await page.locator('#late-summary').count(), 0);
      assert.deepEqual(pageErrors, []);
    });
  });
});
