/**
 * The workflow graph on the job page, live, in Debian's Chromium against one agent serving the
 * built UI (dist/ui): a and b run every 3 s, c depends on both (fan-in), d on c. On c's page the
 * graph shows the 4 jobs in 3 layers with their 3 fan-in edges, follows new runs on its own
 * (polling), shows c succeeded in a run where a and b succeeded before it; a run picked in the
 * select stays shown while new runs arrive. The editor's "Depends on" field saves `depends_on`.
 * Screenshots at 1400 and 390 px (and dark), no horizontal scroll. Waits are locators and
 * predicates, never fixed sleeps.
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

const UI_DIR = process.env.KAIROS_TEST_UI_DIR || join(ROOT, 'dist', 'ui');
const skip = chromiumSkip || (existsSync(join(UI_DIR, 'app.js')) ? false : `${UI_DIR}/app.js is missing: run node scripts/build-ui.mjs`);
const EVERY_3S = '*/3 * * * * *';

interface WorkflowNode {
  job: string;
  kind: string;
  state: string;
  started_at: string | null;
  finished_at: string | null;
}
interface Workflow {
  run: string | null;
  runs: string[];
  nodes: WorkflowNode[];
  edges: { from: string; to: string; kind: string }[];
}
/** What the page draws, read in one go (the graph may re-render between two reads). */
interface Drawn {
  run: string;
  nodes: Record<string, { state: string; label: string; y: number }>;
  edges: Record<string, string>;
}

// Runs in the page (a string: the test's tsconfig has no DOM types).
const DRAWN = `(() => {
  const g = document.querySelector('svg.wf-graph');
  if (!g) return null;
  const nodes = {};
  for (const n of g.querySelectorAll('.wf-node')) {
    nodes[n.dataset.job] = { state: n.dataset.state, label: n.getAttribute('aria-label'), y: Number(n.querySelector('rect').getAttribute('y')) };
  }
  const edges = {};
  for (const e of g.querySelectorAll('.wf-edge[data-edge]')) edges[e.dataset.edge] = e.dataset.kind;
  return { run: g.dataset.run, nodes, edges };
})()`;

