/**
 * Cross-site request forgery against the API, in a real browser: Debian's
 * Chromium (playwright-core) on an attacker page served by this test from a
 * second loopback port (another port is another origin). The page tries every
 * way a browser lets a foreign page reach the agent without CORS: an
 * auto-submitted text/plain form whose body is JSON, fetch with a "simple"
 * Content-Type, fetch with application/json (preflighted), and bodiless form
 * POSTs to run-now and toggle. None may change anything. Scripts without an
 * Origin header (curl) keep working, and `--cors-origin` lets exactly the
 * listed origin in.
 *
 * Waits are events (the sink iframe's load, the fetch promise settling) and
 * polled API state, never fixed sleeps.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../helpers/browser.js';
import { api, eventually, shellJob, startAgent, stopAndRemove, type AgentHandle } from '../helpers/agent.js';

const skip = chromiumSkip;

const VICTIM = 'victim-job';
const EVIL = { name: 'evil', schedule: '@every 1s', executor: 'shell', executor_config: { command: 'id', shell: 'true' } };

interface ErrorBody {
  error: string;
  message: string;
  code: string;
  field: string;
}
interface Job {
  name: string;
  disabled: boolean;
  success_count: number;
  error_count: number;
}
interface Execution {
  id: string;
  finished_at: string;
  success: boolean;
}
interface AuditEntry {
  action: string;
  actor: string;
  job: string | null;
}

const attr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/</g, '&lt;');

/**
 * The attacker's page. `agent` and `job` come from the query string. The
 * text/plain form is the classic trick: one field whose name is the start of a
 * JSON document and whose value closes it, so the body reads
 * `{"name":"evil",…,"x":"="}` and a server that parses any body as JSON sees a job.
 */
