/**
 * Capacity-aware placement in the web UI (dist/ui, served through KAIROS_UI_DIR) in Debian's
 * Chromium, against one agent offering 2 CPUs and one `gpu` slot: while `hog` holds the gpu, the
 * every-second ticks of `waits` (which needs it too) queue, and the Running page lists them under
 * "Queued for capacity" with the reason, the dashboard counts them (the card links to that
 * section), the job page says why its runs wait and shows the job's resources; the members page
 * shows what the agent offers; the editor saves resources and shows the API's error on the CPU
 * field. Screenshots at 1400 and 390 px, no horizontal scroll on a phone. Waits are locators and
 * predicates, never fixed sleeps.
 *
 * Build first: `node scripts/build-ui.mjs` (or point KAIROS_TEST_UI_DIR at another build).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkip, launchChromium, watchedPage } from '../helpers/browser.js';
import { shootBothWidths as shoot } from '../helpers/browser.js';
import { api, eventually, removeDir, ROOT, shellJob, startAgent, type AgentHandle } from '../helpers/agent.js';
import type { Execution, Job } from '../../src/job/types.js';

const UI_DIR = process.env.KAIROS_TEST_UI_DIR || join(ROOT, 'dist', 'ui');
const skip = chromiumSkip || (existsSync(join(UI_DIR, 'app.js')) ? false : `${UI_DIR}/app.js is missing: run node scripts/build-ui.mjs`);

describe('web UI: capacity-aware placement', { skip }, () => {
  let agent: AgentHandle;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const GPU = { slots: { gpu: 1 } };

  const create = async (job: Record<string, unknown>): Promise<void> => {
    const res = await api(agent.url, 'POST', '/v1/jobs', job);
    assert.equal(res.status, 201, JSON.stringify(res.body));
  };
  const go = async (hash: string, heading: string | RegExp): Promise<void> => {
    await page.goto(`${agent.url}/ui/${hash}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  };

  before(async () => {
    // A short shutdown timeout: the agent stops `hog` at the end instead of waiting for it.
    agent = await startAgent({ env: { KAIROS_UI_DIR: UI_DIR }, args: ['--capacity-cpu', '2', '--slot', 'gpu=1', '--shutdown-timeout', '1s'] });
    browser = await launchChromium();
    page = await watchedPage(browser, pageErrors);
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  after(async () => {
    await browser?.close();
    if (agent) {
      await agent.stop();
      removeDir(agent.dataDir);
    }
  });

  test('runs waiting for capacity: the Running page, the dashboard card, the job page', async (t) => {
    await t.test('nothing waits yet: the empty state, a zero card', async () => {
      await go('#/busy', 'Running');
      await page.getByRole('region', { name: 'Queued for capacity' }).locator('#queued-empty', { hasText: 'No run is waiting for capacity' }).waitFor();
      await go('#/', 'Dashboard');
      await page.locator('#stat-queued .value').filter({ hasText: /^0$/ }).waitFor();
    });

    // hog holds the only gpu (long enough for this test; the agent stops it at the end).
    await create(shellJob('hog', 'sleep 60', { resources: GPU }));
    assert.equal((await api(agent.url, 'POST', '/v1/jobs/hog/run')).status, 202);
    await eventually('hog running', async () => (await api<Execution[]>(agent.url, 'GET', '/v1/busy')).body.some((e) => e.job_name === 'hog'));
    // waits needs the gpu too: its every-second ticks queue behind hog.
    await create(shellJob('waits', 'true', { schedule: '* * * * * *', resources: GPU }));

    await t.test('the Running page lists the queued ticks with the reason', async () => {
      await go('#/busy', 'Running');
      await page.locator('#busy-table tr[data-job="hog"]').waitFor();
      const queued = page.getByRole('region', { name: 'Queued for capacity' });
      const row = queued.locator('#queued-table tr[data-job="waits"]').first();
      await row.waitFor();
      assert.match((await row.locator('td[data-label="Why"]').innerText()), /gpu/);
      // Scheduled for: the tick's time (exact on screen); waiting since: relative, exact in datetime.
      const tick = await row.locator('td[data-label="Scheduled for"] time').getAttribute('datetime');
      assert.ok(tick && !Number.isNaN(Date.parse(tick)), `scheduled ${tick}`);
      const since = await row.locator('td[data-label="Waiting since"] time').getAttribute('datetime');
      assert.ok(since && Math.abs(Date.now() - Date.parse(since)) < 60_000, `since ${since}`);
      await row.getByRole('link', { name: 'waits' }).waitFor();
      assert.equal(await queued.locator('#queued-empty').count(), 0);
      await shoot(page, 'capacity-busy');
    });

    await t.test('the dashboard counts them and links to that section', async () => {
      await go('#/', 'Dashboard');
      const card = page.locator('#stat-queued');
      await card.locator('.value').filter({ hasText: /^[1-9]\d*\+?$/ }).waitFor();
      assert.match(await card.innerText(), /Waiting for capacity/);
      await shoot(page, 'capacity-dashboard');
      await card.click();
      await page.waitForURL(/#\/busy\?section=queued$/);
      await page.locator('#queued-table tr[data-job="waits"]').first().waitFor();
      // The section is brought into view.
      await page.waitForFunction(`(() => { const r = document.getElementById('queued').getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight; })()`);
    });

    await t.test("the job page says why its runs wait, and shows the job's resources", async () => {
      await go('#/jobs/waits', /waits/);
      await page.locator('#job-queued', { hasText: /^\d+\+? runs? waiting for an agent with room: .*gpu/ }).waitFor();
      await page.locator('#job-resources', { hasText: /^gpu 1$/ }).waitFor();
      await shoot(page, 'capacity-job');
      // The notice links to the whole queue.
      await page.locator('#job-queued').getByRole('link', { name: 'All waiting runs' }).click();
      await page.waitForURL(/#\/busy\?section=queued$/);
      await page.getByRole('region', { name: 'Queued for capacity' }).waitFor();

      // hog runs, it doesn't wait: resources shown, no notice.
      await go('#/jobs/hog', /hog/);
      await page.locator('#job-resources', { hasText: /^gpu 1$/ }).waitFor();
      assert.equal(await page.locator('#job-queued.queued-notice').count(), 0);
    });

    // Stop the ticks; hog ends with the agent.
    assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob('waits', 'true', { schedule: '* * * * * *', resources: GPU, disabled: true }))).status, 201);
  });

  test('members: what the agent offers', async () => {
    await go('#/members', 'Members');
    const cell = page.locator('#members-table tr[data-member="test-node"] td[data-label="Capacity"]');
    await cell.locator('.chip', { hasText: /^cpu 2$/ }).waitFor();
    await cell.locator('.chip', { hasText: /^gpu 1$/ }).waitFor();
    await cell.locator('.chip', { hasText: /^memory \d+(\.\d)? (GiB|MiB)$/ }).waitFor();
    await shoot(page, 'capacity-members');
  });

  test('the editor saves resources, and shows the API error on the CPU field', async () => {
    const invalid = (label: string) => page.getByLabel(label, { exact: true }).and(page.locator('[aria-invalid="true"]'));
    await go('#/new', 'New job');
    await page.getByLabel('Name', { exact: true }).fill('ed-res');
    await page.getByLabel('Schedule', { exact: true }).fill('@manually');
    await page.getByLabel('CPU', { exact: true }).fill('lots');
    await page.getByLabel('Memory', { exact: true }).fill('256Mi');
    await page.getByLabel('Slots', { exact: true }).fill('gpu=1');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#form-error', { hasText: 'Not saved' }).waitFor();
    assert.equal(await page.locator('#form-error .field-name').innerText(), 'resources.cpu');
    await invalid('CPU').waitFor();
    await page.locator('#f-resources-cpu-error', { hasText: 'resources.cpu must be a positive number of cores' }).waitFor();
    assert.equal(await page.getByLabel('CPU', { exact: true }).getAttribute('aria-describedby').then((d) => d?.split(' ').includes('f-resources-cpu-error')), true);
    assert.equal((await api(agent.url, 'GET', '/v1/jobs/ed-res')).status, 404);
    await shoot(page, 'capacity-editor-error');

    // Editing the field clears its error; a bad slot count is named on the Slots field.
    await page.getByLabel('CPU', { exact: true }).fill('0.5');
    await page.locator('#f-resources-cpu-error').waitFor({ state: 'detached' });
    await page.getByLabel('Slots', { exact: true }).fill('gpu=x');
    await page.getByRole('button', { name: 'Save' }).click();
    await invalid('Slots').waitFor();
    await page.locator('#f-resources-slots-error', { hasText: 'resources.slots.gpu must be a whole number' }).waitFor();
    assert.equal((await api(agent.url, 'GET', '/v1/jobs/ed-res')).status, 404);
    await page.getByLabel('Slots', { exact: true }).fill('gpu=1');
    await page.locator('#f-resources-slots-error').waitFor({ state: 'detached' });

    // The JSON tab shows what will be sent.
    await page.getByRole('tab', { name: 'JSON' }).click();
    const sent = JSON.parse(await page.getByLabel('Job JSON', { exact: true }).inputValue()) as Record<string, unknown>;
    assert.deepEqual(sent.resources, { cpu: 0.5, memory: '256Mi', slots: { gpu: 1 } });
    await page.getByRole('tab', { name: 'Form' }).click();
    assert.equal(await page.getByLabel('Slots', { exact: true }).inputValue(), 'gpu=1');

    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/#\/jobs\/ed-res$/);
    const saved = (await api<Job>(agent.url, 'GET', '/v1/jobs/ed-res')).body;
    assert.deepEqual(saved.resources, { cpu: 0.5, memory: '256Mi', slots: { gpu: 1 } });
    await page.locator('#job-resources', { hasText: /^cpu 0\.5 · memory 256Mi · gpu 1$/ }).waitFor();

    // Editing shows them; emptied, the job has none.
    await go('#/jobs/ed-res/edit', 'Edit ed-res');
    assert.equal(await page.getByLabel('CPU', { exact: true }).inputValue(), '0.5');
    assert.equal(await page.getByLabel('Memory', { exact: true }).inputValue(), '256Mi');
    assert.equal(await page.getByLabel('Slots', { exact: true }).inputValue(), 'gpu=1');
    await shoot(page, 'capacity-editor');
    for (const label of ['CPU', 'Memory', 'Slots']) await page.getByLabel(label, { exact: true }).fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/#\/jobs\/ed-res$/);
    await page.getByRole('heading', { level: 1, name: /ed-res/ }).waitFor();
    const cleared = (await api<Job>(agent.url, 'GET', '/v1/jobs/ed-res')).body;
    assert.ok(!cleared.resources, `resources ${JSON.stringify(cleared.resources)}`);
    assert.equal(await page.locator('#job-resources').count(), 0);
  });

  test('no page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