describe('web UI: workflow graph', { skip }, () => {
  let agent: AgentHandle;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  const create = async (job: Record<string, unknown>): Promise<void> => {
    const res = await api(agent.url, 'POST', '/v1/jobs', job);
    assert.equal(res.status, 201, JSON.stringify(res.body));
  };
  /** The job page's title: the name, then its status badge. */
  const title = (name: string) => page.locator('.job-head h1').filter({ hasText: new RegExp(`^${name}\\b`) });
  const open = async (name: string): Promise<void> => {
    await page.goto(`${agent.url}/ui/#/jobs/${encodeURIComponent(name)}`);
    await title(name).waitFor();
  };
  /** Waits until `predicate` (JS over `d`, the drawn graph) holds; answers the graph then. */
  const drawnWhen = async (predicate: string, timeout = 30_000): Promise<Drawn> => {
    const handle = await page.waitForFunction(`(() => { const d = ${DRAWN}; return d && (${predicate}) ? JSON.stringify(d) : null; })()`, undefined, { timeout });
    return JSON.parse((await handle.jsonValue()) as string) as Drawn;
  };
  const shoot = (label: string): Promise<void> => shootBothWidths(page, label);

  before(async () => {
    agent = await startAgent({ env: { KAIROS_UI_DIR: UI_DIR } });
    browser = await launchChromium();
    page = await watchedPage(browser, pageErrors);
    await page.setViewportSize({ width: 1400, height: 900 });
    await create(shellJob('a', 'echo a', { schedule: EVERY_3S }));
    await create(shellJob('b', 'echo b', { schedule: EVERY_3S }));
    await create(shellJob('c', 'echo c', { schedule: '', depends_on: ['a', 'b'] }));
    await create(shellJob('d', 'echo d', { schedule: '', depends_on: ['c'] }));
  });

  after(async () => {
    await browser?.close();
    if (agent) {
      await agent.stop();
      removeDir(agent.dataDir);
    }
  });

  test("c's page: 4 jobs in layers, fan-in edges, c succeeds after a and b, live", async () => {
    await open('c');
    await page.getByRole('region', { name: 'Workflow' }).getByRole('heading', { level: 2, name: 'Workflow' }).waitFor();
    const graph = page.getByRole('group', { name: 'Workflow of c' });
    await graph.waitFor();
    const shape = await drawnWhen('Object.keys(d.nodes).length === 4 && Object.keys(d.edges).length === 3');
    assert.deepEqual(Object.keys(shape.nodes).sort(), ['a', 'b', 'c', 'd']);
    assert.deepEqual(shape.edges, { 'a>c': 'fan_in', 'b>c': 'fan_in', 'c>d': 'fan_in' });
    // Layers: a and b first, c under them, d under c.
    const y = (j: string): number => shape.nodes[j]?.y ?? NaN;
    assert.equal(y('a'), y('b'));
    assert.ok(y('a') < y('c') && y('c') < y('d'), JSON.stringify(shape.nodes));
    // The current job is not a link; the others are, named "job: state".
    assert.equal(await graph.locator('[aria-current="page"][data-job="c"]').count(), 1);
    assert.equal(await graph.getByRole('link').count(), 3);

    // Live: without a reload, a run in which c succeeded shows up (a and b succeeded in it too).
    const done = await drawnWhen("d.nodes.c && d.nodes.c.state === 'succeeded'");
    assert.equal(done.nodes.c?.label, 'c: succeeded');
    assert.equal(done.nodes.a?.state, 'succeeded');
    assert.equal(done.nodes.b?.state, 'succeeded');
    await graph.getByRole('img', { name: /^c: (succeeded|failed|running|waiting|blocked)$/ }).waitFor();
    const wf = (await api<Workflow>(agent.url, 'GET', `/v1/jobs/c/workflow?run=${encodeURIComponent(done.run)}`)).body;
    const node = (j: string): WorkflowNode => wf.nodes.find((n) => n.job === j) as WorkflowNode;
    assert.equal(node('c').state, 'succeeded');
    for (const p of ['a', 'b']) {
      assert.equal(node(p).state, 'succeeded');
      assert.ok((node(p).finished_at as string) <= (node('c').started_at as string), `${p} finished ${node(p).finished_at}, c started ${node('c').started_at}`);
    }
    // It keeps following: the newest run moves on by itself.
    await drawnWhen(`d.run !== ${JSON.stringify(done.run)}`);
    await shoot('workflow');
  });

  test('an older run picked in the select stays shown while new runs arrive', async () => {
    const select = page.getByRole('combobox', { name: 'Run', exact: true });
    // "Latest" plus at least 3 runs: the second newest is then neither the newest nor the very first.
    await select.locator('option').nth(3).waitFor({ state: 'attached' });
    assert.equal(await select.inputValue(), '');
    const newest = (await select.locator('option').nth(1).getAttribute('value')) as string;
    const older = (await select.locator('option').nth(2).getAttribute('value')) as string;
    assert.ok(older < newest, `${older} < ${newest}`);
    await select.selectOption(older);
    const shown = await drawnWhen(`d.run === ${JSON.stringify(older)} && Object.values(d.nodes).every((n) => n.state === 'succeeded')`);
    assert.equal(Object.keys(shown.nodes).length, 4);
    await page.locator('#workflow-summary', { hasText: '4 succeeded' }).waitFor();
    // A newer run arrives (the options change) and the picked one is still the one drawn.
    await page.waitForFunction(`document.querySelector('#workflow-run option:nth-child(2)').value !== ${JSON.stringify(newest)}`, undefined, { timeout: 30_000 });
    assert.equal(await select.inputValue(), older);
    const still = (await page.evaluate(DRAWN)) as Drawn;
    assert.equal(still.run, older);
    // Back to "Latest": it follows the newest run again.
    await select.selectOption('');
    await drawnWhen(`d.run > ${JSON.stringify(older)}`);
  });

  test('dark theme, and a node links to its job page', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await drawnWhen('Object.keys(d.nodes).length === 4');
    await shoot('workflow-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    const graph = page.getByRole('group', { name: 'Workflow of c' });
    await graph.getByRole('link', { name: /^d: / }).click();
    await title('d').waitFor();
    const dGraph = page.getByRole('group', { name: 'Workflow of d' });
    await dGraph.locator('[aria-current="page"][data-job="d"]').waitFor();
    await dGraph.getByRole('link', { name: /^c: / }).waitFor();
  });

  test('the editor saves "Depends on" as depends_on', async () => {
    await page.goto(`${agent.url}/ui/#/new`);
    await page.getByRole('heading', { level: 1, name: 'New job' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('e');
    await page.getByLabel('Schedule', { exact: true }).fill('');
    await page.getByLabel('Command', { exact: true }).fill('echo e');
    const dependsOn = page.getByLabel('Depends on', { exact: true });
    await dependsOn.fill('a, b');
    await page.locator('#f-depends_on-hint', { hasText: 'runs once per window in which all of these succeeded; exclusive with parent job' }).waitFor();
    await page.locator('#schedule-preview', { hasText: 'Runs once per tick in which "a", "b" all succeeded.' }).waitFor();
    // Both kinds of parent: flagged before save.
    await page.getByLabel('Parent job', { exact: true }).fill('a');
    await page.locator('#f-depends_on[aria-invalid="true"]').waitFor();
    await page.getByLabel('Parent job', { exact: true }).fill('');
    await page.locator('#f-depends_on[aria-invalid="true"]').waitFor({ state: 'detached' });
    // The JSON tab carries the list.
    await page.getByRole('tab', { name: 'JSON' }).click();
    const json = JSON.parse(await page.getByLabel('Job JSON', { exact: true }).inputValue()) as { depends_on?: string[] };
    assert.deepEqual(json.depends_on, ['a', 'b']);
    await page.getByRole('tab', { name: 'Form' }).click();
    assert.equal(await dependsOn.inputValue(), 'a, b');

    await page.getByRole('button', { name: 'Save' }).click();
    await title('e').waitFor();
    const saved = await api<{ depends_on?: string[]; parent_job: string; schedule: string }>(agent.url, 'GET', '/v1/jobs/e');
    assert.equal(saved.status, 200);
    assert.deepEqual(saved.body.depends_on, ['a', 'b']);
    assert.equal(saved.body.parent_job, '');
    assert.equal(saved.body.schedule, '');
    await page.getByRole('group', { name: 'Workflow of e' }).locator('[aria-current="page"][data-job="e"]').waitFor();

    // Editing loads the list back into the field.
    await page.goto(`${agent.url}/ui/#/jobs/e/edit`);
    await page.getByRole('heading', { level: 1, name: 'Edit e' }).waitFor();
    await page.waitForFunction(`document.querySelector('#f-depends_on')?.value === 'a, b'`);
  });

  test('no page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
