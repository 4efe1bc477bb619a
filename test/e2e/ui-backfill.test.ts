/**
 * Backfill on the job page, in Debian's Chromium against one agent serving the built UI (dist/ui):
 * an hourly job's 6 past ticks previewed then backfilled 2 at a time, the progress bar reaching
 * 6/6 and "done", 6 executions with trigger "backfill" (the executions list names the backfill);
 * a "to" in the future refused with the API's message under To; a 24-tick backfill cancelled from
 * the page; no Backfill section on a job without a schedule of its own. Screenshots at 1400 and
 * 390 px (and dark), no horizontal scroll. Waits are locators and predicates, never fixed sleeps.
 *
 * Build first: `npx tsc -p tsconfig.build.json && node scripts/build-ui.mjs`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkip, launchChromium, watchedPage } from '../helpers/browser.js';
import { shootBothWidths } from '../helpers/browser.js';
import { api, removeDir, ROOT, shellJob, startAgent, type AgentHandle } from '../helpers/agent.js';
import type { Execution } from '../../src/job/types.js';
import type { BackfillView } from '../../src/core/backfills.js';

const UI_DIR = process.env.KAIROS_TEST_UI_DIR || join(ROOT, 'dist', 'ui');
const skip = chromiumSkip || (existsSync(join(UI_DIR, 'app.js')) ? false : `${UI_DIR}/app.js is missing: run node scripts/build-ui.mjs`);

/** "YYYY-MM-DD" of the UTC day `days` from today. */
function utcDay(days: number): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + days)).toISOString().slice(0, 10);
}
const YESTERDAY = utcDay(-1);
const TWO_DAYS_AGO = utcDay(-2);
const TOMORROW = utcDay(1);

