/**
 * The job editor in a real browser (Debian's Chromium, playwright-core) against one agent serving
 * the built UI (dist/ui): create a job in the guided form, the schedule's live check and next
 * runs, a server error shown on its field, the shell-operator hint before save, the JSON tab
 * round trip and an error on the JSON line naming the field, save, edit. Screenshots at 1400 and
 * 390 px, no horizontal scroll. Waits are locators, never sleeps.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkip, launchChromium, watchedPage } from '../helpers/browser.js';
import { api, removeDir, ROOT, shellJob, startAgent, type AgentHandle } from '../helpers/agent.js';

const SHOTS = join(ROOT, 'test-artifacts', 'ui');
const JOB = 'ed-job';

interface StoredJob {
  name: string;
  displayname: string;
  schedule: string;
  timezone: string;
  retries: number;
  parent_job: string;
  tags: Record<string, string> | null;
  executor: string;
  executor_config: Record<string, string>;
  notify_on?: string;
}

describe('web UI: job editor', { skip: chromiumSkip }, () => {
  let agent: AgentHandle;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    agent = await startAgent({ env: { KAIROS_UI_DIR: join(ROOT, 'dist', 'ui') } });
    assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob('ed-parent', 'true'))).status, 201);
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

  const invalid = (label: string) => page.getByLabel(label, { exact: true }).and(page.locator('[aria-invalid="true"]'));

  test('create in the form, errors on their fields, JSON round trip, save, edit', async (t) => {
    await t.test('the form: a bad schedule is flagged live and by the server on its field', async () => {
      await page.goto(`${agent.url}/ui/#/new`);
      await page.getByRole('heading', { level: 1, name: 'New job' }).waitFor();
      await page.getByLabel('Name', { exact: true }).fill(JOB);
      await page.getByLabel('Display name', { exact: true }).fill('Editor job');
      await page.getByLabel('Schedule', { exact: true }).fill('not a schedule');
      // The live check (POST /v1/schedule/preview) marks the field before any save.
      await invalid('Schedule').waitFor();
      await page.getByRole('button', { name: 'Save' }).click();
      await page.locator('#form-error', { hasText: 'Not saved' }).waitFor();
      assert.equal(await page.locator('#form-error .field-name').innerText(), 'schedule');
      await page.locator('#f-schedule-error', { hasText: "can't parse job schedule" }).waitFor();
      assert.match(page.url(), /#\/new$/);
      assert.equal((await api(agent.url, 'GET', `/v1/jobs/${JOB}`)).status, 404);
    });

    await t.test('a good schedule shows the next runs', async () => {
      await page.getByLabel('Schedule', { exact: true }).fill('0 30 9 * * *');
      await page.getByLabel('Time zone', { exact: true }).fill('Europe/Berlin');
      const runs = page.getByRole('list', { name: 'Next runs' });
      await runs.getByRole('listitem').nth(4).waitFor();
      assert.equal(await runs.getByRole('listitem').count(), 5);
      assert.equal(await page.locator('#f-schedule[aria-invalid="true"]').count(), 0);
    });

    await t.test('shell operators without a shell are flagged, and saving is stopped before the server', async () => {
      await page.getByLabel('Command', { exact: true }).fill('echo ed-hello | tr a-z A-Z > /dev/null');
      const hint = page.locator('#shell-hint');
      await hint.waitFor();
      assert.match(await hint.innerText(), /\| >/);
      await page.getByRole('button', { name: 'Save' }).click();
      await invalid('Command').waitFor();
      await page.locator('#f-executor_config-command-error', { hasText: 'Run in a shell' }).waitFor();
      assert.equal((await api(agent.url, 'GET', `/v1/jobs/${JOB}`)).status, 404);
      await hint.getByRole('button', { name: 'Turn on "Run in a shell"' }).click();
      assert.equal(await page.getByLabel('Run in a shell', { exact: true }).isChecked(), true);
      await hint.waitFor({ state: 'detached' });
    });

    await t.test('tags, retries, notifications, parent in the form', async () => {
      await page.getByRole('button', { name: 'Add tag' }).click();
      await page.getByLabel('tag 1 key', { exact: true }).fill('team');
      await page.getByLabel('tag 1 value', { exact: true }).fill('ops');
      await page.getByLabel('Retries', { exact: true }).fill('2');
      await page.getByLabel('Notify', { exact: true }).selectOption('failure');
    });

    await t.test('the JSON tab carries the edits both ways', async () => {
      await page.getByRole('tab', { name: 'JSON' }).click();
      const json = page.getByLabel('Job JSON', { exact: true });
      const text = JSON.parse(await json.inputValue()) as StoredJob;
      assert.equal(text.name, JOB);
      assert.equal(text.schedule, '0 30 9 * * *');
      assert.equal(text.timezone, 'Europe/Berlin');
      assert.deepEqual(text.executor_config, { command: 'echo ed-hello | tr a-z A-Z > /dev/null', shell: 'true' });
      assert.deepEqual(text.tags, { team: 'ops' });
      assert.equal(text.retries, 2);
      assert.equal(text.notify_on, 'failure');
      // Edit as text, with a key the form has no field for: it survives the trip through the form.
      await json.fill(JSON.stringify({ ...text, displayname: 'Edited in JSON', metadata: { via: 'json' }, x_custom: 'kept' }, null, 2));
      await page.getByRole('tab', { name: 'Form' }).click();
      assert.equal(await page.getByLabel('Display name', { exact: true }).inputValue(), 'Edited in JSON');
      assert.equal(await page.getByLabel('tag 1 value', { exact: true }).inputValue(), 'ops');
      await page.getByRole('tab', { name: 'JSON' }).click();
      const back = JSON.parse(await json.inputValue()) as Record<string, unknown>;
      assert.equal(back.x_custom, 'kept');
      assert.deepEqual(back.metadata, { via: 'json' });
    });

    await t.test('in the JSON tab a server error sits on the line naming the field', async () => {
      const json = page.getByLabel('Job JSON', { exact: true });
      const body = JSON.parse(await json.inputValue()) as Record<string, unknown>;
      delete body.x_custom;
      await json.fill(JSON.stringify({ ...body, retries: -1 }, null, 2));
      await page.getByRole('button', { name: 'Save' }).click();
      const err = page.locator('.json-line-error');
      await err.waitFor();
      const lines = (await json.inputValue()).split('\n');
      const want = lines.findIndex((l) => l.trimStart().startsWith('"retries"')) + 1;
      assert.equal(await err.getAttribute('data-line'), String(want));
      assert.match(await err.innerText(), /retries must not be negative/);
      assert.equal(await json.getAttribute('aria-invalid'), 'true');
      // Not JSON at all: said above the text (with the line when the browser names it).
      await json.fill('{ "name": ');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('alert').filter({ hasText: 'not valid JSON' }).waitFor();
      await json.fill(JSON.stringify({ ...body, retries: 1 }, null, 2));
    });

    await t.test('save goes to the job page, and the job is stored as edited', async () => {
      await page.getByRole('button', { name: 'Save' }).click();
      await page.waitForURL(new RegExp(`#/jobs/${JOB}$`));
      await page.locator('#flash', { hasText: `Saved "${JOB}".` }).waitFor();
      const res = await api<StoredJob>(agent.url, 'GET', `/v1/jobs/${JOB}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.displayname, 'Edited in JSON');
      assert.equal(res.body.retries, 1);
      assert.deepEqual(res.body.tags, { team: 'ops' });
      assert.equal(res.body.executor_config.shell, 'true');
    });

    await t.test('edit: the form loads the job; a parent and an http executor save', async () => {
      await page.goto(`${agent.url}/ui/#/jobs/${JOB}/edit`);
      await page.getByRole('heading', { level: 1, name: `Edit ${JOB}` }).waitFor();
      assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), JOB);
      assert.equal(await page.getByLabel('Retries', { exact: true }).inputValue(), '1');
      await page.getByLabel('Parent job', { exact: true }).fill('ed-parent');
      await page.getByLabel('Schedule', { exact: true }).fill('');
      await page.locator('#schedule-preview', { hasText: 'Runs each time "ed-parent" finishes successfully.' }).waitFor();
      await page.getByLabel('Executor', { exact: true }).selectOption('http');
      await page.getByLabel('Method', { exact: true }).selectOption('POST');
      await page.getByLabel('URL', { exact: true }).fill('http://127.0.0.1:9/hook');
      await page.getByRole('button', { name: 'Add header' }).click();
      await page.getByLabel('header 1 key', { exact: true }).fill('X-Kairos');
      await page.getByLabel('header 1 value', { exact: true }).fill('yes');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.waitForURL(new RegExp(`#/jobs/${JOB}$`));
      const res = await api<StoredJob>(agent.url, 'GET', `/v1/jobs/${JOB}`);
      assert.equal(res.body.parent_job, 'ed-parent');
      assert.equal(res.body.executor, 'http');
      assert.deepEqual(res.body.executor_config, { method: 'POST', url: 'http://127.0.0.1:9/hook', headers: '["X-Kairos: yes"]' });
    });

    await t.test('1400 px and 390 px: screenshots, no horizontal scroll', async () => {
      mkdirSync(SHOTS, { recursive: true });
      for (const [width, tab] of [
        [1400, 'form'],
        [390, 'form'],
        [1400, 'json'],
        [390, 'json'],
      ] as const) {
        await page.setViewportSize({ width, height: 900 });
        await page.goto(`${agent.url}/ui/#/jobs`);
        await page.goto(`${agent.url}/ui/#/jobs/ed-parent/edit`);
        await page.getByRole('heading', { level: 1, name: 'Edit ed-parent' }).waitFor();
        // With the hint showing: the widest the form gets.
        // Loaded (the heading shows while loading too).
        await page.getByLabel('Name', { exact: true }).waitFor();
        assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'ed-parent');
        await page.getByLabel('Run in a shell', { exact: true }).uncheck();
        await page.getByLabel('Command', { exact: true }).fill('echo a > b');
        await page.locator('#shell-hint').waitFor();
        if (tab === 'json') await page.getByRole('tab', { name: 'JSON' }).click();
        await page.screenshot({ path: join(SHOTS, `editor-${tab}-${width}.png`), fullPage: true });
        // A string: this file is type-checked without the DOM library.
        const [scroll, inner] = await page.evaluate<[number, number]>('[document.documentElement.scrollWidth, window.innerWidth]');
        assert.ok(scroll <= inner, `${tab} at ${width} px: scrollWidth ${scroll} > innerWidth ${inner}`);
      }
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    assert.deepEqual(pageErrors, []);
  });
});
