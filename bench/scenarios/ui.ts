/**
 * Scenario: the web UI at scale. Stores 100k jobs (bulk endpoint) and one job with 100
 * executions, then measures in Debian's Chromium (navigation timing: from the navigation's start
 * to the first rows on screen): the jobs page, and that job's page. The reference is the same
 * browser loading a bare Node page that fetches one page of jobs from the same agent and renders
 * 25 rows with no framework: what the network, JSON and the browser cost on their own.
 */
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startAgent, apiOk, ROOT, type AgentHandle } from '../lib/agent.js';
import { removeDir, tempDir } from '../lib/cleanup.js';
import { jobDefinition } from '../lib/job-defs.js';
import { summarize, type Summary } from '../lib/stats.js';

export interface UiOptions {
  jobs: number;
  executions: number;
  samples: number;
  log: (msg: string) => void;
}

export interface UiResult {
  jobs: number;
  executions: number;
  seedSeconds: number;
  bundle: { jsGzipBytes: number; chunksGzipBytes: number; cssGzipBytes: number; budgetGzipBytes: number };
  /** ms from navigation start to the first job rows rendered. */
  jobsPage: Summary;
  /** ms from navigation start to the job page's executions rendered. */
  jobPage: Summary;
  /** The bare page: ms to 25 rows fetched from the same agent and rendered without a framework. */
  reference: Summary;
}

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function seed(agent: AgentHandle, jobs: number, log: (m: string) => void): Promise<number> {
  const t = performance.now();
  const startsAt = new Date(Date.now() + 7 * 86400_000).toISOString();
  const chunk = 5000;
  for (let from = 0; from < jobs; from += chunk) {
    const list = Array.from({ length: Math.min(chunk, jobs - from) }, (_, k) => jobDefinition(from + k, startsAt));
    await apiOk(agent.url, 'POST', '/v1/jobs/bulk', { jobs: list }, 200);
    if ((from / chunk) % 5 === 0) log(`ui: ${from + list.length} jobs stored`);
  }
  return (performance.now() - t) / 1000;
}

async function executions(agent: AgentHandle, n: number): Promise<void> {
  const job = { name: 'ui-bench-history', schedule: '@every 24h', executor: 'shell', executor_config: { command: 'echo ran' }, history_limit: n };
  await apiOk(agent.url, 'POST', '/v1/jobs', job, 201);
  for (let i = 0; i < n; i++) await apiOk(agent.url, 'POST', '/v1/jobs/ui-bench-history?force=true', undefined, 202);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const res = await fetch(`${agent.url}/v1/jobs/ui-bench-history/executions?offset=0&limit=1`);
    if (Number(res.headers.get('x-total-count')) >= n) {
      const running = (await (await fetch(`${agent.url}/v1/busy`)).json()) as unknown[];
      if (running.length === 0) return;
    }
    if (Date.now() > deadline) throw new Error('ui bench: executions did not finish within 120 s');
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Navigate and return ms from the navigation's start until `selector` matches at least `count` elements. */
async function timeTo(page: Page, url: string, selector: string, count = 1): Promise<number> {
  await page.goto('about:blank');
  await page.goto(url, { waitUntil: 'commit' });
  // A string: the function runs in the page (this file is type-checked without the DOM library).
  await page.waitForFunction(`document.querySelectorAll(${JSON.stringify(selector)}).length >= ${count}`, undefined, { timeout: 30_000, polling: 'raf' });
  return Number(await page.evaluate('performance.now()'));
}

function referenceServer(agentUrl: string): Promise<{ server: Server; url: string }> {
  const html = `<!doctype html><meta charset="utf-8"><table><tbody id="rows"></tbody></table><script type="module">
const res = await fetch('/v1/jobs?_start=0&_end=25');
const jobs = await res.json();
const body = document.getElementById('rows');
for (const j of jobs) { const tr = document.createElement('tr'); for (const v of [j.name, j.schedule, j.status, j.next]) { const td = document.createElement('td'); td.textContent = String(v ?? ''); tr.append(td); } body.append(tr); }
</script>`;
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/v1/')) {
      // Same agent, same data: only the page around it differs.
      fetch(`${agentUrl}${req.url}`).then(async (r) => {
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(Buffer.from(await r.arrayBuffer()));
      }, () => res.writeHead(502).end());
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end(html);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    resolve({ server, url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/` });
  }));
}

export async function runUi(o: UiOptions): Promise<UiResult> {
  const dir = tempDir('kairos-bench-ui-');
  const agent = await startAgent({ dataDir: dir });
  let browser: Browser | null = null;
  let ref: Server | null = null;
  try {
    o.log(`ui: storing ${o.jobs} jobs`);
    const seedSeconds = await seed(agent, o.jobs, o.log);
    o.log(`ui: ${o.executions} executions of one job`);
    await executions(agent, o.executions);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    const reference = await referenceServer(agent.url);
    ref = reference.server;
    const jobsPage: number[] = [];
    const jobPage: number[] = [];
    const refTimes: number[] = [];
    // One warm-up of each (the first navigation pays for the browser's own start-up), then samples.
    for (let i = 0; i <= o.samples; i++) {
      const a = await timeTo(page, `${agent.url}/ui/#/jobs`, 'table.jobs-table tbody tr[data-job]', 25);
      const b = await timeTo(page, `${agent.url}/ui/#/jobs/ui-bench-history`, 'table.executions tbody tr', 10);
      const c = await timeTo(page, reference.url, '#rows tr', 25);
      if (i === 0) continue;
      jobsPage.push(a);
      jobPage.push(b);
      refTimes.push(c);
    }
    const size = JSON.parse(readFileSync(join(ROOT, 'dist', 'ui', 'bundle-size.json'), 'utf8')) as { js_gzip_bytes: number; chunks_gzip_bytes?: number; css_gzip_bytes: number; budget_gzip_bytes: number };
    return {
      jobs: o.jobs,
      executions: o.executions,
      seedSeconds: Math.round(seedSeconds * 10) / 10,
      bundle: { jsGzipBytes: size.js_gzip_bytes, chunksGzipBytes: size.chunks_gzip_bytes ?? 0, cssGzipBytes: size.css_gzip_bytes, budgetGzipBytes: size.budget_gzip_bytes },
      jobsPage: summarize(jobsPage),
      jobPage: summarize(jobPage),
      reference: summarize(refTimes),
    };
  } finally {
    await browser?.close().catch(() => undefined);
    ref?.close();
    await agent.stop();
    removeDir(dir);
  }
}