describe('web UI: backfill', { skip }, () => {
  let agent: AgentHandle;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  const create = async (job: Record<string, unknown>): Promise<void> => {
    const res = await api(agent.url, 'POST', '/v1/jobs', job);
    assert.equal(res.status, 201, JSON.stringify(res.body));
  };
  const title = (name: string) => page.locator('.job-head h1').filter({ hasText: new RegExp(`^${name}\\b`) });
  const open = async (name: string): Promise<void> => {
    await page.goto(`${agent.url}/ui/#/jobs/${encodeURIComponent(name)}`);
    await title(name).waitFor();
  };
  const section = () => page.getByRole('region', { name: 'Backfill' });
  /** Fills the form (datetime-local values are "YYYY-MM-DDTHH:MM", read as UTC). */
  const fill = async (from: string, to: string, parallelism: number): Promise<void> => {
    await section().getByLabel('From (UTC)').fill(from);
    await section().getByLabel('To (UTC)').fill(to);
    await section().getByLabel('Parallelism').fill(String(parallelism));
  };
  /** The newest backfill row once its id is known from the API (newest first). */
  const newest = async (job: string): Promise<BackfillView> => {
    const list = await api<BackfillView[]>(agent.url, 'GET', `/v1/jobs/${job}/backfills`);
    assert.equal(list.status, 200);
    assert.ok(list.body[0], 'a backfill was made');
    return list.body[0];
  };
  const shoot = (label: string): Promise<void> => shootBothWidths(page, label);

  before(async () => {
    agent = await startAgent({ env: { KAIROS_UI_DIR: UI_DIR } });
    browser = await launchChromium();
    page = await watchedPage(browser, pageErrors);
    await page.setViewportSize({ width: 1400, height: 900 });
    await create(shellJob('hourly', 'sleep 0.3', { schedule: '0 * * * *', timezone: 'UTC' }));
    await create(shellJob('slow', 'sleep 1', { schedule: '0 * * * *', timezone: 'UTC' }));
    await create(shellJob('after-hourly', 'true', { schedule: '', parent_job: 'hourly' }));
  });

  after(async () => {
    await browser?.close();
    if (agent) {
      await agent.stop();
      removeDir(agent.dataDir);
    }
  });

  test('preview 6 past hourly ticks, backfill them 2 at a time, watch the bar reach 6/6', async () => {
    await open('hourly');
    await section().getByRole('heading', { level: 2, name: 'Backfill' }).waitFor();
    await section().getByText('No backfills yet.').waitFor();
    await fill(`${YESTERDAY}T00:00`, `${YESTERDAY}T05:00`, 2);
    // The hint says what is sent: UTC, whatever the browser's zone.
    await page.locator('#bf-from-hint', { hasText: `Sent as ${YESTERDAY}T00:00:00Z` }).waitFor();
    await page.locator('#bf-to-hint', { hasText: `Sent as ${YESTERDAY}T05:00:00Z` }).waitFor();

    await section().getByRole('button', { name: 'Preview ticks' }).click();
    const preview = page.locator('#backfill-preview');
    await preview.filter({ hasText: '6 ticks' }).waitFor();
    assert.equal(await preview.getAttribute('data-ticks'), '6');
    assert.match((await preview.textContent()) ?? '', /2 at a time/);
    const ticks = preview.getByRole('list', { name: 'Ticks to run' }).getByRole('listitem');
    assert.equal(await ticks.count(), 6);
    assert.match((await ticks.first().textContent()) ?? '', new RegExp(`${YESTERDAY} 00:00 UTC`));
    assert.match((await ticks.last().textContent()) ?? '', new RegExp(`${YESTERDAY} 05:00 UTC`));
    assert.deepEqual((await api(agent.url, 'GET', '/v1/jobs/hourly/backfills')).body, [], 'a preview stores nothing');

    await section().getByRole('button', { name: 'Start backfill' }).click();
    await page.locator('#flash.flash-ok', { hasText: /Backfill \S+ of “hourly” started: 6 ticks, 2 at a time/ }).waitFor();
    const b = await newest('hourly');
    assert.deepEqual([b.ticks, b.parallelism], [6, 2]);
    const row = section().locator(`tr[data-backfill="${b.id}"]`);
    const bar = row.getByRole('progressbar', { name: `Progress of backfill ${b.id}` });
    await bar.waitFor();
    assert.equal(await bar.getAttribute('aria-valuemax'), '6');
    assert.equal(await bar.getAttribute('aria-valuemin'), '0');

    await section().locator(`tr[data-backfill="${b.id}"][data-state="done"]`).waitFor({ timeout: 60_000 });
    await row.locator('.bf-progress[aria-valuenow="6"]').waitFor();
    assert.equal(await bar.getAttribute('aria-valuetext'), '6/6 done');
    assert.match((await row.textContent()) ?? '', /6\/6 done/);
    assert.equal((await row.locator('td[data-label="State"]').textContent())?.trim(), 'done');
    assert.match((await row.locator('td[data-label="Range (UTC)"]').textContent()) ?? '', new RegExp(`${YESTERDAY} 00:00 → ${YESTERDAY} 05:00`));
    assert.equal((await row.locator('td[data-label="Parallelism"]').textContent())?.trim(), '2');
    assert.equal(await row.getByRole('button', { name: /^Cancel/ }).count(), 0);

    // The API agrees: 6 runs, trigger backfill, one per tick.
    const execs = await api<Execution[]>(agent.url, 'GET', '/v1/jobs/hourly/executions');
    const runs = execs.body.filter((e) => e.trigger === 'backfill');
    assert.equal(runs.length, 6, JSON.stringify(execs.body.map((e) => [e.trigger, e.scheduled_at])));
    assert.ok(runs.every((e) => e.backfill === b.id && e.success));
    assert.deepEqual(
      runs.map((e) => new Date(e.scheduled_at).toISOString()).sort(),
      Array.from({ length: 6 }, (_, i) => `${YESTERDAY}T0${i}:00:00.000Z`),
    );
    const view = await api<BackfillView>(agent.url, 'GET', `/v1/jobs/hourly/backfills/${b.id}`);
    assert.deepEqual([view.body.state, view.body.succeeded, view.body.failed, view.body.skipped], ['done', 6, 0, 0]);

    // The executions list names the backfill and the tick each run re-ran.
    const backfillRows = page.getByRole('table', { name: 'Executions' }).locator(`tbody tr [data-backfill="${b.id}"]`);
    await backfillRows.nth(5).waitFor();
    assert.match((await backfillRows.first().textContent()) ?? '', new RegExp(`backfill ${b.id}\\s*tick ${YESTERDAY} 0\\d:00 UTC`));
    await shoot('job-backfill');
  });

  test('a "to" in the future: the API\'s message under To, and a flash', async () => {
    await open('hourly');
    await fill(`${YESTERDAY}T00:00`, `${TOMORROW}T05:00`, 1);
    await section().getByRole('button', { name: 'Start backfill' }).click();
    const to = section().getByLabel('To (UTC)');
    await page.locator('#bf-to[aria-invalid="true"]').waitFor();
    const error = page.locator('#bf-to-error');
    await error.filter({ hasText: 'to must not be in the future' }).waitFor();
    assert.match((await to.getAttribute('aria-describedby')) ?? '', /\bbf-to-error\b/);
    // The field the server named has the focus; From is untouched.
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'bf-to');
    assert.equal(await page.locator('#bf-from[aria-invalid="true"]').count(), 0);
    await page.locator('#flash.flash-error', { hasText: 'Backfill of “hourly” failed: to must not be in the future' }).waitFor();
    // Preview refuses it the same way; editing To clears the message.
    await section().getByRole('button', { name: 'Preview ticks' }).click();
    await error.filter({ hasText: 'to must not be in the future' }).waitFor();
    await to.fill(`${YESTERDAY}T05:00`);
    await error.waitFor({ state: 'detached' });
    // A parallelism out of range is named too.
    await section().getByLabel('Parallelism').fill('101');
    await section().getByRole('button', { name: 'Preview ticks' }).click();
    await page.locator('#bf-parallelism-error', { hasText: 'parallelism must be at most 100' }).waitFor();
    assert.equal((await api<unknown[]>(agent.url, 'GET', '/v1/jobs/hourly/backfills')).body.length, 1, 'nothing more was started');
  });

  test('cancel a 24-tick backfill from the page', async () => {
    await open('slow');
    await fill(`${TWO_DAYS_AGO}T00:00`, `${TWO_DAYS_AGO}T23:00`, 1);
    await section().getByRole('button', { name: 'Preview ticks' }).click();
    await page.locator('#backfill-preview', { hasText: '24 ticks' }).waitFor();
    // 24 ticks: the first 3 and the last 3 listed, the rest summed up.
    await page.locator('#backfill-preview .bf-gap', { hasText: '18 more' }).waitFor();
    await section().getByRole('button', { name: 'Start backfill' }).click();
    await page.locator('#flash.flash-ok', { hasText: 'started: 24 ticks, 1 at a time' }).waitFor();
    const b = await newest('slow');
    const row = section().locator(`tr[data-backfill="${b.id}"]`);
    // Running, a run in flight (the progress text says so, polled every 2 s).
    await row.locator('.bf-progress-text', { hasText: '· 1 running' }).waitFor({ timeout: 30_000 });
    await section().locator(`tr[data-backfill="${b.id}"][data-state="running"]`).waitFor();
    await shoot('job-backfill-running');

    await row.getByRole('button', { name: `Cancel backfill ${b.id}` }).click();
    await section().locator(`tr[data-backfill="${b.id}"][data-state="cancelled"]`).waitFor();
    await page.locator('#flash.flash-ok', { hasText: `Backfill ${b.id} of “slow” cancelled` }).waitFor();
    assert.equal(await row.getByRole('button', { name: /^Cancel/ }).count(), 0);
    // The run under way finishes; the rest never start.
    await row.locator('.bf-progress-text').filter({ hasText: /^\d+\/24 done · \d+ not run$/ }).waitFor({ timeout: 30_000 });
    const view = await api<BackfillView>(agent.url, 'GET', `/v1/jobs/slow/backfills/${b.id}`);
    assert.equal(view.body.state, 'cancelled');
    assert.ok(view.body.succeeded >= 1 && view.body.succeeded < 24, JSON.stringify(view.body));
    const bar = row.getByRole('progressbar', { name: `Progress of backfill ${b.id}` });
    assert.equal(await bar.getAttribute('aria-valuenow'), String(view.body.succeeded + view.body.failed + view.body.skipped));
    // Cancelling again is refused by the API (the page no longer offers it).
    const again = await api<{ code: string }>(agent.url, 'DELETE', `/v1/jobs/slow/backfills/${b.id}`);
    assert.deepEqual([again.status, again.body.code], [409, 'KAIROS_BACKFILL_NOT_RUNNING']);

    await page.emulateMedia({ colorScheme: 'dark' });
    await shoot('job-backfill-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  test('no Backfill section on a job without a schedule of its own', async () => {
    await open('after-hourly');
    await page.getByRole('region', { name: /^Executions/ }).waitFor();
    assert.equal(await page.getByRole('region', { name: 'Backfill' }).count(), 0);
  });

  test('no page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
