/**
 * The web UI on an agent that has API tokens, in Debian's Chromium
 * (playwright-core): the sign-in screen, a refused token, an admin who creates
 * and edits a job and sees both in the job's change history, sign out, and a
 * read-only token that gets no buttons it could not use. The token is kept in
 * sessionStorage only.
 *
 * Waits are Playwright's auto-waiting locators, never fixed sleeps.
 * Set KAIROS_UI_SCREENSHOTS=<dir> to save screenshots of the sign-in screen and job page there.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkip, launchChromium, watchedPage } from '../helpers/browser.js';
import { api, BIN, ROOT, startAgent, stopAndRemove, type AgentHandle, type ApiResponse } from '../helpers/agent.js';

const skip = chromiumSkip;

const JOB = 'auth-ui-job';
const ADMIN = 'ui-admin';
const READER = 'ui-reader';
const OPERATOR = 'ui-operator';

interface ErrorBody {
  error: string;
  message: string;
  code: string;
}

async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.KAIROS_UI_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, name), fullPage: true });
}

describe('web UI with API tokens', { skip }, () => {
  let agent: AgentHandle | undefined;
  let browser: Browser;
  let page: Page;
  let adminToken = '';
  let readToken = '';
  let operateToken = '';
  const pageErrors: string[] = [];

  before(async () => {
    agent = await startAgent();
    // The CLI writes to the running agent's store (embedded store: same data dir).
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'token', 'create', '--name', ADMIN, '--role', 'admin', '--data-dir', agent.dataDir], { cwd: ROOT });
    adminToken = stdout.trim().split('\n').at(-1)!.trim();
    assert.ok(adminToken.length >= 16, `token create printed ${JSON.stringify(stdout)}`);
    const auth = { authorization: `Bearer ${adminToken}` };
    for (const [name, role] of [
      [READER, 'read'],
      [OPERATOR, 'operate'],
    ] as const) {
      const res: ApiResponse<{ name: string; role: string; token: string }> = await api(agent.url, 'POST', '/v1/tokens', { name, role }, auth);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.role, role);
      if (role === 'read') readToken = res.body.token;
      else operateToken = res.body.token;
    }

    browser = await launchChromium();
    page = await watchedPage(browser, pageErrors);
  });

  after(async () => {
    await browser?.close();
    if (agent) await stopAndRemove(agent, agent.dataDir);
  });

  const signInHeading = () => page.getByRole('heading', { level: 1, name: 'Sign in' });
  const signIn = async (token: string) => {
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };
  /**
   * Everything in the page's sessionStorage and localStorage, as [key, value] pairs.
   * (No named helpers inside: tsx would wrap them in a `__name` call the page doesn't have.)
   */
  type Store = { length: number; key(i: number): string | null; getItem(k: string): string | null };
  const storage = () =>
    page.evaluate(() =>
      (['sessionStorage', 'localStorage'] as const).map((which) => {
        const s = (globalThis as unknown as Record<typeof which, Store>)[which];
        return Array.from({ length: s.length }, (_, i) => s.key(i) ?? '').map((k) => [k, s.getItem(k)]);
      }),
    ).then(([session, local]) => ({ session: session!, local: local! }));

  test('sign in, create and edit with history, sign out, read-only and operate views', async (t) => {
    const a = agent!;

    await t.test('the API wants a token; the UI files and /health do not', async () => {
      const res = await api<ErrorBody>(a.url, 'GET', '/v1/jobs');
      assert.equal(res.status, 401);
      assert.equal(res.body.code, 'KAIROS_AUTH_REQUIRED');
      assert.equal((await api(a.url, 'GET', '/health')).status, 200);
      assert.equal((await api(a.url, 'GET', '/ui/app.js')).status, 200);
    });

    await t.test('the UI opens on the sign-in screen', async () => {
      await page.goto(`${a.url}/ui/`);
      await signInHeading().waitFor();
      assert.equal(await page.getByLabel('API token').getAttribute('type'), 'password');
      await screenshot(page, 'sign-in.png');
    });

    await t.test('a wrong token shows the server’s error and stays on the sign-in screen', async () => {
      const expected = await api<ErrorBody>(a.url, 'GET', '/v1/auth/whoami', undefined, { authorization: 'Bearer not-a-real-token' });
      assert.equal(expected.status, 401);
      assert.equal(expected.body.code, 'KAIROS_AUTH_INVALID');
      await signIn('not-a-real-token');
      await page.getByRole('alert').filter({ hasText: expected.body.message }).waitFor();
      await signInHeading().waitFor();
      assert.deepEqual((await storage()).session, []);
    });

    await t.test('the admin token signs in; the header names it; it lives in sessionStorage only', async () => {
      await signIn(adminToken);
      await page.locator('.card', { hasText: 'Total jobs' }).filter({ hasText: '0' }).waitFor();
      const session = page.locator('#session');
      await session.filter({ hasText: ADMIN }).filter({ hasText: 'admin' }).waitFor();
      await session.getByRole('button', { name: 'Sign out' }).waitFor();
      const s = await storage();
      assert.deepEqual(
        s.session.map(([, v]) => v),
        [adminToken],
      );
      assert.deepEqual(s.local, []);
      assert.ok(!page.url().includes(adminToken));
    });

    await t.test('the admin creates a job and its change history shows the create by that token', async () => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'New job' }).click();
      await page.getByLabel('Job JSON', { exact: true }).fill(
        JSON.stringify({ name: JOB, schedule: '@manually', executor: 'shell', executor_config: { shell: 'true', command: 'echo one' } }, null, 2),
      );
      await page.getByRole('button', { name: 'Save' }).click();
      await page.waitForURL(new RegExp(`#/jobs/${JOB}$`));
      const history = page.getByRole('region', { name: /Change history/ });
      const create = history.getByRole('row').filter({ hasText: 'job.create' });
      await create.filter({ hasText: ADMIN }).waitFor();
    });

    await t.test('editing it adds an update entry with the changed field, before → after', async () => {
      await page.getByRole('link', { name: 'Edit', exact: true }).click();
      const textarea = page.getByLabel('Job JSON', { exact: true });
      await page.waitForURL(new RegExp(`#/jobs/${JOB}/edit$`));
      assert.match(await textarea.inputValue(), /"command": "echo one"/);
      const job = JSON.parse(await textarea.inputValue()) as { executor_config: Record<string, string>; schedule: string };
      job.executor_config.command = 'echo two';
      await textarea.fill(JSON.stringify(job, null, 2));
      await page.getByRole('button', { name: 'Save' }).click();
      await page.waitForURL(new RegExp(`#/jobs/${JOB}$`));
      const history = page.getByRole('region', { name: /Change history/ });
      const update = history.getByRole('row').filter({ hasText: 'job.update' }).filter({ hasText: ADMIN });
      const change = update.getByRole('listitem').filter({ hasText: 'executor_config.command' });
      await change.waitFor();
      assert.equal(await change.locator('del').innerText(), '"echo one"');
      assert.equal(await change.locator('ins').innerText(), '"echo two"');
      // Newest first: the update above the create.
      const actions = await history.locator('tbody tr').locator('td:nth-child(3)').allInnerTexts();
      assert.deepEqual(actions, ['job.update', 'job.create']);
      await screenshot(page, 'job-history.png');
    });

    await t.test('Sign out returns to the sign-in screen and forgets the token', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await signInHeading().waitFor();
      const s = await storage();
      assert.deepEqual(s.session, []);
      assert.deepEqual(s.local, []);
      // The header no longer offers a session.
      assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
    });

    await t.test('the read token signs in back on the page the user was on, without edit/run/delete/toggle', async () => {
      await page.goto(`${a.url}/ui/#/jobs/${JOB}`);
      await signInHeading().waitFor();
      await signIn(readToken);
      await page.getByRole('heading', { level: 1, name: new RegExp(JOB) }).waitFor();
      assert.match(page.url(), new RegExp(`#/jobs/${JOB}$`));
      await page.locator('#session').filter({ hasText: READER }).filter({ hasText: 'read' }).waitFor();
      // The history is readable.
      await page.getByRole('region', { name: /Change history/ }).getByRole('row').filter({ hasText: 'job.update' }).waitFor();
      for (const name of ['Run', 'Toggle', 'Delete']) assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, name);
      assert.equal(await page.getByRole('link', { name: 'Edit', exact: true }).count(), 0);
      assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'New job' }).count(), 0);

      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs' }).click();
      const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: JOB, exact: true }) });
      await row.waitFor();
      assert.equal(await row.getByRole('button').count(), 0);
    });

    await t.test('the operate token gets Run and Toggle but not Edit, Delete or New job', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await signIn(operateToken);
      const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: JOB, exact: true }) });
      await row.getByRole('button', { name: `Run ${JOB}` }).waitFor();
      await row.getByRole('button', { name: `Toggle ${JOB}` }).waitFor();
      assert.equal(await row.getByRole('button', { name: `Delete ${JOB}` }).count(), 0);
      assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'New job' }).count(), 0);
      await row.getByRole('button', { name: `Run ${JOB}` }).click();
      await page.getByRole('status').filter({ hasText: `Run of "${JOB}" requested` }).waitFor();
      await row.getByRole('link', { name: JOB, exact: true }).click();
      await page.getByRole('button', { name: 'Run', exact: true }).waitFor();
      assert.equal(await page.getByRole('link', { name: 'Edit', exact: true }).count(), 0);
      assert.equal(await page.getByRole('button', { name: 'Delete', exact: true }).count(), 0);
      await page.getByRole('region', { name: /Change history/ }).getByRole('row').filter({ hasText: 'job.run' }).filter({ hasText: OPERATOR }).waitFor();
    });

    await t.test('a reload keeps the session (same tab), a revoked token sends the user back to sign in', async () => {
      await page.reload();
      await page.locator('#session').filter({ hasText: OPERATOR }).waitFor();
      const revoked = await api(a.url, 'DELETE', `/v1/tokens/${OPERATOR}`, undefined, { authorization: `Bearer ${adminToken}` });
      assert.ok(revoked.status >= 200 && revoked.status < 300, `revoke answered ${revoked.status}`);
      // The job page refreshes itself; its next call gets a 401.
      await signInHeading().waitFor();
      assert.deepEqual((await storage()).session, []);
    });

    assert.deepEqual(pageErrors, []);
  });
});