function attackerPage(agent: string, job: string, auto: boolean): string {
  const json = JSON.stringify(EVIL);
  const fieldName = `${json.slice(0, -1)},"x":"`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Totally harmless</title><link rel="icon" href="data:,"></head>
<body>
<h1>Win a prize</h1>
<iframe name="sink-create" title="create"></iframe>
<iframe name="sink-run" title="run"></iframe>
<iframe name="sink-toggle" title="toggle"></iframe>
<form id="create" method="post" enctype="text/plain" action="${attr(`${agent}/v1/jobs`)}" target="sink-create">
  <input type="hidden" name='${attr(fieldName)}' value='"}'>
</form>
<form id="run" method="post" action="${attr(`${agent}/v1/jobs/${encodeURIComponent(job)}`)}" target="sink-run"></form>
<form id="toggle" method="post" action="${attr(`${agent}/v1/jobs/${encodeURIComponent(job)}/toggle`)}" target="sink-toggle"></form>
<script>
  const AGENT = ${JSON.stringify(agent)};
  // Submits a form into its iframe; resolves once the agent's answer has loaded there.
  window.submitInto = (formId) => new Promise((resolve) => {
    const form = document.getElementById(formId);
    const frame = document.querySelector('iframe[name="' + form.target + '"]');
    frame.addEventListener('load', () => resolve('loaded'), { once: true });
    form.submit();
  });
  // Resolves with what the page could learn: the status if CORS let it read the answer, or the rejection.
  window.tryFetch = async (path, init) => {
    try {
      const res = await fetch(AGENT + path, init);
      return { status: res.status, body: await res.text() };
    } catch (err) {
      return { rejected: String(err) };
    }
  };
  // Auto-submitted on load, as a real attack page would (unless ?auto=0).
  window.autoCreate = ${auto ? "new Promise((resolve) => addEventListener('load', () => resolve(submitInto('create'))))" : "Promise.resolve('off')"};
</script>
</body></html>`;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function attackerServer(): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(attackerPage(url.searchParams.get('agent') ?? '', url.searchParams.get('job') ?? '', url.searchParams.get('auto') !== '0'));
  });
}

type FetchOutcome = { status: number; body: string } | { rejected: string };

function fetchFromPage(page: Page, path: string, init: { method: string; headers?: Record<string, string>; body?: string; mode?: 'cors' }): Promise<FetchOutcome> {
  // Runs in the page, where the attack script defined tryFetch.
  return page.evaluate(([p, i]) => (globalThis as unknown as { tryFetch(p: string, i: object): Promise<FetchOutcome> }).tryFetch(p, i), [path, init] as const);
}

/** fetch from Node (no Origin unless given), parsed like `api()`. */
async function raw(url: string, init: RequestInit): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    // stays text
  }
  return { status: res.status, body, headers: res.headers };
}

function assertCrossOriginRefusal(res: { status: number; body: unknown }, what: string): void {
  assert.equal(res.status, 403, `${what}: ${JSON.stringify(res.body)}`);
  const body = res.body as ErrorBody;
  assert.equal(body.code, 'KAIROS_CROSS_ORIGIN', what);
  assert.equal(typeof body.message, 'string', what);
  assert.ok(body.message.length > 0, what);
  assert.equal(body.error, body.message, what);
  assert.equal(typeof body.field, 'string', what);
}

describe('cross-origin requests', { skip }, () => {
  let agent: AgentHandle | undefined;
  let corsAgent: AgentHandle | undefined;
  let browser: Browser;
  let page: Page;
  const attacker = attackerServer();
  const otherAttacker = attackerServer();
  let pageOrigin = '';
  let otherOrigin = '';
  const pageErrors: string[] = [];

  before(async () => {
    pageOrigin = `http://127.0.0.1:${await listen(attacker)}`;
    otherOrigin = `http://127.0.0.1:${await listen(otherAttacker)}`;
    agent = await startAgent();
    browser = await launchChromium();
    page = await browser.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
  });

  after(async () => {
    await browser?.close();
    attacker.close();
    otherAttacker.close();
    try {
      if (corsAgent) await stopAndRemove(corsAgent, corsAgent.dataDir);
    } finally {
      if (agent) await stopAndRemove(agent, agent.dataDir);
    }
  });

  test('a foreign page cannot create, run or toggle jobs on a default agent', async (t) => {
    const a = agent!;
    assert.equal((await api(a.url, 'POST', '/v1/jobs', shellJob(VICTIM, 'echo victim'))).status, 201);
    const jobsBefore = await api<Job[]>(a.url, 'GET', '/v1/jobs');
    assert.deepEqual(
      jobsBefore.body.map((j) => j.name),
      [VICTIM],
    );

    await t.test('the attack page runs in Chromium from another origin', async () => {
      await page.goto(`${pageOrigin}/?agent=${encodeURIComponent(a.url)}&job=${encodeURIComponent(VICTIM)}`);
      await page.getByRole('heading', { name: 'Win a prize' }).waitFor();
    });

    await t.test('(a) the auto-submitted text/plain form carrying JSON is answered, and refused', async () => {
      assert.equal(await page.evaluate<string>('autoCreate'), 'loaded');
    });

    await t.test('(b) fetch with Content-Type text/plain (no preflight) is refused and unreadable', async () => {
      const out = await fetchFromPage(page, '/v1/jobs', {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain' },
        body: JSON.stringify({ ...EVIL, name: 'evil-text' }),
      });
      assert.ok('rejected' in out, `the page read the answer: ${JSON.stringify(out)}`);
    });

    await t.test('(c) fetch with application/json (CORS preflight) is refused', async () => {
      const out = await fetchFromPage(page, '/v1/jobs', {
        method: 'POST',
        mode: 'cors',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ...EVIL, name: 'evil-json' }),
      });
      assert.ok('rejected' in out, `the page read the answer: ${JSON.stringify(out)}`);
    });

    await t.test('(d) a bodiless form POST to run-now is answered, and refused', async () => {
      assert.equal(await page.evaluate<string>("submitInto('run')"), 'loaded');
    });

    await t.test('(e) a form POST to toggle is answered, and refused', async () => {
      assert.equal(await page.evaluate<string>("submitInto('toggle')"), 'loaded');
    });

    await t.test('nothing changed: no new job, no execution, not toggled', async () => {
      const jobs = await api<Job[]>(a.url, 'GET', '/v1/jobs');
      assert.equal(jobs.status, 200);
      assert.deepEqual(
        jobs.body.map((j) => j.name),
        [VICTIM],
      );
      for (const name of ['evil', 'evil-text', 'evil-json']) assert.equal((await api(a.url, 'GET', `/v1/jobs/${name}`)).status, 404, name);
      const victim = await api<Job>(a.url, 'GET', `/v1/jobs/${VICTIM}`);
      assert.equal(victim.body.disabled, false);
      assert.equal(victim.body.success_count + victim.body.error_count, 0);
      const execs = await api<Execution[]>(a.url, 'GET', `/v1/jobs/${VICTIM}/executions`);
      assert.equal(execs.status, 200);
      assert.deepEqual(execs.body, []);
      const audit = await api<AuditEntry[]>(a.url, 'GET', '/v1/audit?_start=0&_end=100');
      assert.equal(audit.status, 200);
      assert.deepEqual(
        audit.body.map((e) => e.action),
        ['job.create'],
        'only the test’s own create is in the audit log',
      );
    });

    await t.test('from Node: an Origin or Sec-Fetch-Site of another site is refused with KAIROS_CROSS_ORIGIN', async () => {
      const json = { 'content-type': 'application/json' };
      const evil = { origin: 'http://evil.example' };
      assertCrossOriginRefusal(
        await raw(`${a.url}/v1/jobs`, { method: 'POST', headers: { ...json, ...evil }, body: JSON.stringify({ ...EVIL, name: 'evil-node' }) }),
        'create with Origin',
      );
      assertCrossOriginRefusal(await raw(`${a.url}/v1/jobs/${VICTIM}`, { method: 'POST', headers: evil }), 'run-now with Origin');
      assertCrossOriginRefusal(await raw(`${a.url}/v1/jobs/${VICTIM}/toggle`, { method: 'POST', headers: evil }), 'toggle with Origin');
      assertCrossOriginRefusal(await raw(`${a.url}/v1/jobs/${VICTIM}`, { method: 'DELETE', headers: evil }), 'delete with Origin');
      assertCrossOriginRefusal(await raw(`${a.url}/v1/jobs/${VICTIM}`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } }), 'Sec-Fetch-Site: cross-site');
      assertCrossOriginRefusal(await raw(`${a.url}/v1/jobs/${VICTIM}`, { method: 'POST', headers: { 'sec-fetch-site': 'same-site' } }), 'Sec-Fetch-Site: same-site');
      assertCrossOriginRefusal(await raw(`${a.url}/v1/jobs/${VICTIM}`, { method: 'POST', headers: { origin: pageOrigin } }), 'the attack page’s origin');
      // Reading is not state-changing, but still no CORS headers let a page read the answer.
      const read = await raw(`${a.url}/v1/jobs`, { headers: evil });
      assert.equal(read.headers.get('access-control-allow-origin'), null);
      const preflight = await raw(`${a.url}/v1/jobs`, {
        method: 'OPTIONS',
        headers: { ...evil, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
      assert.equal((await api(a.url, 'GET', '/v1/jobs/evil-node')).status, 404);
    });

    await t.test('from Node without Origin (curl, scripts): create 201, run 202, as before', async () => {
      assert.equal((await api(a.url, 'POST', '/v1/jobs', shellJob('curl-job', 'echo from-curl'))).status, 201);
      assert.equal((await api(a.url, 'POST', `/v1/jobs/${VICTIM}`)).status, 202);
      // The agent's own origin is not cross-origin (the UI's requests carry it).
      assert.equal((await api(a.url, 'POST', `/v1/jobs/curl-job`, undefined, { origin: a.url })).status, 202);
      const execs = await eventually('the run requested without Origin to finish', async () => {
        const r = await api<Execution[]>(a.url, 'GET', `/v1/jobs/${VICTIM}/executions`);
        return r.body.length > 0 && r.body.every((e) => !e.finished_at.startsWith('0001')) ? r.body : null;
      });
      // Exactly one: the refused form POST (d) left none behind.
      assert.equal(execs.length, 1);
      const runs = await api<AuditEntry[]>(a.url, 'GET', `/v1/audit?job=${VICTIM}&_start=0&_end=100`);
      assert.deepEqual(
        runs.body.filter((e) => e.action === 'job.run').map((e) => e.actor),
        ['anonymous'],
      );
      assert.equal((await api<Job>(a.url, 'GET', `/v1/jobs/${VICTIM}`)).body.disabled, false);
    });
  });

  test('--cors-origin lets exactly that origin create and run jobs', async (t) => {
    corsAgent = await startAgent({ args: ['--cors-origin', pageOrigin] });
    const c = corsAgent;
    assert.equal((await api(c.url, 'POST', '/v1/jobs', shellJob(VICTIM, 'echo victim'))).status, 201);

    await t.test('the listed origin creates (201) and runs (202) with fetch + application/json', async () => {
      // The listed origin is trusted: no form trick here (it would work, as it would for any allowed caller).
      await page.goto(`${pageOrigin}/?auto=0&agent=${encodeURIComponent(c.url)}&job=${encodeURIComponent(VICTIM)}`);
      const created = await fetchFromPage(page, '/v1/jobs', {
        method: 'POST',
        mode: 'cors',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'partner-job', schedule: '@manually', executor: 'shell', executor_config: { command: 'echo partner', shell: 'true' } }),
      });
      assert.ok('status' in created, JSON.stringify(created));
      assert.equal(created.status, 201, created.body);
      assert.equal((JSON.parse(created.body) as Job).name, 'partner-job');
      const ran = await fetchFromPage(page, '/v1/jobs/partner-job', { method: 'POST', mode: 'cors', headers: { 'Content-Type': 'application/json' } });
      assert.ok('status' in ran, JSON.stringify(ran));
      assert.equal(ran.status, 202, ran.body);
      await eventually('the run from the listed origin to finish', async () => {
        const r = await api<Execution[]>(c.url, 'GET', '/v1/jobs/partner-job/executions');
        return r.body.length === 1 && r.body[0]!.success;
      });
    });

    await t.test('the listed origin gets its CORS headers; others get none and are refused', async () => {
      const allowed = await raw(`${c.url}/v1/jobs`, {
        method: 'OPTIONS',
        headers: { origin: pageOrigin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
      });
      assert.equal(allowed.headers.get('access-control-allow-origin'), pageOrigin);
      assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /authorization/i);
      assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /content-type/i);
      assert.match(allowed.headers.get('vary') ?? '', /origin/i);
      for (const origin of ['http://evil.example', otherOrigin]) {
        const preflight = await raw(`${c.url}/v1/jobs`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
        });
        assert.equal(preflight.headers.get('access-control-allow-origin'), null, origin);
        assertCrossOriginRefusal(await raw(`${c.url}/v1/jobs/${VICTIM}`, { method: 'POST', headers: { origin } }), `run-now from ${origin}`);
      }
    });

    await t.test('a page on another origin still cannot create, even with the form trick', async () => {
      await page.goto(`${otherOrigin}/?agent=${encodeURIComponent(c.url)}&job=${encodeURIComponent(VICTIM)}`);
      assert.equal(await page.evaluate<string>('autoCreate'), 'loaded');
      const out = await fetchFromPage(page, '/v1/jobs', {
        method: 'POST',
        mode: 'cors',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ...EVIL, name: 'evil-json' }),
      });
      assert.ok('rejected' in out, JSON.stringify(out));
      assert.equal(await page.evaluate<string>("submitInto('run')"), 'loaded');
      const jobs = await api<Job[]>(c.url, 'GET', '/v1/jobs');
      assert.deepEqual(jobs.body.map((j) => j.name).sort(), ['partner-job', VICTIM]);
      assert.deepEqual((await api<Execution[]>(c.url, 'GET', `/v1/jobs/${VICTIM}/executions`)).body, []);
    });

    assert.deepEqual(pageErrors, []);
  });
});
