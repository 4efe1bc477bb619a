/**
 * Two points of dkron's wire format its own UI depends on (docs/compatibility.md):
 * an unfinished execution's `finished_at` is the zero time "0001-01-01T00:00:00Z" in every answer
 * (dkron's UI shows "running" only for it), and GET /v1/jobs/NAME/executions returns every kept
 * execution even when asked for `_end=25` (dkron's UI has no paginator); Kairos clients page with
 * `offset`/`limit`. Raw fetch here: the test helpers read the zero time as null.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, eventually, removeDir, shellJob, startAgent, tempDir, type AgentHandle } from '../helpers/agent.js';
import { kairosOk } from '../helpers/cli.js';

let dir: string;
let agent: AgentHandle;

before(async () => {
  dir = tempDir();
  agent = await startAgent({ dataDir: dir });
});

after(async () => {
  await agent?.stop('SIGTERM').catch(() => undefined);
  removeDir(dir);
});

async function raw<T>(path: string): Promise<{ body: T; total: string | null }> {
  const res = await fetch(`${agent.url}${path}`);
  assert.equal(res.status, 200, path);
  return { body: (await res.json()) as T, total: res.headers.get('x-total-count') };
}

type Wire = { id: string; finished_at: string; success: boolean };

test('a running execution has finished_at "0001-01-01T00:00:00Z" in the list, by id, and in /v1/busy', async () => {
  assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob('slow', 'sleep 3'))).status, 201);
  assert.equal((await api(agent.url, 'POST', '/v1/jobs/slow')).status, 202);
  const [running] = await eventually('the execution is recorded', async () => {
    const list = (await raw<Wire[]>('/v1/jobs/slow/executions')).body;
    return list.length > 0 ? list : undefined;
  });
  assert.ok(running);
  assert.equal(running.finished_at, '0001-01-01T00:00:00Z');
  assert.equal((await raw<Wire>(`/v1/jobs/slow/executions/${running.id}`)).body.finished_at, '0001-01-01T00:00:00Z');
  const busy = (await raw<Wire[]>('/v1/busy')).body;
  assert.equal(busy.find((e) => e.id === running.id)?.finished_at, '0001-01-01T00:00:00Z');
  // The kairos client reads it as "still running".
  const cli = JSON.parse((await kairosOk(['jobs', 'executions', 'slow', '--address', agent.url, '-o', 'json'])).stdout) as Array<{ finished_at: string | null }>;
  assert.equal(cli[0]?.finished_at, null);
  const done = await eventually('it finishes', async () => {
    const e = (await raw<Wire>(`/v1/jobs/slow/executions/${running.id}`)).body;
    return e.finished_at.startsWith('0001') ? undefined : e;
  });
  assert.ok(Date.parse(done.finished_at) > Date.parse('2020-01-01'));
  assert.equal(done.success, true);
});

test('the execution list returns every kept execution whatever _start/_end say; offset/limit page it', async () => {
  assert.equal((await api(agent.url, 'POST', '/v1/jobs', shellJob('many', 'true'))).status, 201);
  for (let i = 0; i < 30; i++) assert.equal((await api(agent.url, 'POST', '/v1/jobs/many?force=true')).status, 202);
  await eventually('30 finished executions', async () => {
    const list = (await raw<Wire[]>('/v1/jobs/many/executions')).body;
    return list.length === 30 && list.every((e) => !e.finished_at.startsWith('0001')) ? list : undefined;
  });
  const dkronUi = await raw<Wire[]>('/v1/jobs/many/executions?_start=0&_end=25&_sort=id&_order=DESC');
  assert.equal(dkronUi.body.length, 30, "dkron's UI asks for _end=25 and gets all of them");
  assert.equal(dkronUi.total, '30');
  const page = await raw<Wire[]>('/v1/jobs/many/executions?offset=5&limit=10');
  assert.equal(page.body.length, 10);
  assert.equal(page.total, '30');
  assert.deepEqual(page.body.map((e) => e.id), dkronUi.body.slice(5, 15).map((e) => e.id));
});
