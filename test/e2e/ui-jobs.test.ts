/**
 * The jobs list in a real browser (Debian's Chromium, playwright-core) against one agent serving
 * the built UI (dist/ui): server-side filters by owner, tags, executor and enabled, the view in
 * the hash (reload keeps it), sort, paging, "after <parent>", bulk disable (the confirmation names
 * the count; an already-disabled job stays disabled) and bulk delete of a chain. Screenshots at
 * 1400 and 390 px, no horizontal scroll. Waits are locators, never sleeps.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkip, launchChromium, watchedPage } from '../helpers/browser.js';
import { api, removeDir, ROOT, shellJob, startAgent, type AgentHandle } from '../helpers/agent.js';

const SHOTS = join(ROOT, 'test-artifacts', 'ui');

describe('web UI: jobs list', { skip: chromiumSkip }, () => {
  let agent: AgentHandle;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    agent = await startAgent({ env: { KAIROS_UI_DIR: join(ROOT, 'dist', 'ui') } });
    const jobs = [
      shellJob('alpha-web', 'true', { owner: 'ana', tags: { team: 'web', env: 'prod' }, displayname: 'Alpha web' }),
      shellJob('beta-web', 'true', { owner: 'bob', tags: { team: 'web', env: 'dev' } }),
      { name: 'gamma-db', schedule: '@every 1h', owner: 'ana', tags: { team: 'db' }, executor: 'http', executor_config: { method: 'GET', url: 'http://127.0.0.1:9/none' } },
      shellJob('delta-child', 'true', { schedule: '', parent_job: 'alpha-web', owner: 'cyd' }),
      shellJob('eps-1', 'true', { owner: 'ops' }),
      shellJob('eps-2', 'true', { owner: 'ops' }),
      shellJob('eps-3', 'true', { owner: 'ops' }),
    ];
    for (const job of jobs) assert.equal((await api(agent.url, 'POST', '/v1/jobs', job)).status, 201, JSON.stringify(job));
    // Enough to page at 25 a page.
    const filler = Array.from({ length: 24 }, (_, i) => shellJob(`zz-fill-${String(i).padStart(2, '0')}`, 'true'));
    assert.equal((await api(agent.url, 'POST', '/v1/jobs/bulk', { jobs: filler })).status, 200);
    browser = await launchChromium();
    page = await watchedPage(browser, pageErrors);
  });

  after(async () => {
    await browser?.close();
    if (agent) {
      await agent.stop();
      removeDir(agent.dataDir);
    }
  });

  const rowNames = async (): Promise<string[]> => page.locator('table.jobs-table tbody tr[data-job]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job') ?? ''));
  const waitRows = async (want: string[]): Promise<void> => {
    // A string: this file is type-checked without the DOM library.
    await page.waitForFunction(`JSON.stringify([...document.querySelectorAll('table.jobs-table tbody tr[data-job]')].map((r) => r.dataset.job)) === ${JSON.stringify(JSON.stringify(want))}`);
  };

  test('filters, sort, paging, bulk actions, layouts', async (t) => {
    await t.test('the list pages server-side and shows a child job as "after <parent>"', async () => {
      await page.goto(`${agent.url}/ui/#/jobs`);
      await page.getByText('Showing 1–25 of 31 jobs').waitFor();
      const nav = page.getByRole('navigation', { name: 'Jobs pages' });
      await nav.getByText('Page 1 of 2').waitFor();
      const child = page.locator('tr[data-job="delta-child"]');
      assert.match(await child.innerText(), /after alpha-web/);
      await child.getByRole('link', { name: 'alpha-web' }).waitFor();
      await nav.getByRole('button', { name: 'Next ›' }).click();
      await page.getByText('Showing 26–31 of 31 jobs').waitFor();
      assert.match(page.url(), /page=2/);
      await page.goBack();
      await page.getByText('Showing 1–25 of 31 jobs').waitFor();
    });

    await t.test('filters by owner, tags and executor, kept in the hash across a reload', async () => {
      await page.getByLabel('Owner', { exact: true }).fill('ana');
      await waitRows(['alpha-web', 'gamma-db']);
      await page.getByLabel('Tags', { exact: true }).fill('team=web');
      await waitRows(['alpha-web']);
      await page.waitForURL((url) => url.hash.includes('tags=team%3Dweb') && url.hash.includes('owner=ana'));
      await page.reload();
      await waitRows(['alpha-web']);
      assert.equal(await page.getByLabel('Owner', { exact: true }).inputValue(), 'ana');
      assert.equal(await page.getByLabel('Tags', { exact: true }).inputValue(), 'team=web');
      await page.getByRole('button', { name: 'Clear filters' }).click();
      await page.getByText('Showing 1–25 of 31 jobs').waitFor();

      await page.getByLabel('Tags', { exact: true }).fill('team=web, env=dev');
      await waitRows(['beta-web']);
      await page.getByLabel('Tags', { exact: true }).fill('team=web');
      await waitRows(['alpha-web', 'beta-web']);
      await page.getByLabel('Tags', { exact: true }).fill('');
      await page.getByLabel('Executor', { exact: true }).selectOption('http');
      await waitRows(['gamma-db']);
      await page.getByLabel('Executor', { exact: true }).selectOption('');
      await page.getByLabel('Search', { exact: true }).fill('eps-');
      await waitRows(['eps-1', 'eps-2', 'eps-3']);
    });

    await t.test('sorts by a column, both ways', async () => {
      await page.getByRole('button', { name: 'Sort by name' }).click();
      await waitRows(['eps-3', 'eps-2', 'eps-1']);
      assert.equal(await page.locator('th[aria-sort="descending"]').innerText(), 'Name ▼');
      await page.getByRole('button', { name: 'Sort by name' }).click();
      await waitRows(['eps-1', 'eps-2', 'eps-3']);
      await page.getByLabel('Search', { exact: true }).fill('');
      await page.getByLabel('Owner', { exact: true }).fill('');
      await page.getByRole('button', { name: 'Sort by owner' }).click();
      await page.getByRole('button', { name: 'Sort by owner' }).click();
      // Descending by owner: ops ×3, cyd, bob, ana ×2 (ties by name), then the owner-less fillers.
      await page.locator('table.jobs-table tbody tr[data-job]').nth(24).waitFor();
      await page.locator('table.jobs-table tbody tr[data-job]:nth-child(4)[data-job="delta-child"]').waitFor();
      assert.deepEqual((await rowNames()).slice(0, 7), ['eps-1', 'eps-2', 'eps-3', 'delta-child', 'beta-web', 'alpha-web', 'gamma-db']);
    });

    await t.test('bulk disable of 3 jobs asks first, naming 3, and leaves all 3 disabled', async () => {
      // One is already disabled: a blind toggle would enable it again.
      assert.equal((await api(agent.url, 'POST', '/v1/jobs/eps-2/toggle')).status, 200);
      await page.getByLabel('Search', { exact: true }).fill('eps-');
      await page.getByRole('button', { name: 'Sort by name' }).click();
      await waitRows(['eps-1', 'eps-2', 'eps-3']);
      for (const n of ['eps-1', 'eps-2', 'eps-3']) await page.getByLabel(`Select ${n}`).check();
      const bar = page.getByRole('region', { name: 'Selected jobs' });
      await bar.getByText('3 jobs selected').waitFor();
      await bar.getByRole('button', { name: 'Disable', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'Disable 3 jobs?' });
      await dialog.waitFor();
      await dialog.getByRole('button', { name: 'Disable 3 jobs' }).click();
      await page.locator('#flash', { hasText: 'Disable: 3 jobs done.' }).waitFor();
      for (const n of ['eps-1', 'eps-2', 'eps-3']) {
        const res = await api<{ disabled: boolean }>(agent.url, 'GET', `/v1/jobs/${n}`);
        assert.equal(res.body.disabled, true, n);
      }
      await page.locator('tr[data-job="eps-3"] .badge-disabled').waitFor();
      await page.getByLabel('Enabled', { exact: true }).selectOption('true');
      await waitRows(['eps-1', 'eps-2', 'eps-3']);
      await page.getByLabel('Enabled', { exact: true }).selectOption('');
    });

    await t.test('bulk delete of a parent and its child deletes the child first; Cancel does nothing', async () => {
      await page.getByLabel('Search', { exact: true }).fill('');
      await page.getByLabel('Owner', { exact: true }).fill('');
      await page.getByLabel('Search', { exact: true }).fill('a-');
      await waitRows(['alpha-web', 'beta-web', 'delta-child', 'gamma-db']);
      await page.getByLabel('Select alpha-web').check();
      await page.getByLabel('Select delta-child').check();
      const bar = page.getByRole('region', { name: 'Selected jobs' });
      await bar.getByRole('button', { name: 'Delete', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'Delete 2 jobs?' });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      assert.equal((await api(agent.url, 'GET', '/v1/jobs/alpha-web')).status, 200);
      await bar.getByRole('button', { name: 'Delete', exact: true }).click();
      await dialog.getByRole('button', { name: 'Delete 2 jobs' }).click();
      await waitRows(['beta-web', 'gamma-db']);
      assert.equal((await api(agent.url, 'GET', '/v1/jobs/alpha-web')).status, 404);
      assert.equal((await api(agent.url, 'GET', '/v1/jobs/delta-child')).status, 404);
    });

    await t.test('row actions: Run (its failure named), Run, Disable', async () => {
      // gamma-db's tags match no agent: the error is shown, naming the job.
      await page.locator('tr[data-job="gamma-db"]').getByRole('button', { name: 'Run gamma-db' }).click();
      await page.locator('#flash', { hasText: `Run "gamma-db" failed: no agent matches the job's tags (team=db)` }).waitFor();
      await page.getByLabel('Search', { exact: true }).fill('zz-fill-00');
      await waitRows(['zz-fill-00']);
      const row = page.locator('tr[data-job="zz-fill-00"]');
      await row.getByRole('button', { name: 'Run zz-fill-00' }).click();
      await page.locator('#flash', { hasText: 'Run of "zz-fill-00" requested.' }).waitFor();
      await row.getByRole('button', { name: 'Disable zz-fill-00' }).click();
      await page.locator('#flash', { hasText: '"zz-fill-00" is now disabled.' }).waitFor();
      await row.getByRole('button', { name: 'Enable zz-fill-00' }).waitFor();
    });

    await t.test('1400 px and 390 px: screenshots, no horizontal scroll', async () => {
      mkdirSync(SHOTS, { recursive: true });
      await page.goto(`${agent.url}/ui/#/jobs`);
      await page.getByText('Showing 1–25 of 29 jobs').waitFor();
      await page.getByLabel('Select beta-web').check();
      for (const [width, file] of [
        [1400, 'jobs-1400.png'],
        [390, 'jobs-390.png'],
      ] as const) {
        await page.setViewportSize({ width, height: 900 });
        await page.locator('tr[data-job="beta-web"]').waitFor();
        await page.screenshot({ path: join(SHOTS, file), fullPage: true });
        // A string: this file is type-checked without the DOM library.
        const [scroll, inner] = await page.evaluate<[number, number]>('[document.documentElement.scrollWidth, window.innerWidth]');
        assert.ok(scroll <= inner, `${width} px: scrollWidth ${scroll} > innerWidth ${inner}`);
      }
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    assert.deepEqual(pageErrors, []);
  });
});
