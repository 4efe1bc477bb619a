/**
 * The web UI in a real browser: Debian's Chromium driven by playwright-core
 * against one real agent. Walks the screens a user would: dashboard, create a
 * job through the JSON form, the jobs list, run, the job page and its output,
 * toggle, a rejected job, delete. Waits are Playwright's auto-waiting on
 * locators, never fixed sleeps.
 *
 * Set KAIROS_UI_SCREENSHOTS=<dir> to save a screenshot of the job page there.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkip, launchChromium, watchedPage } from '../helpers/browser.js';
import { api, removeDir, startAgent, type AgentHandle } from '../helpers/agent.js';

const skip = chromiumSkip;

const JOB = 'ui-job';

describe('web UI', { skip }, () => {
  let agent: AgentHandle;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const foreignRequests: string[] = [];

  before(async () => {
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

  test('dashboard, create, list, run, output, toggle, validation error, delete', async (t) => {
    await t.test('/ redirects a browser to the UI and the dashboard shows the leader and members', async () => {
      await page.goto(`${agent.url}/`);
      assert.equal(new URL(page.url()).pathname, '/ui/');
      await page.locator('.card', { hasText: 'Leader' }).filter({ hasText: 'test-node' }).waitFor();
      await page.locator('.card', { hasText: 'Total jobs' }).filter({ hasText: '0' }).waitFor();
      const member = page.getByRole('table', { name: 'Cluster members' }).getByRole('row').filter({ hasText: 'test-node' });
      await member.filter({ hasText: 'alive' }).waitFor();
    });

    await t.test('a job created through the JSON form opens its job page', async () => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'New job' }).click();
      const textarea = page.getByLabel('Job JSON', { exact: true });
      // The form starts from a template job.
      assert.match(await textarea.inputValue(), /"executor": "shell"/);
      await textarea.fill(
        JSON.stringify(
          { name: JOB, schedule: '@manually', executor: 'shell', executor_config: { shell: 'true', command: 'echo ui-hello' } },
          null,
          2,
        ),
      );
      await page.getByRole('button', { name: 'Save' }).click();
      await page.waitForURL(new RegExp(`#/jobs/${JOB}$`));
      await page.getByRole('heading', { level: 1, name: new RegExp(JOB) }).waitFor();
      await page.locator('#job-json-view', { hasText: '"command": "echo ui-hello"' }).waitFor();
    });

    await t.test('the jobs list shows it; Run from its row', async () => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs' }).click();
      await page.getByText('Showing 1–1 of 1 jobs').waitFor();
      const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: JOB, exact: true }) });
      await row.filter({ hasText: '@manually' }).waitFor();
      await row.getByRole('button', { name: `Run ${JOB}` }).click();
      await page.getByRole('status').filter({ hasText: `Run of "${JOB}" requested` }).waitFor();
      // The search box filters server-side.
      await page.getByLabel('Search').fill('no-such-job');
      await page.getByText('No jobs match the filters.').waitFor();
      await page.getByLabel('Search').fill('ui-');
      await row.waitFor();
      await row.getByRole('link', { name: JOB, exact: true }).click();
      await page.waitForURL(new RegExp(`#/jobs/${JOB}$`));
    });

    await t.test('the job page lists the execution and expands its output', async () => {
      // The page refreshes itself until the run has finished.
      const execution = page.locator('tr[data-execution]').filter({ has: page.locator('.badge', { hasText: 'success' }) });
      await execution.waitFor();
      await execution.getByRole('button', { name: /^Show output of execution/ }).click();
      await page.locator('pre.output', { hasText: 'ui-hello' }).waitFor();
      await page.getByRole('button', { name: 'Full output' }).click();
      await page.getByText('Full output.').waitFor();
      assert.match(await page.locator('pre.output').innerText(), /ui-hello/);
      const dir = process.env.KAIROS_UI_SCREENSHOTS;
      if (dir) {
        mkdirSync(dir, { recursive: true });
        await page.screenshot({ path: join(dir, 'job-page.png'), fullPage: true });
      }
    });

    await t.test('Toggle disables the job', async () => {
      await page.getByRole('button', { name: 'Toggle', exact: true }).click();
      await page.locator('#job-disabled', { hasText: 'disabled' }).waitFor();
      await page.locator('#job-json-view', { hasText: '"disabled": true' }).waitFor();
      const res = await api<{ disabled: boolean }>(agent.url, 'GET', `/v1/jobs/${JOB}`);
      assert.equal(res.body.disabled, true);
    });

    await t.test('a job with a bad schedule shows the API error and names the field', async () => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'New job' }).click();
      await page.getByLabel('Job JSON', { exact: true }).fill(
        JSON.stringify({ name: 'ui-bad', schedule: 'not a schedule', executor: 'shell', executor_config: { command: 'true' } }),
      );
      await page.getByRole('button', { name: 'Save' }).click();
      const alert = page.getByRole('alert').filter({ hasText: 'Not saved' });
      await alert.waitFor();
      assert.equal(await alert.locator('.field-name').innerText(), 'schedule');
      assert.match(page.url(), /#\/new$/);
      assert.equal((await api(agent.url, 'GET', '/v1/jobs/ui-bad')).status, 404);
    });

    await t.test('Delete (after confirming) removes the job', async () => {
      await page.goto(`${agent.url}/ui/#/jobs/${JOB}`);
      await page.getByRole('heading', { level: 1, name: new RegExp(JOB) }).waitFor();
      page.once('dialog', (dialog) => void dialog.accept());
      await page.getByRole('button', { name: 'Delete', exact: true }).click();
      await page.waitForURL(/#\/jobs$/);
      await page.getByText('No jobs yet.').waitFor();
      assert.equal((await api(agent.url, 'GET', `/v1/jobs/${JOB}`)).status, 404);
    });

    await t.test('a job page lists the ticks that did not run, with the reason', async () => {
      const res = await api(agent.url, 'POST', '/v1/jobs', { name: 'ui-cowless', schedule: '@every 1s', executor: 'shell', executor_config: { command: 'true', shell: 'true' }, tags: { target: 'cow' } });
      assert.equal(res.status, 201);
      await page.goto(`${agent.url}/ui/#/jobs/ui-cowless`);
      const skipped = page.getByRole('table', { name: 'Skipped runs' });
      await skipped.getByText('no matching agent').first().waitFor();
      await skipped.getByText("no agent matches the job's tags (target=cow)").first().waitFor();
      assert.equal((await api(agent.url, 'DELETE', '/v1/jobs/ui-cowless')).status, 200);
    });

    await t.test('a long change history pages with Older and Newer', async () => {
      for (let i = 0; i < 11; i++) {
        const res = await api(agent.url, 'POST', '/v1/jobs', { name: 'ui-paged', schedule: '@manually', executor: 'shell', executor_config: { command: `echo ${i}`, shell: 'true' } });
        assert.equal(res.status, 201);
      }
      await page.goto(`${agent.url}/ui/#/jobs/ui-paged`);
      const nav = page.getByRole('navigation', { name: 'Change history pages' });
      await nav.getByText('Page 1 of 2').waitFor();
      await nav.getByRole('button', { name: 'Older ›' }).click();
      await nav.getByText('Page 2 of 2').waitFor();
      assert.equal(await nav.getByRole('button', { name: 'Older ›' }).isDisabled(), true);
      await nav.getByRole('button', { name: '‹ Newer' }).click();
      await nav.getByText('Page 1 of 2').waitFor();
      assert.equal((await api(agent.url, 'DELETE', '/v1/jobs/ui-paged')).status, 200);
    });

    await t.test('the busy view answers', async () => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Busy' }).click();
      await page.getByText('Nothing is running.').waitFor();
    });

    assert.deepEqual(pageErrors, []);
    assert.deepEqual(foreignRequests, [], 'the UI fetched something from outside the agent');
  });
});
