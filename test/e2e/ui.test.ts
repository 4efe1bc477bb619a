/**
 * The web UI (Preact, built into dist/ui and served by the agent at /ui/) in a real browser:
 * Debian's Chromium driven by playwright-core against one real agent. The walk a user does:
 * / opens the dashboard with the leader and members, a job created in the editor's JSON tab
 * opens its page, the jobs list shows it and runs it from its row, the job page lists the
 * execution and its output, Disable, a bad schedule named on its line, Delete after confirming,
 * a long change history paged with Older and Newer. No page errors, and nothing fetched from
 * anywhere but the agent. The page tests (ui-jobs, ui-job, ui-editor, ui-dashboard) cover each
 * screen in depth. Waits are Playwright's auto-waiting on locators, never fixed sleeps.
 *
 * Set KAIROS_UI_SCREENSHOTS=<dir> to save a screenshot of the job page there.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkip, launchChromium, watchedPage } from '../helpers/browser.js';
import { api, removeDir, shellJob, startAgent, type AgentHandle } from '../helpers/agent.js';

const skip = chromiumSkip;

const JOB = 'ui-job';
// Over the 200 characters an execution row shows, so "Full output" has more to fetch.
const COMMAND = 'seq 1 100; echo ui-hello';

describe('web UI', { skip }, () => {
  let agent: AgentHandle;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const foreignRequests: string[] = [];

  before(async () => {
    // The agent serves the UI it was built with (dist/ui): no KAIROS_UI_DIR.
    agent = await startAgent();
    browser = await launchChromium();
    page = await watchedPage(browser, pageErrors);
    page.on('request', (req) => {
      const u = req.url();
      if (!u.startsWith(`${agent.url}/`) && !u.startsWith('data:')) foreignRequests.push(u);
    });
  });

  after(async () => {
    await browser?.close();
    if (agent) {
      await agent.stop();
      removeDir(agent.dataDir);
    }
  });

  const nav = () => page.getByRole('navigation', { name: 'Main' });
  const heading = (name: string) => page.getByRole('heading', { level: 1, name: new RegExp(name) });
  const jobRow = () => page.locator(`table.jobs-table tr[data-job="${JOB}"]`);
  /** The stored definition at the foot of the job page (a closed <details> until opened). */
  const jobJson = async (text: string) => {
    const details = page.locator('#json details');
    if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
    await page.locator('#job-json-view', { hasText: text }).waitFor();
  };

  test('dashboard, create, list, run, output, disable, validation error, delete, history pages', async (t) => {
    await t.test('/ redirects a browser to the UI and the dashboard shows the leader and members', async () => {
      await page.goto(`${agent.url}/`);
      assert.equal(new URL(page.url()).pathname, '/ui/');
      await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
      await page.locator('#stat-leader .value', { hasText: 'test-node' }).waitFor();
      await page.locator('#stat-jobs .value').filter({ hasText: /^0$/ }).waitFor();
      const member = page.locator('#members-glance-list li').filter({ hasText: 'test-node' });
      await member.filter({ hasText: 'alive' }).filter({ hasText: 'leader' }).waitFor();
    });

    await t.test('a job created in the editor’s JSON tab opens its job page', async () => {
      await nav().getByRole('link', { name: 'Jobs' }).click();
      await page.getByText('No jobs yet.').first().waitFor();
      await page.getByRole('link', { name: 'New job', exact: true }).click();
      await page.waitForURL(/#\/new$/);
      await page.getByRole('heading', { level: 1, name: 'New job' }).waitFor();
      await page.getByRole('tab', { name: 'JSON' }).click();
      const textarea = page.getByLabel('Job JSON', { exact: true });
      // The editor starts from a template job.
      assert.match(await textarea.inputValue(), /"executor": "shell"/);
      await textarea.fill(JSON.stringify(shellJob(JOB, COMMAND), null, 2));
      await page.getByRole('button', { name: 'Save' }).click();
      await page.waitForURL(new RegExp(`#/jobs/${JOB}$`));
      await heading(JOB).waitFor();
      await page.locator('#flash', { hasText: `Saved "${JOB}".` }).waitFor();
      await jobJson(`"command": "${COMMAND}"`);
    });

    await t.test('the jobs list shows it; Run from its row', async () => {
      await nav().getByRole('link', { name: 'Jobs' }).click();
      await page.getByText('Showing 1–1 of 1 jobs').waitFor();
      const row = jobRow();
      await row.getByRole('link', { name: JOB, exact: true }).waitFor();
      await row.filter({ hasText: '@manually' }).waitFor();
      await row.getByRole('button', { name: `Run ${JOB}` }).click();
      await page.getByRole('status').filter({ hasText: `Run of "${JOB}" requested` }).waitFor();
      // The search box filters server-side.
      await page.getByLabel('Search', { exact: true }).fill('no-such-job');
      await page.getByText('No jobs match the filters.').first().waitFor();
      await page.getByLabel('Search', { exact: true }).fill('ui-');
      await row.waitFor();
      await row.getByRole('link', { name: JOB, exact: true }).click();
      await page.waitForURL(new RegExp(`#/jobs/${JOB}$`));
    });

    await t.test('the job page lists the execution and expands its output', async () => {
      // The page refreshes itself until the run has finished.
      const execution = page.getByRole('table', { name: 'Executions' }).locator('tr[data-execution]').filter({ has: page.locator('.badge', { hasText: 'success' }) });
      await execution.waitFor();
      await execution.getByRole('button', { name: /^Show output of execution/ }).click();
      const output = page.locator('#executions pre.output');
      await output.filter({ hasText: 'ui-hello' }).waitFor();
      // The row shows the tail; "Full output" fetches the rest.
      assert.doesNotMatch(await output.innerText(), /^1\n2\n3\n/);
      await page.locator('#executions').getByRole('button', { name: 'Full output' }).click();
      await page.locator('#executions').getByText('Full output.').waitFor();
      await output.filter({ hasText: /^1\n2\n3\n/ }).waitFor();
      assert.match(await output.innerText(), /ui-hello/);
      const dir = process.env.KAIROS_UI_SCREENSHOTS;
      if (dir) {
        mkdirSync(dir, { recursive: true });
        await page.screenshot({ path: join(dir, 'job-page.png'), fullPage: true });
      }
    });

    await t.test('Disable on the job page disables the job', async () => {
      await page.locator('.job-actions').getByRole('button', { name: 'Disable', exact: true }).click();
      await page.locator('#job-disabled', { hasText: 'disabled' }).waitFor();
      await page.locator('.job-actions').getByRole('button', { name: 'Enable', exact: true }).waitFor();
      await jobJson('"disabled": true');
      const res = await api<{ disabled: boolean }>(agent.url, 'GET', `/v1/jobs/${JOB}`);
      assert.equal(res.body.disabled, true);
    });

    await t.test('a job with a bad schedule shows the API error on the line naming the field', async () => {
      await page.goto(`${agent.url}/ui/#/new`);
      await page.getByRole('heading', { level: 1, name: 'New job' }).waitFor();
      await page.getByRole('tab', { name: 'JSON' }).click();
      const textarea = page.getByLabel('Job JSON', { exact: true });
      await textarea.fill(JSON.stringify({ name: 'ui-bad', schedule: 'not a schedule', executor: 'shell', executor_config: { command: 'true' } }, null, 2));
      await page.getByRole('button', { name: 'Save' }).click();
      const alert = page.getByRole('alert').filter({ hasText: /schedule: / });
      await alert.waitFor();
      const lines = (await textarea.inputValue()).split('\n');
      const want = lines.findIndex((l) => l.trimStart().startsWith('"schedule"')) + 1;
      assert.equal(await alert.getAttribute('data-line'), String(want));
      assert.equal(await textarea.getAttribute('aria-invalid'), 'true');
      assert.match(page.url(), /#\/new$/);
      assert.equal((await api(agent.url, 'GET', '/v1/jobs/ui-bad')).status, 404);
    });

    await t.test('Delete (after confirming) removes the job', async () => {
      await page.goto(`${agent.url}/ui/#/jobs/${JOB}`);
      await heading(JOB).waitFor();
      // Dismissed first: nothing happens.
      page.once('dialog', (dialog) => void dialog.dismiss());
      await page.locator('.job-actions').getByRole('button', { name: 'Delete', exact: true }).click();
      assert.equal((await api(agent.url, 'GET', `/v1/jobs/${JOB}`)).status, 200);
      assert.match(page.url(), new RegExp(`#/jobs/${JOB}$`));
      page.once('dialog', (dialog) => {
        assert.match(dialog.message(), new RegExp(JOB));
        void dialog.accept();
      });
      await page.locator('.job-actions').getByRole('button', { name: 'Delete', exact: true }).click();
      await page.waitForURL(/#\/jobs$/);
      await page.getByText('No jobs yet.').first().waitFor();
      assert.equal((await api(agent.url, 'GET', `/v1/jobs/${JOB}`)).status, 404);
    });

    await t.test('a long change history pages with Older and Newer', async () => {
      // One create and ten updates: eleven entries, ten a page.
      for (let i = 0; i < 11; i++) {
        const res = await api(agent.url, 'POST', '/v1/jobs', shellJob('ui-paged', `echo ${i}`));
        assert.equal(res.status, 201);
      }
      await page.goto(`${agent.url}/ui/#/jobs/ui-paged`);
      const history = page.getByRole('region', { name: /Change history/ });
      await history.getByRole('heading', { name: 'Change history (11)' }).waitFor();
      const rows = history.locator('tbody tr');
      const pages = page.getByRole('navigation', { name: 'Change history pages' });
      await pages.getByText('Page 1 of 2').waitFor();
      assert.equal(await rows.count(), 10);
      assert.equal(await rows.first().locator('td').nth(2).innerText(), 'job.update');
      await pages.getByRole('button', { name: 'Older ›' }).click();
      await pages.getByText('Page 2 of 2').waitFor();
      await rows.filter({ hasText: 'job.create' }).waitFor();
      assert.equal(await rows.count(), 1);
      assert.equal(await pages.getByRole('button', { name: 'Older ›' }).isDisabled(), true);
      await pages.getByRole('button', { name: '‹ Newer' }).click();
      await pages.getByText('Page 1 of 2').waitFor();
      assert.equal(await pages.getByRole('button', { name: '‹ Newer' }).isDisabled(), true);
      assert.equal((await api(agent.url, 'DELETE', '/v1/jobs/ui-paged')).status, 200);
    });

    assert.deepEqual(pageErrors, []);
    assert.deepEqual(foreignRequests, [], 'the UI fetched something from outside the agent');
  });
});
