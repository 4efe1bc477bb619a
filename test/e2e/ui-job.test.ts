/**
 * The job page of the new web UI (dist/ui, served through KAIROS_UI_DIR) in Debian's Chromium:
 * a run's live output growing line by line, then the execution, run strip and duration chart;
 * a 3-job chain's graph; a skipped tick and its reason; the next runs with a DST flag; the
 * schedule endpoints; screenshots at 1400 and 390 px, no horizontal scroll on a phone.
 * Waits are Playwright's auto-waiting locators, never fixed sleeps.
 *
 * Build first: `node scripts/build-ui.mjs` (or point KAIROS_TEST_UI_DIR at another build).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkip, launchChromium, watchedPage } from '../helpers/browser.js';
import { shootBothWidths } from '../helpers/browser.js';
import { api, removeDir, ROOT, shellJob, startAgent, type AgentHandle } from '../helpers/agent.js';

const UI_DIR = process.env.KAIROS_TEST_UI_DIR || join(ROOT, 'dist', 'ui');
const skip = chromiumSkip || (existsSync(join(UI_DIR, 'app.js')) ? false : `${UI_DIR}/app.js is missing: run node scripts/build-ui.mjs`);

interface Preview {
  schedule: string;
  timezone: string;
  description: string;
  next: Array<{ at: string; local: string; offset: string; dst: string | null; note?: string }>;
}

describe('web UI: job page', { skip }, () => {
  let agent: AgentHandle;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  const create = async (job: Record<string, unknown>): Promise<void> => {
    const res = await api(agent.url, 'POST', '/v1/jobs', job);
    assert.equal(res.status, 201, JSON.stringify(res.body));
  };
  const open = async (name: string): Promise<void> => {
    await page.goto(`${agent.url}/ui/#/jobs/${encodeURIComponent(name)}`);
    await page.getByRole('heading', { level: 1, name: new RegExp(name) }).waitFor();
  };
  const shoot = (label: string): Promise<void> => shootBothWidths(page, label);

  before(async () => {
    agent = await startAgent({ env: { KAIROS_UI_DIR: UI_DIR } });
    browser = await launchChromium();
    page = await watchedPage(browser, pageErrors);
    await page.setViewportSize({ width: 1400, height: 900 });
    await create(shellJob('slow', 'for i in 1 2 3 4 5; do echo line$i; sleep 0.5; done'));
    await create(shellJob('chain-a', 'echo a'));
    await create(shellJob('chain-b', 'echo b', { schedule: '', parent_job: 'chain-a' }));
    await create(shellJob('chain-c', 'echo c', { schedule: '', parent_job: 'chain-b' }));
    await create(shellJob('nowhere', 'echo never', { tags: { region: 'mars' } }));
    // Sundays in March at 02:30 Berlin time: ten runs span years and meet each last Sunday of March, when 02:30 doesn't exist.
    await create(shellJob('berlin', 'echo b', { schedule: '0 30 2 * 3 0', timezone: 'Europe/Berlin' }));
  });

  after(async () => {
    await browser?.close();
    if (agent) {
      await agent.stop();
      removeDir(agent.dataDir);
    }
  });

  test('Run: the live output grows, then the execution, run strip and chart appear', async () => {
    await open('slow');
    await page.locator('#recent', { hasText: 'No runs yet.' }).waitFor();
    assert.equal(await page.locator('#duration-chart').count(), 0);

    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const live = page.getByRole('log', { name: 'Live output' });
    await live.filter({ hasText: 'line1' }).waitFor();
    const early = (await live.textContent()) ?? '';
    assert.ok(!early.includes('line5'), `line1 came with line5 already: ${early}`);
    await page.locator('#live').getByRole('button', { name: 'Pause scroll' }).waitFor();

    await live.filter({ hasText: 'line5' }).waitFor({ timeout: 30_000 });
    await page.locator('.live-output[data-state="ended"]').waitFor();
    await page.locator('#live .badge-success').waitFor();

    const row = page.getByRole('table', { name: 'Executions' }).getByRole('row').filter({ has: page.locator('.badge-success') });
    await row.first().waitFor();
    assert.match((await row.first().textContent()) ?? '', /manual/);
    await page.locator('#recent .strip a.ok').first().waitFor();
    await page.locator('#duration-chart canvas').waitFor();

    // The strip links to the execution's record.
    await page.locator('#recent .strip a.ok').first().click();
    await page.locator('#selected-execution', { hasText: 'line5' }).waitFor();
    await shoot('job');
  });

  test('the workflow graph of a 3-job chain links every job', async () => {
    await open('chain-b');
    // Nodes are named "job: state" (nothing ran yet: every job waits); chain edges are dashed.
    const graph = page.getByRole('group', { name: 'Workflow of chain-b' });
    await graph.getByRole('link', { name: 'chain-a: waiting' }).waitFor();
    await graph.getByRole('link', { name: 'chain-c: waiting' }).waitFor();
    assert.equal(await graph.locator('[aria-current="page"]').count(), 1);
    assert.equal(await graph.locator('.wf-edge-chain').count(), 2);
    await page.locator('#next-runs', { hasText: 'Runs after chain-a succeeds' }).waitFor();
    await shoot('job-chain');
    await graph.getByRole('link', { name: 'chain-c: waiting' }).click();
    await page.getByRole('heading', { level: 1, name: /chain-c/ }).waitFor();
    const full = page.getByRole('group', { name: 'Workflow of chain-c' });
    await full.getByRole('link', { name: 'chain-a: waiting' }).waitFor();
    await full.getByRole('link', { name: 'chain-b: waiting' }).waitFor();
  });

  test('a job whose tags match no agent shows a skipped tick with its reason', async () => {
    await open('nowhere');
    await page.locator('#skips', { hasText: 'Every tick ran.' }).waitFor();
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('#flash.flash-error').waitFor();
    const skipRow = page.getByRole('table', { name: 'Skipped runs' }).getByRole('row').filter({ hasText: 'no matching agent' });
    await skipRow.waitFor();
    assert.match((await skipRow.textContent()) ?? '', /region/);
    await page.locator('#recent .strip span.skip').first().waitFor();
  });

  test('next runs: ten in the job zone, the spring-forward day flagged', async () => {
    await open('berlin');
    await page.locator('#next-runs', { hasText: 'at 02:30 on Sunday in March' }).waitFor();
    const rows = page.getByRole('table', { name: 'Next runs' }).locator('tbody tr');
    await rows.nth(9).waitFor();
    assert.equal(await rows.count(), 10);
    const flagged = page.getByRole('table', { name: 'Next runs' }).locator('tr[data-dst="skipped"]');
    assert.ok((await flagged.count()) >= 1);
    assert.match((await flagged.first().textContent()) ?? '', /03:00:00.*\+02:00.*02:30 does not exist/);
    await shoot('job-next');
  });

  test('schedule endpoints: preview, its errors, a child job', async () => {
    const ok = await api<Preview>(agent.url, 'POST', '/v1/schedule/preview', { schedule: '*/5 * * * *', timezone: 'Europe/Berlin' });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.description, 'every 5 minutes');
    assert.equal(ok.body.timezone, 'Europe/Berlin');
    assert.equal(ok.body.next.length, 5);
    assert.match(ok.body.next[0]?.local ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:00$/);
    const bad = await api<{ field: string }>(agent.url, 'POST', '/v1/schedule/preview', { schedule: '61 * * * *' });
    assert.deepEqual([bad.status, bad.body.field], [400, 'schedule']);
    const zone = await api<{ field: string }>(agent.url, 'POST', '/v1/schedule/preview', { schedule: '@daily', timezone: 'Mars/Olympus' });
    assert.deepEqual([zone.status, zone.body.field], [400, 'timezone']);
    const child = await api<Preview>(agent.url, 'GET', '/v1/jobs/chain-c/next');
    assert.deepEqual([child.body.description, child.body.next], ['after chain-b', []]);
    const berlin = await api<Preview>(agent.url, 'GET', '/v1/jobs/berlin/next?count=3');
    assert.equal(berlin.body.next.length, 3);
    const missing = await api(agent.url, 'GET', '/v1/jobs/nope/next');
    assert.equal(missing.status, 404);
  });

  test('no page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
