/**
 * The web UI (dist/ui, served by the agent at /ui/) on an agent that has API tokens, in Debian's
 * Chromium (playwright-core): the sign-in screen, a refused token, an admin who creates and edits
 * a job and sees both in the job's change history, sign out, a read-only token that gets no
 * control it could not use (jobs list, bulk bar, job page, editor), an operate token that may
 * run and toggle but not edit, delete or create, a reload that keeps the session and a revoked
 * token that ends it. The token is kept in sessionStorage only.
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
import { api, BIN, ROOT, shellJob, startAgent, stopAndRemove, type AgentHandle, type ApiResponse } from '../helpers/agent.js';

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
  const header = () => page.locator('header.top');
  const identity = () => page.locator('#identity');
  const signOutButton = () => header().getByRole('button', { name: 'Sign out' });
  const mainNav = () => page.getByRole('navigation', { name: 'Main' });
  const history = () => page.getByRole('region', { name: /Change history/ });
  const jobRow = () => page.locator(`table.jobs-table tr[data-job="${JOB}"]`);
  const newJobLink = () => page.getByRole('link', { name: 'New job', exact: true });
  /** The job page's write controls (Toggle reads "Disable" or "Enable"). */
  const jobPageButtons = ['Run', 'Disable', 'Enable', 'Delete'];
  /**
   * Everything in the page's sessionStorage and localStorage, as [key, value] pairs.
   * (A string: the root tsconfig has no DOM types, and tsx would wrap a named helper in a
   * `__name` call the page doesn't have.)
   */
  const storage = async (): Promise<{ session: Array<[string, string | null]>; local: Array<[string, string | null]> }> => {
    const [session, local] = await page.evaluate<Array<Array<[string, string | null]>>>(
      `['sessionStorage', 'localStorage'].map((which) => {
        const s = window[which];
        return Array.from({ length: s.length }, (_, i) => s.key(i) ?? '').map((k) => [k, s.getItem(k)]);
      })`,
    );
    return { session: session!, local: local! };
  };

  test('sign in, create and edit with history, sign out, read-only and operate views', async (t) => {
    const a = agent!;

    await t.test('the API wants a token; the UI files and /health do not', async () => {
      const res = await api<ErrorBody>(a.url, 'GET', '/v1/jobs');
      assert.equal(res.status, 401);
      assert.equal(res.body.code, 'KAIROS_AUTH_REQUIRED');
      assert.equal((await api(a.url, 'GET', '/health')).status, 200);
      for (const file of ['/ui/', '/ui/app.js', '/ui/app.css']) assert.equal((await api(a.url, 'GET', file)).status, 200, file);
    });

    await t.test('the UI opens on the sign-in screen', async () => {
      await page.goto(`${a.url}/ui/`);
      await signInHeading().waitFor();
      assert.equal(await page.getByLabel('API token').getAttribute('type'), 'password');
      // Nobody is signed in: the header offers no session.
      assert.equal(await signOutButton().count(), 0);
      assert.equal(await identity().count(), 0);
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
      await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
      await page.locator('#stat-jobs .value').filter({ hasText: /^0$/ }).waitFor();
      await identity().filter({ hasText: ADMIN }).filter({ hasText: '(admin)' }).waitFor();
      await signOutButton().waitFor();
      const s = await storage();
      assert.deepEqual(
        s.session.map(([, v]) => v),
        [adminToken],
      );
      assert.deepEqual(s.local, []);
      assert.ok(!page.url().includes(adminToken));
    });

    await t.test('the admin creates a job and its change history shows the create by that token', async () => {
      await mainNav().getByRole('link', { name: 'Jobs' }).click();
      await newJobLink().click();
      await page.getByRole('heading', { level: 1, name: 'New job' }).waitFor();
      await page.getByRole('tab', { name: 'JSON' }).click();
      await page.getByLabel('Job JSON', { exact: true }).fill(JSON.stringify(shellJob(JOB, 'echo one'), null, 2));
      await page.getByRole('button', { name: 'Save' }).click();
      await page.waitForURL(new RegExp(`#/jobs/${JOB}$`));
      const create = history().getByRole('row').filter({ hasText: 'job.create' });
      await create.filter({ hasText: ADMIN }).waitFor();
      assert.ok(!page.url().includes(adminToken));
    });

    await t.test('editing it adds an update entry with the changed field, before → after', async () => {
      await page.locator('.job-actions').getByRole('link', { name: 'Edit', exact: true }).click();
      await page.waitForURL(new RegExp(`#/jobs/${JOB}/edit$`));
      await page.getByRole('heading', { level: 1, name: `Edit ${JOB}` }).waitFor();
      const command = page.getByLabel('Command', { exact: true });
      await command.waitFor();
      assert.equal(await command.inputValue(), 'echo one');
      await command.fill('echo two');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.waitForURL(new RegExp(`#/jobs/${JOB}$`));
      const update = history().getByRole('row').filter({ hasText: 'job.update' }).filter({ hasText: ADMIN });
      const change = update.getByRole('listitem').filter({ hasText: 'executor_config.command' });
      await change.waitFor();
      assert.equal(await change.locator('del').innerText(), '"echo one"');
      assert.equal(await change.locator('ins').innerText(), '"echo two"');
      // Newest first: the update above the create.
      const actions = await history().locator('tbody tr').locator('td:nth-child(3)').allInnerTexts();
      assert.deepEqual(actions, ['job.update', 'job.create']);
      await screenshot(page, 'job-history.png');
    });

    await t.test('Sign out returns to the sign-in screen and forgets the token', async () => {
      await signOutButton().click();
      await signInHeading().waitFor();
      const s = await storage();
      assert.deepEqual(s.session, []);
      assert.deepEqual(s.local, []);
      // The header no longer offers a session.
      assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
      assert.equal(await identity().count(), 0);
    });

    await t.test('the read token signs in back on the page the user was on, with no edit/run/delete/toggle/new-job control anywhere', async () => {
      await page.goto(`${a.url}/ui/#/jobs/${JOB}`);
      await signInHeading().waitFor();
      await signIn(readToken);
      await page.getByRole('heading', { level: 1, name: new RegExp(JOB) }).waitFor();
      assert.match(page.url(), new RegExp(`#/jobs/${JOB}$`));
      await identity().filter({ hasText: READER }).filter({ hasText: '(read)' }).waitFor();
      // The history is readable.
      await history().getByRole('row').filter({ hasText: 'job.update' }).waitFor();
      // The job page: no actions at all.
      for (const name of jobPageButtons) assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, name);
      assert.equal(await page.getByRole('link', { name: 'Edit', exact: true }).count(), 0);
      assert.equal(await page.locator('.job-actions').count(), 0);

      // The editor, reached by its address, offers nothing to save.
      for (const hash of [`#/jobs/${JOB}/edit`, '#/new']) {
        await page.goto(`${a.url}/ui/${hash}`);
        await page.getByRole('alert').filter({ hasText: 'needs an admin token' }).filter({ hasText: READER }).waitFor();
        assert.equal(await page.getByRole('button', { name: 'Save' }).count(), 0, hash);
        assert.equal(await page.getByLabel('Job JSON', { exact: true }).count(), 0, hash);
        assert.equal(await page.locator('form').count(), 0, hash);
      }

      // The jobs list: no New job, no row actions, no selection (so no bulk bar).
      await mainNav().getByRole('link', { name: 'Jobs' }).click();
      await jobRow().getByRole('link', { name: JOB, exact: true }).waitFor();
      assert.equal(await jobRow().getByRole('button').count(), 0);
      assert.equal(await page.getByRole('table', { name: 'Jobs' }).getByRole('checkbox').count(), 0);
      assert.equal(await page.getByRole('region', { name: 'Selected jobs' }).count(), 0);
      assert.equal(await newJobLink().count(), 0);
      assert.equal(await mainNav().getByRole('link', { name: 'New job' }).count(), 0);
    });

    await t.test('the read token sees no write control while a reload is still asking who it is', async () => {
      // Hold whoami back: the pages load, but must offer no control before they know the role.
      let release = (): void => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      await page.route('**/v1/auth/whoami', async (route) => {
        await held;
        await route.continue();
      });
      try {
        await page.goto(`${a.url}/ui/#/jobs/${JOB}`);
        await page.reload();
        await page.getByRole('heading', { level: 1, name: new RegExp(JOB) }).waitFor();
        await history().getByRole('row').filter({ hasText: 'job.update' }).waitFor();
        assert.equal(await identity().count(), 0, 'whoami is still held');
        for (const name of jobPageButtons) assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, name);
        assert.equal(await page.getByRole('link', { name: 'Edit', exact: true }).count(), 0);
        await mainNav().getByRole('link', { name: 'Jobs' }).click();
        await jobRow().getByRole('link', { name: JOB, exact: true }).waitFor();
        assert.equal(await jobRow().getByRole('button').count(), 0);
        assert.equal(await page.getByRole('table', { name: 'Jobs' }).getByRole('checkbox').count(), 0);
        assert.equal(await newJobLink().count(), 0);
        await page.goto(`${a.url}/ui/#/new`);
        await page.getByRole('heading', { level: 1, name: 'New job' }).waitFor();
        assert.equal(await page.getByRole('button', { name: 'Save' }).count(), 0);
      } finally {
        release();
      }
      await identity().filter({ hasText: READER }).waitFor();
      // Only once the held request went on (unrouting first would let the handler answer it twice).
      await page.unroute('**/v1/auth/whoami');
      await page.getByRole('alert').filter({ hasText: 'needs an admin token' }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Save' }).count(), 0);
      await mainNav().getByRole('link', { name: 'Jobs' }).click();
      await jobRow().getByRole('link', { name: JOB, exact: true }).waitFor();
      assert.equal(await jobRow().getByRole('button').count(), 0);
      assert.equal(await newJobLink().count(), 0);
    });

    await t.test('the operate token gets Run and Toggle but not Edit, Delete or New job', async () => {
      await signOutButton().click();
      await signIn(operateToken);
      await identity().filter({ hasText: OPERATOR }).filter({ hasText: '(operate)' }).waitFor();
      const row = jobRow();
      await row.getByRole('button', { name: `Run ${JOB}` }).waitFor();
      await row.getByRole('button', { name: `Disable ${JOB}` }).waitFor();
      assert.equal(await row.getByRole('button', { name: `Delete ${JOB}` }).count(), 0);
      assert.equal(await newJobLink().count(), 0);
      // The bulk bar: enable, disable and run, but no delete.
      await page.getByLabel(`Select ${JOB}`).check();
      const bar = page.getByRole('region', { name: 'Selected jobs' });
      await bar.getByText('1 job selected').waitFor();
      for (const name of ['Enable', 'Disable', 'Run']) await bar.getByRole('button', { name, exact: true }).waitFor();
      assert.equal(await bar.getByRole('button', { name: 'Delete', exact: true }).count(), 0);
      await bar.getByRole('button', { name: 'Clear selection' }).click();
      await bar.waitFor({ state: 'detached' });

      await row.getByRole('button', { name: `Run ${JOB}` }).click();
      await page.getByRole('status').filter({ hasText: `Run of "${JOB}" requested` }).waitFor();
      await row.getByRole('link', { name: JOB, exact: true }).click();
      await page.getByRole('heading', { level: 1, name: new RegExp(JOB) }).waitFor();
      const actions = page.locator('.job-actions');
      await actions.getByRole('button', { name: 'Run', exact: true }).waitFor();
      await actions.getByRole('button', { name: 'Disable', exact: true }).waitFor();
      assert.equal(await page.getByRole('link', { name: 'Edit', exact: true }).count(), 0);
      assert.equal(await page.getByRole('button', { name: 'Delete', exact: true }).count(), 0);
      await history().getByRole('row').filter({ hasText: 'job.run' }).filter({ hasText: OPERATOR }).waitFor();
    });

    await t.test('a reload keeps the session (same tab), a revoked token sends the user back to sign in', async () => {
      await page.reload();
      await identity().filter({ hasText: OPERATOR }).waitFor();
      await page.getByRole('heading', { level: 1, name: new RegExp(JOB) }).waitFor();
      const revoked = await api(a.url, 'DELETE', `/v1/tokens/${OPERATOR}`, undefined, { authorization: `Bearer ${adminToken}` });
      assert.ok(revoked.status >= 200 && revoked.status < 300, `revoke answered ${revoked.status}`);
      // The job page refreshes itself; its next call gets a 401.
      await signInHeading().waitFor();
      await page.getByRole('alert').filter({ hasText: 'Your session ended' }).waitFor();
      assert.deepEqual((await storage()).session, []);
      assert.equal(await identity().count(), 0);
    });

    assert.deepEqual(pageErrors, []);
  });
});
