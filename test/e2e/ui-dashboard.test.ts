/**
 * The dashboard, members and running pages of the new web UI (dist/ui, served through
 * KAIROS_UI_DIR) in Debian's Chromium, against one agent: the cards match GET /v1/stats after
 * successful, failed and skipped runs; the activity chart draws them; a recent failure links to its
 * job; the next scheduled job leads "Coming up"; the members page; a running job on the Running
 * page with its live output; then the members page and dashboard of a 3-agent etcd cluster. Screenshots at 1400 and 390 px, no horizontal scroll on a phone.
 * Waits are Playwright's auto-waiting locators, never fixed sleeps.
 *
 * Build first: `node scripts/build-ui.mjs` (or point KAIROS_TEST_UI_DIR at another build).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkip, launchChromium, shootBothWidths as shoot, watchedPage } from '../helpers/browser.js';
import { api, eventually, removeDir, ROOT, shellJob, startAgent, type AgentHandle } from '../helpers/agent.js';
import type { Stats } from '../../src/api/routes/stats.js';
import { agreedLeader, randomKeyspace } from '../helpers/cluster.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';

const UI_DIR = process.env.KAIROS_TEST_UI_DIR || join(ROOT, 'dist', 'ui');
const skip = chromiumSkip || (existsSync(join(UI_DIR, 'app.js')) ? false : `${UI_DIR}/app.js is missing: run node scripts/build-ui.mjs`);

describe('web UI: dashboard, members, running', { skip }, () => {
  let agent: AgentHandle;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  const create = async (job: Record<string, unknown>): Promise<void> => {
    const res = await api(agent.url, 'POST', '/v1/jobs', job);
    assert.equal(res.status, 201, JSON.stringify(res.body));
  };
  const run = (name: string): Promise<{ status: number }> => api(agent.url, 'POST', `/v1/jobs/${name}`);
  const stats = async (window = '24h'): Promise<Stats> => (await api(agent.url, 'GET', `/v1/stats?window=${window}`)).body as Stats;
  const go = async (hash: string, heading: string): Promise<void> => {
    await page.goto(`${agent.url}/ui/${hash}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  };
  before(async () => {
    agent = await startAgent({ env: { KAIROS_UI_DIR: UI_DIR } });
    browser = await launchChromium();
    page = await watchedPage(browser, pageErrors);
    await page.setViewportSize({ width: 1400, height: 900 });
    await create(shellJob('ok', 'echo fine'));
    await create(shellJob('bad', 'echo broken; exit 3'));
    // Tags no agent has: a run is refused and recorded as skipped.
    await create(shellJob('nowhere', 'echo never', { tags: { region: 'mars' } }));
    await create(shellJob('soon', 'echo soon', { schedule: '@every 1h' }));
    await create(shellJob('later', 'echo later', { schedule: '@every 3h' }));
    await create(shellJob('off', 'echo off', { schedule: '@every 1m', disabled: true }));
    await create(shellJob('slow', 'for i in $(seq 1 40); do echo tick$i; sleep 0.25; done'));
    for (const name of ['ok', 'ok', 'bad']) assert.equal((await run(name)).status, 202);
    assert.notEqual((await run('nowhere')).status, 202, 'no agent matches: refused');
    await eventually('the runs counted in /v1/stats', async () => {
      const s = await stats();
      const ok = s.buckets.reduce((n, b) => n + b.success, 0);
      return ok === 2 && s.failed === 1 && s.skipped === 1 && s.running === 0;
    });
  });

  after(async () => {
    await browser?.close();
    if (agent) {
      await agent.stop();
      removeDir(agent.dataDir);
    }
  });

  test('the dashboard cards match /v1/stats; the chart draws the runs', async () => {
    await go('#/', 'Dashboard');
    const s = await stats();
    assert.deepEqual(
      { total: s.jobs.total, disabled: s.jobs.disabled, failing: s.jobs.failing, failed: s.failed, skipped: s.skipped, leader: s.leader, members: s.members },
      { total: 7, disabled: 1, failing: 1, failed: 1, skipped: 1, leader: 'test-node', members: 1 },
    );
    const card = (id: string) => page.locator(`#stat-${id} .value`);
    await card('jobs').filter({ hasText: /^7$/ }).waitFor();
    await page.locator('#stat-jobs', { hasText: '1 disabled' }).waitFor();
    await card('running').filter({ hasText: /^0$/ }).waitFor();
    await card('failed').filter({ hasText: String(s.failed) }).waitFor();
    await card('skipped').filter({ hasText: String(s.skipped) }).waitFor();
    await card('failing').filter({ hasText: String(s.jobs.failing) }).waitFor();
    await card('succeeding').filter({ hasText: String(s.jobs.success) }).waitFor();
    await card('untriggered').filter({ hasText: String(s.jobs.untriggered) }).waitFor();
    await card('leader').filter({ hasText: 'test-node' }).waitFor();
    await card('members').filter({ hasText: /^1$/ }).waitFor();

    const chart = page.locator('#activity');
    assert.equal(await chart.locator('.act-bar').count(), 24, 'one bar per hour');
    await chart.locator('rect.act-ok').first().waitFor();
    await chart.locator('rect.act-bad').first().waitFor();
    await chart.locator('rect.act-skip').first().waitFor();
    await chart.locator('.act-legend', { hasText: 'Succeeded 2' }).waitFor();
    assert.match((await chart.getByRole('img').getAttribute('aria-label')) ?? '', /4 in all/);

    // Coming up: enabled jobs with a time of their own, soonest first.
    const upcoming = page.locator('#upcoming-list li');
    await upcoming.first().filter({ hasText: 'soon' }).waitFor();
    assert.deepEqual(await upcoming.locator('a').allTextContents(), ['soon', 'later']);

    await page.locator('#members-glance-list li', { hasText: 'test-node' }).filter({ hasText: 'leader' }).waitFor();
    await shoot(page, 'dashboard');

    // 7 days: bars of 6 hours.
    await page.getByRole('button', { name: '7 days' }).click();
    await page.getByRole('heading', { name: 'Activity, last 7 days' }).waitFor();
    await page.locator('#stat-failed', { hasText: 'Failed runs, 7 days' }).waitFor();
    assert.equal(await page.getByRole('button', { name: '7 days' }).getAttribute('aria-pressed'), 'true');
    await eventually('28 bars', async () => (await chart.locator('.act-bar').count()) === 28, 10_000);
    await chart.locator('rect.act-bad').first().waitFor();
  });

  test('a recent failure links to its job', async () => {
    await go('#/', 'Dashboard');
    const row = page.locator('#failures-table tbody tr');
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    assert.match((await row.first().textContent()) ?? '', /3/, 'exit code 3');
    await row.first().getByRole('link', { name: 'bad' }).click();
    await page.waitForURL(/#\/jobs\/bad$/);
  });

  test('members: the single agent, its role, leadership, status and executors', async () => {
    await go('#/members', 'Members');
    const row = page.locator('#members-table tr[data-member="test-node"]');
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    assert.match(text, /leader/);
    assert.match(text, /server/);
    assert.match(text, /alive/);
    await row.locator('.chip', { hasText: /^shell$/ }).waitFor();
    // Last seen: a real, recent time (relative on screen, exact in datetime).
    const seen = await row.locator('td[data-label="Last seen"] time').getAttribute('datetime');
    assert.ok(seen && Math.abs(Date.now() - Date.parse(seen)) < 60_000, `last seen ${seen}`);
    await page.locator('#members-summary', { hasText: '1 agent, 1 alive' }).waitFor();
    await shoot(page, 'members');
  });

  test('running: a running job, its live output, the link to its page', async () => {
    await go('#/busy', 'Running');
    await page.locator('#busy-empty').waitFor();
    assert.equal((await run('slow')).status, 202);
    const row = page.locator('#busy-table tr[data-job="slow"]');
    await row.waitFor();
    await row.getByRole('button', { name: /Show output of slow/ }).click();
    const out = page.getByRole('region', { name: /running/ }).locator('pre.busy-output');
    await out.filter({ hasText: 'tick2' }).waitFor();
    await shoot(page, 'busy');

    // The dashboard counts it too.
    await go('#/', 'Dashboard');
    await page.locator('#stat-running .value').filter({ hasText: /^1$/ }).waitFor();

    await go('#/busy', 'Running');
    await row.getByRole('link', { name: 'slow' }).click();
    await page.waitForURL(/#\/jobs\/slow$/);
  });

  test('no page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});

describe('web UI: members and dashboard of a 3-agent etcd cluster', { skip }, () => {
  let etcd: EtcdCluster;
  const agents: AgentHandle[] = [];
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    etcd = await startEtcd(1);
    const keyspace = randomKeyspace();
    const member = (name: string, server: boolean, tags: Record<string, string>) =>
      startAgent({
        server,
        env: { KAIROS_UI_DIR: UI_DIR },
        args: ['--backend', 'etcd', '--backend-machine', etcd.endpoints.join(','), '--keyspace', keyspace, '--node-name', name, '--lease-ttl', '2s', '--retry-backoff', '100ms', ...Object.entries(tags).flatMap(([k, v]) => ['--tag', `${k}=${v}`])],
      });
    agents.push(await member('alpha', true, { zone: 'a' }), await member('beta', true, { zone: 'b' }), await member('gamma', false, { zone: 'c', gpu: 'yes' }));
    browser = await launchChromium();
    page = await watchedPage(browser, pageErrors);
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  after(async () => {
    await browser?.close();
    await Promise.all(agents.map(async (a) => {
      await a.stop();
      removeDir(a.dataDir);
    }));
    await etcd?.stop();
  });

  test('every agent with its role, tags and the leader mark; the dashboard counts from etcd', async () => {
    const leader = await agreedLeader(agents);
    const url = agents[2]!.url;
    await eventually('three members', async () => ((await api<unknown[]>(url, 'GET', '/v1/members')).body as unknown[]).length === 3);
    await page.goto(`${url}/ui/#/members`);
    await page.locator('#members-summary', { hasText: '3 agents, 3 alive' }).waitFor();
    const row = (name: string) => page.locator(`#members-table tr[data-member="${name}"]`);
    await row(leader).locator('.badge-leader').waitFor();
    assert.equal(await page.locator('#members-table .badge-leader').count(), 1, 'one leader');
    assert.match((await row('gamma').textContent()) ?? '', /client/);
    await row('gamma').locator('.chip', { hasText: 'gpu=yes' }).waitFor();
    assert.match((await row('alpha').textContent()) ?? '', /server/);
    await shoot(page, 'members-cluster');

    // A failed and a successful run on one agent (untagged jobs run on every one), counted by the etcd store's activity scan.
    for (const [name, command] of [['fails', 'exit 1'], ['works', 'true']] as const) {
      assert.equal((await api(url, 'POST', '/v1/jobs', shellJob(name, command, { tags: { zone: 'a' } }))).status, 201);
      assert.equal((await api(url, 'POST', `/v1/jobs/${name}`)).status, 202);
    }
    await eventually('the runs counted', async () => {
      const s = (await api(url, 'GET', '/v1/stats')).body as Stats;
      return s.failed === 1 && s.buckets.reduce((n, b) => n + b.success, 0) === 1;
    });
    await page.goto(`${url}/ui/#/`);
    await page.locator('#stat-members .value').filter({ hasText: /^3$/ }).waitFor();
    await page.locator('#stat-leader .value', { hasText: leader }).waitFor();
    await page.locator('#stat-failed .value').filter({ hasText: /^1$/ }).waitFor();
    await page.locator('#failures-table').getByRole('link', { name: 'fails' }).waitFor();
    assert.equal(await page.locator('#members-glance-list li').count(), 3);
    assert.deepEqual(pageErrors, []);
  });
});
