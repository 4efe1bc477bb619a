/**
 * REST API conformance: dkron's /v1 surface as Kairos serves it
 * (../shared/docs/dkron-reference.md §3-§4, compatibility.md), against one
 * real agent for the whole file. Every test uses its own job names.
 *
 * Every call goes through `call`, which also checks two global rules: no
 * response is a 500, and every /v1 response carries `X-Whom: test-node`.
 */
import { ERROR_CATALOGUE } from '../../src/errors/catalogue.js';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, eventually, startAgent, stopAndRemove, tempDir, type AgentHandle, type ApiResponse, finishedRun } from '../helpers/agent.js';
import type { Execution, Job } from '../../src/job/types.js';
import type { Member } from '../../src/cluster/types.js';

/** /v1/members lists each member with an `id` of its own. */
type ListedMember = Member & { id: string };

interface ErrorBody {
  error: string;
  field: string;
}

const NODE = 'test-node';
let agent: AgentHandle;
let work: string;

before(async () => {
  work = tempDir('kairos-api-');
  agent = await startAgent({ dataDir: join(work, 'data') });
  await agent.waitForLog(/Cluster leadership acquired/);
});

after(() => stopAndRemove(agent, work));

function checkGlobalRules(path: string, res: { status: number; headers: Headers }): void {
  assert.notEqual(res.status, 500, `${path} answered 500`);
  if (path.startsWith('/v1')) assert.equal(res.headers.get('x-whom'), NODE, `X-Whom on ${path}`);
}

async function call<T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>> {
  const res = await api<T>(agent.url, method, path, body, headers);
  checkGlobalRules(path, res);
  return res;
}

/** A valid job that only runs when asked. */
function jobBody(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, schedule: '@manually', executor: 'shell', executor_config: { command: `echo ran-${name}` }, ...extra };
}

async function create(name: string, extra: Record<string, unknown> = {}): Promise<Job> {
  const res = await call<Job>('POST', '/v1/jobs', jobBody(name, extra));
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

function jobPath(name: string): string {
  return `/v1/jobs/${encodeURIComponent(name)}`;
}

async function getJob(name: string): Promise<ApiResponse<Job>> {
  return call<Job>('GET', jobPath(name));
}

async function executions(name: string, query = ''): Promise<ApiResponse<Execution[]>> {
  return call<Execution[]>('GET', `${jobPath(name)}/executions${query}`);
}

/** Waits until `count` executions of the job have finished; returns them newest first. */
async function finished(name: string, count: number): Promise<Execution[]> {
  return eventually(`${count} finished execution(s) of ${name}`, async () => {
    const res = await executions(name);
    const done = res.body.filter((e) => finishedRun(e));
    return done.length >= count && done.length === res.body.length ? res.body : undefined;
  });
}

async function runNow(name: string, query = ''): Promise<ApiResponse<Job>> {
  const res = await call<Job>('POST', `${jobPath(name)}/run${query}`);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res;
}

function assertError(res: ApiResponse, status: number, field: string, message: RegExp, what = ''): void {
  const ctx = `${what ? `${what}: ` : ''}${res.status} ${JSON.stringify(res.body)}`;
  assert.equal(res.status, status, `expected ${status}; ${ctx}`);
  const body = res.body as ErrorBody;
  assert.equal(typeof body, 'object', `error body is JSON; ${ctx}`);
  assert.equal(body.field, field, `field; ${ctx}`);
  assert.match(body.error, message, ctx);
  // Every error comes from the catalogue with the status it documents; `message` repeats `error`.
  const code = (body as { code?: string }).code ?? '';
  assert.ok(Object.hasOwn(ERROR_CATALOGUE, code), `catalogue code; ${ctx}`);
  assert.equal(ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE].status, status, `code ${code} status; ${ctx}`);
  assert.equal((body as { message?: string }).message, body.error, `message; ${ctx}`);
}

function names(jobs: Job[]): string[] {
  return jobs.map((j) => j.name);
}

// --- validation ---------------------------------------------------------------

void test('bad job input is a 400 naming the field, and changes nothing', async () => {
  const existing = await create('v-existing', { displayname: 'keep me', metadata: { k: 'v' } });
  const stored = (await getJob('v-existing')).body;

  const cases: { what: string; body: unknown; status: number; field: string; error: RegExp; name: string }[] = [
    { what: 'malformed JSON', body: '{"name":', status: 400, field: '', error: /^Unable to parse payload/, name: 'v-existing' },
    { what: 'body not an object (string)', body: '"v-existing"', status: 400, field: '', error: /JSON object/, name: 'v-existing' },
    { what: 'body not an object (array)', body: [jobBody('v-arr')], status: 400, field: '', error: /JSON object/, name: 'v-arr' },
    { what: 'empty body', body: '', status: 400, field: '', error: /JSON object/, name: 'v-existing' },
    { what: 'missing name', body: { ...jobBody('x'), name: undefined }, status: 400, field: 'name', error: /name is required/, name: 'x' },
    { what: 'empty name', body: jobBody(''), status: 400, field: 'name', error: /^name cannot be empty$/, name: 'x' },
    { what: 'bad name chars', body: jobBody('BAD JOB NAME!'), status: 400, field: 'name', error: /illegal character ' '/, name: 'BAD JOB NAME!' },
    { what: 'bad name char !', body: jobBody('bad!'), status: 400, field: 'name', error: /illegal character '!'/, name: 'bad!' },
    { what: 'name > 200 chars', body: jobBody('n'.repeat(201)), status: 400, field: 'name', error: /200/, name: 'n'.repeat(201) },
    { what: 'missing schedule, no parent', body: { ...jobBody('v-existing'), schedule: undefined }, status: 400, field: 'schedule', error: /^can't parse job schedule/, name: 'v-existing' },
    { what: 'schedule with 3 fields', body: jobBody('v-existing', { schedule: '* * *' }), status: 400, field: 'schedule', error: /^can't parse job schedule/, name: 'v-existing' },
    { what: '@every nope', body: jobBody('v-existing', { schedule: '@every nope' }), status: 400, field: 'schedule', error: /^can't parse job schedule.*nope/, name: 'v-existing' },
    { what: '@at badtime', body: jobBody('v-existing', { schedule: '@at badtime' }), status: 400, field: 'schedule', error: /^can't parse job schedule.*badtime/, name: 'v-existing' },
    { what: 'unknown time zone', body: jobBody('v-existing', { timezone: 'notatimezone' }), status: 400, field: 'timezone', error: /notatimezone/, name: 'v-existing' },
    { what: 'bad concurrency', body: jobBody('v-existing', { concurrency: 'sometimes' }), status: 400, field: 'concurrency', error: /use "allow" or "forbid"/, name: 'v-existing' },
    {
      what: 'bad shell timeout',
      body: jobBody('v-existing', { executor_config: { command: 'true', timeout: 'foreverandever' } }),
      status: 400,
      field: 'executor_config.timeout',
      error: /Error parsing job timeout value/,
      name: 'v-existing',
    },
    { what: 'negative retries', body: jobBody('v-existing', { retries: -1 }), status: 400, field: 'retries', error: /negative/, name: 'v-existing' },
    { what: 'non-integer retries', body: jobBody('v-existing', { retries: 1.5 }), status: 400, field: 'retries', error: /whole number/, name: 'v-existing' },
    { what: 'unknown executor', body: jobBody('v-existing', { executor: 'teleport' }), status: 400, field: 'executor', error: /unknown executor "teleport"/, name: 'v-existing' },
    {
      what: 'no executor and no legacy command',
      body: { name: 'v-existing', schedule: '@manually' },
      status: 400,
      field: 'executor',
      error: /executor is required/,
      name: 'v-existing',
    },
    { what: 'tags as a string', body: jobBody('v-existing', { tags: 'role=web' }), status: 400, field: 'tags', error: /^tags: /, name: 'v-existing' },
    { what: 'disabled as a string', body: jobBody('v-existing', { disabled: 'yes' }), status: 400, field: 'disabled', error: /boolean/, name: 'v-existing' },
    { what: 'starts_at garbage', body: jobBody('v-existing', { starts_at: 'garbage' }), status: 400, field: 'starts_at', error: /"garbage"/, name: 'v-existing' },
    { what: 'self parent', body: jobBody('v-existing', { parent_job: 'v-existing' }), status: 400, field: 'parent_job', error: /itself as parent/, name: 'v-existing' },
    { what: 'unknown parent', body: jobBody('v-existing', { parent_job: 'v-no-such-parent' }), status: 404, field: 'parent_job', error: /^specified parent job not found$/, name: 'v-existing' },
    { what: 'unknown parent (new job)', body: jobBody('v-orphan', { parent_job: 'v-no-such-parent' }), status: 404, field: 'parent_job', error: /^specified parent job not found$/, name: 'v-orphan' },
  ];
  for (const c of cases) {
    const res = await call('POST', '/v1/jobs', c.body);
    assertError(res, c.status, c.field, c.error, c.what);
    const now = await getJob(c.name);
    if (c.name === 'v-existing') assert.deepEqual(now.body, stored, `${c.what}: the stored job is unchanged`);
    else assert.equal(now.status, 404, `${c.what}: no job "${c.name}" was created`);
  }
  assert.equal(existing.displayname, 'keep me');

  // PUT and PATCH go through the same checks.
  assertError(await call('PUT', '/v1/jobs/v-existing', jobBody('v-existing', { schedule: '@every nope' })), 400, 'schedule', /can't parse/);
  assertError(await call('PATCH', '/v1/jobs', jobBody('v-existing', { concurrency: 'x' })), 400, 'concurrency', /forbid/);
  assert.deepEqual((await getJob('v-existing')).body, stored);
});

void test('dkron clients: JSON null in an optional field means absent', async () => {
  const res = await call<Job>('POST', '/v1/jobs', {
    name: 'nulls',
    schedule: '@manually',
    executor: 'shell',
    executor_config: { command: 'true' },
    displayname: null,
    timezone: null,
    owner: null,
    owner_email: null,
    parent_job: null,
    concurrency: null,
    retries: null,
    disabled: null,
    ephemeral: null,
    tags: null,
    metadata: null,
    processors: null,
    starts_at: null,
    expires_at: null,
    catch_up: null,
    starting_deadline: null,
    history_limit: null,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const j = res.body;
  assert.deepEqual([j.displayname, j.timezone, j.owner, j.parent_job, j.concurrency, j.retries, j.disabled, j.ephemeral], ['', '', '', '', 'allow', 0, false, false]);
  assert.equal((await call('DELETE', '/v1/jobs/nulls')).status, 200);
});

void test('a non-shell command with shell operators is refused at save, naming executor_config.command', async () => {
  for (const command of ['echo a | tr a b', 'date > /tmp/out', 'true && false', 'a; b']) {
    const res = await call('POST', '/v1/jobs', { name: 'ops', schedule: '@manually', executor: 'shell', executor_config: { command } });
    assertError(res, 400, 'executor_config.command', /needs a shell: quote it or set shell to "true"/, command);
  }
  assert.equal((await call('GET', '/v1/jobs/ops')).status, 404, 'nothing was saved');
  const ok = await call('POST', '/v1/jobs', { name: 'ops', schedule: '@manually', executor: 'shell', executor_config: { command: 'echo a | tr a b', shell: 'true' } });
  assert.equal(ok.status, 201);
  assert.equal((await call('DELETE', '/v1/jobs/ops')).status, 200);
});

void test('a body over 1 MiB is a 413', async () => {
  const body = JSON.stringify(jobBody('v-big', { displayname: 'x'.repeat(1024 * 1024 + 10) }));
  const res = await call('POST', '/v1/jobs', body);
  assertError(res, 413, '', /1 MiB/);
  assert.equal((await getJob('v-big')).status, 404);
});

void test('a cyclic parent chain A -> B -> A is refused', async () => {
  await create('cyc-a');
  await create('cyc-b', { parent_job: 'cyc-a', schedule: '' });
  const a = (await getJob('cyc-a')).body;
  assert.deepEqual(a.dependent_jobs, ['cyc-b']);
  assertError(await call('POST', '/v1/jobs', jobBody('cyc-a', { parent_job: 'cyc-b' })), 400, 'parent_job', /cycle/);
  assert.deepEqual((await getJob('cyc-a')).body, a, 'cyc-a is unchanged');
  assert.equal((await getJob('cyc-b')).body.dependent_jobs, null, 'cyc-b did not gain a child');
});

void test('upper-case, dotted and unicode lower-case names are accepted', async () => {
  for (const name of ['Upper.Case-Job_1', 'ßñëäïüøáéíóýćàèìòùâêîôûæšłç']) {
    const res = await call<Job>('POST', '/v1/jobs', jobBody(name));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.name, name);
    assert.equal(res.body.id, name);
    assert.equal(res.headers.get('location'), jobPath(name));
    const got = await getJob(name);
    assert.equal(got.status, 200);
    assert.equal(got.body.name, name);
  }
  // Exactly 200 characters is still fine, and such a job is reachable by URL like any other.
  for (const name of ['m'.repeat(200), 'ß'.repeat(199) + '𝑎']) {
    assert.equal((await call('POST', '/v1/jobs', jobBody(name))).status, 201);
    assert.equal((await getJob(name)).body.name, name);
    assert.equal((await call<Job>('POST', `${jobPath(name)}/toggle`)).body.disabled, true);
    assert.equal((await call('DELETE', jobPath(name))).status, 200);
    assert.equal((await getJob(name)).status, 404);
  }
});

// --- upsert --------------------------------------------------------------------

void test('POST twice upserts: writable fields replaced, counters and status kept', async () => {
  await create('up-a', { displayname: 'first', metadata: { a: '1' }, retries: 2 });
  await runNow('up-a');
  await eventually('up-a to count its success', async () => {
    const j = (await getJob('up-a')).body;
    return j.success_count === 1 && j.status === 'success' ? j : undefined;
  });

  const second = await call<Job>('POST', '/v1/jobs', {
    ...jobBody('up-a', { displayname: 'second', disabled: true, executor_config: { command: 'echo second' } }),
    // Server-owned fields sent by the client are ignored.
    success_count: 99,
    error_count: 7,
    status: 'failed',
  });
  assert.equal(second.status, 201);
  assert.equal(second.headers.get('location'), '/v1/jobs/up-a');
  for (const j of [second.body, (await getJob('up-a')).body]) {
    assert.equal(j.displayname, 'second');
    assert.equal(j.disabled, true);
    assert.deepEqual(j.executor_config, { command: 'echo second' });
    assert.equal(j.metadata, null, 'a full replace, not a merge: metadata dropped');
    assert.equal(j.retries, 0, 'retries back to its default');
    assert.equal(j.success_count, 1);
    assert.equal(j.error_count, 0);
    assert.equal(j.status, 'success');
    assert.notEqual(j.last_success, null);
  }
});

void test('PUT /v1/jobs/:name takes the name from the path; a mismatch is a 400', async () => {
  const { name: _omit, ...noName } = jobBody('unused');
  const put = await call<Job>('PUT', '/v1/jobs/put-a', noName);
  assert.equal(put.status, 201, JSON.stringify(put.body));
  assert.equal(put.body.name, 'put-a');
  assert.equal(put.headers.get('location'), '/v1/jobs/put-a');
  assert.equal((await getJob('put-a')).status, 200);

  const replaced = await call<Job>('PUT', '/v1/jobs/put-a', jobBody('put-a', { displayname: 'replaced' }));
  assert.equal(replaced.status, 201);
  assert.equal((await getJob('put-a')).body.displayname, 'replaced');

  assertError(await call('PUT', '/v1/jobs/put-a', jobBody('put-b')), 400, 'name', /does not match/);
  assert.equal((await getJob('put-b')).status, 404);
  assert.equal((await getJob('put-a')).body.displayname, 'replaced');
});

void test('PATCH /v1/jobs behaves like POST (create, then full replace)', async () => {
  const created = await call<Job>('PATCH', '/v1/jobs', jobBody('patch-a', { displayname: 'one', metadata: { x: 'y' } }));
  assert.equal(created.status, 201);
  assert.equal(created.headers.get('location'), '/v1/jobs/patch-a');
  const replaced = await call<Job>('PATCH', '/v1/jobs', jobBody('patch-a', { displayname: 'two' }));
  assert.equal(replaced.status, 201);
  const got = (await getJob('patch-a')).body;
  assert.equal(got.displayname, 'two');
  assert.equal(got.metadata, null);
});

void test('?runoncreate runs the job right after saving it', async () => {
  const res = await call<Job>('POST', '/v1/jobs?runoncreate', jobBody('roc-a'));
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('location'), '/v1/jobs/roc-a');
  const [run] = await finished('roc-a', 1);
  assert.equal(run?.success, true);
  assert.equal(run?.output, 'ran-roc-a\n');
  // Without the flag nothing runs: a job created the same way stays without history.
  await create('roc-b');
  await runNow('roc-a');
  await finished('roc-a', 2);
  assert.deepEqual((await executions('roc-b')).body, []);
});

void test('legacy command/shell/environment_variables map onto the shell executor', async () => {
  const res = await call<Job>('POST', '/v1/jobs', {
    name: 'legacy-a',
    schedule: '@manually',
    command: 'echo "$KAIROS_TEST_LEGACY"',
    shell: true,
    environment_variables: ['KAIROS_TEST_LEGACY=from-env'],
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.executor, 'shell');
  assert.deepEqual(res.body.executor_config, { command: 'echo "$KAIROS_TEST_LEGACY"', shell: 'true', env: 'KAIROS_TEST_LEGACY=from-env' });
  await runNow('legacy-a');
  const [run] = await finished('legacy-a', 1);
  assert.equal(run?.success, true, run?.output);
  assert.equal(run?.output, 'from-env\n');
});

// --- list ----------------------------------------------------------------------

void test('GET /v1/jobs filters, sorts and pages with X-Total-Count', async () => {
  await create('lst-a', { displayname: 'Lst Apple', metadata: { lstteam: 'ops', lstenv: 'prod' } });
  await create('lst-b', { displayname: 'Lst Banana', metadata: { lstteam: 'ops', lstenv: 'dev' }, disabled: true });
  await create('lst-c', { displayname: 'Lst Cherry', metadata: { lstteam: 'dev', lstenv: 'prod' } });
  await create('lst-d', { displayname: 'Lst Date' });
  await runNow('lst-c');
  await finished('lst-c', 1);
  await runNow('lst-c');
  await runNow('lst-d');
  await finished('lst-c', 2);
  await finished('lst-d', 1);
  await eventually('lst-c and lst-d counters', async () => {
    const c = (await getJob('lst-c')).body;
    const d = (await getJob('lst-d')).body;
    return c.success_count === 2 && d.success_count === 1 && c.status === 'success' && d.status === 'success';
  });

  const list = async (query: string, expected: string[], total = expected.length): Promise<void> => {
    const res = await call<Job[]>('GET', `/v1/jobs?${query}`);
    assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
    assert.deepEqual(names(res.body), expected, query);
    assert.equal(res.headers.get('x-total-count'), String(total), `X-Total-Count for ${query}`);
  };
  await list('q=lst-', ['lst-a', 'lst-b', 'lst-c', 'lst-d']);
  await list('q=Cherry', ['lst-c']);
  await list('q=cherry', []);
  await list('q=lst-&status=untriggered', ['lst-a', 'lst-b']);
  await list('q=lst-&status=success', ['lst-c', 'lst-d']);
  await list('q=lst-&status=failed', []);
  await list('q=lst-&disabled=true', ['lst-b']);
  await list('q=lst-&disabled=false', ['lst-a', 'lst-c', 'lst-d']);
  await list('metadata[lstteam]=ops', ['lst-a', 'lst-b']);
  await list('metadata[lstteam]=ops&metadata[lstenv]=prod', ['lst-a']);
  await list('metadata[lstteam]=dev&metadata[lstenv]=dev', []);
  await list('q=lst-&_sort=name&_order=DESC', ['lst-d', 'lst-c', 'lst-b', 'lst-a']);
  await list('q=lst-&_sort=id&_order=DESC', ['lst-d', 'lst-c', 'lst-b', 'lst-a']);
  await list('q=lst-&_sort=success_count&_order=DESC', ['lst-c', 'lst-d', 'lst-a', 'lst-b']);
  await list('q=lst-&_sort=success_count&_order=ASC', ['lst-a', 'lst-b', 'lst-d', 'lst-c']);
  await list('q=lst-&_sort=displayname&_order=DESC', ['lst-d', 'lst-c', 'lst-b', 'lst-a']);
  await list('q=lst-&_start=1&_end=3', ['lst-b', 'lst-c'], 4);
  await list('q=lst-&_start=3', ['lst-d'], 4);
  await list('q=lst-&_end=1&_sort=name&_order=DESC', ['lst-d'], 4);
  await list('q=lst-&_start=10&_end=20', [], 4);

  assertError(await call('GET', '/v1/jobs?_sort=bogus'), 400, '_sort', /bogus/);
  assertError(await call('GET', '/v1/jobs?_start=abc'), 400, '_start', /abc/);
  assertError(await call('GET', '/v1/jobs?_start=-1'), 400, '_start', /-1/);
  assertError(await call('GET', '/v1/jobs?_end=1.5'), 400, '_end', /1\.5/);
});

// --- get / delete / dependents ------------------------------------------------------

void test('GET and DELETE of an unknown job are 404', async () => {
  assertError(await call('GET', '/v1/jobs/no-such-job'), 404, '', /no-such-job/);
  assertError(await call('DELETE', '/v1/jobs/no-such-job'), 404, '', /no-such-job/);
  assertError(await call('GET', '/v1/jobs/no-such-job/executions'), 404, '', /no-such-job/);
});

void test('parent/child bookkeeping and delete-with-children refusal', async () => {
  await create('dep-parent');
  await create('dep-parent2');
  const child = await create('dep-child', { parent_job: 'dep-parent', schedule: '' });
  assert.equal(child.parent_job, 'dep-parent');
  assert.deepEqual((await getJob('dep-parent')).body.dependent_jobs, ['dep-child']);

  // Re-saving the parent keeps its children (dkron issue #279).
  await create('dep-parent', { displayname: 'resaved' });
  assert.deepEqual((await getJob('dep-parent')).body.dependent_jobs, ['dep-child']);

  const refused = await call('DELETE', '/v1/jobs/dep-parent');
  assertError(refused, 409, 'dependent_jobs', /dep-child/);
  assert.equal((await getJob('dep-parent')).status, 200, 'the parent is still there');

  // Moving the child updates both parents.
  await create('dep-child', { parent_job: 'dep-parent2', schedule: '' });
  assert.equal((await getJob('dep-parent')).body.dependent_jobs, null);
  assert.deepEqual((await getJob('dep-parent2')).body.dependent_jobs, ['dep-child']);
  const del = await call<Job>('DELETE', '/v1/jobs/dep-parent');
  assert.equal(del.status, 200);
  assert.equal(del.body.name, 'dep-parent');
  assert.equal(del.body.displayname, 'resaved');

  // Becoming independent unlinks too; becoming a child again links.
  await create('dep-child');
  assert.equal((await getJob('dep-parent2')).body.dependent_jobs, null);
  await create('dep-child', { parent_job: 'dep-parent2', schedule: '' });
  assert.deepEqual((await getJob('dep-parent2')).body.dependent_jobs, ['dep-child']);

  await runNow('dep-child');
  await finished('dep-child', 1);
  const delChild = await call<Job>('DELETE', '/v1/jobs/dep-child');
  assert.equal(delChild.status, 200);
  assert.equal(delChild.body.name, 'dep-child');
  assert.equal(delChild.body.parent_job, 'dep-parent2');
  assert.equal((await getJob('dep-child')).status, 404);
  assert.equal((await executions('dep-child')).status, 404, 'its executions went with it');
  assert.equal((await getJob('dep-parent2')).body.dependent_jobs, null, 'the child left the parent list');

  assert.equal((await call('DELETE', '/v1/jobs/dep-parent2')).status, 200);
  assert.equal((await call('DELETE', '/v1/jobs/dep-parent2')).status, 404, 'deleting twice is a 404');
});

// --- toggle / run ------------------------------------------------------------------

void test('toggle flips disabled; a disabled job can still be run manually', async () => {
  await create('tog-a');
  const off = await call<Job>('POST', '/v1/jobs/tog-a/toggle');
  assert.equal(off.status, 200);
  assert.equal(off.body.disabled, true);
  assert.equal((await getJob('tog-a')).body.disabled, true);

  const run = await runNow('tog-a');
  assert.equal(run.body.name, 'tog-a');
  const [e] = await finished('tog-a', 1);
  assert.equal(e?.success, true);
  assert.equal(e?.output, 'ran-tog-a\n');

  const on = await call<Job>('POST', '/v1/jobs/tog-a/toggle');
  assert.equal(on.status, 200);
  assert.equal(on.body.disabled, false);
  assert.equal((await getJob('tog-a')).body.disabled, false);

  assertError(await call('POST', '/v1/jobs/no-such-job/toggle'), 404, '', /no-such-job/);
});

void test('run-now: both routes answer 202 with the job and produce executions', async () => {
  await create('run-a');
  const viaName = await call<Job>('POST', '/v1/jobs/run-a');
  assert.equal(viaName.status, 202);
  assert.equal(viaName.body.name, 'run-a');
  await finished('run-a', 1);
  const viaRun = await runNow('run-a');
  assert.equal(viaRun.body.name, 'run-a');
  const runs = await finished('run-a', 2);
  assert.equal(runs.length, 2);
  for (const e of runs) {
    assert.equal(e.output, 'ran-run-a\n');
    assert.equal(e.success, true);
  }
  assert.notEqual(runs[0]?.group, runs[1]?.group, 'each run is its own group');

  assertError(await call('POST', '/v1/jobs/no-such-job'), 404, '', /no-such-job/);
  assertError(await call('POST', '/v1/jobs/no-such-job/run'), 404, '', /no-such-job/);
});

void test('forbid: a second run is a 409 while one runs, ?force=true runs anyway; /v1/busy shows them', async () => {
  const gate = join(work, 'forbid-gate');
  await create('run-forbid', {
    concurrency: 'forbid',
    executor_config: { shell: 'true', command: `echo started; while [ ! -e '${gate}' ]; do sleep 0.05; done; echo released` },
  });
  await runNow('run-forbid');
  const busy = await eventually('the gated run in /v1/busy with its first output', async () => {
    const res = await call<Execution[]>('GET', '/v1/busy');
    const mine = res.body.filter((e) => e.job_name === 'run-forbid');
    return mine.length === 1 && mine[0]?.output.includes('started') ? res : undefined;
  });
  assert.equal(busy.status, 200);
  assert.equal(busy.headers.get('x-total-count'), String(busy.body.length));
  const running = busy.body.find((e) => e.job_name === 'run-forbid');
  assert.equal(running?.node_name, NODE);
  assert.equal(running?.finished_at, null);

  const refused = await call('POST', '/v1/jobs/run-forbid/run');
  assertError(refused, 409, '', /forbid/);
  const skipped = (await getJob('run-forbid')).body;
  assert.equal(skipped.skip_count, 1);
  assert.match(skipped.last_skip_reason, /forbid/);

  await runNow('run-forbid', '?force=true');
  await eventually('two run-forbid executions in /v1/busy', async () => {
    const res = await call<Execution[]>('GET', '/v1/busy');
    return res.body.filter((e) => e.job_name === 'run-forbid').length === 2;
  });

  writeFileSync(gate, '');
  const done = await finished('run-forbid', 2);
  for (const e of done) {
    assert.equal(e.success, true, e.output);
    assert.equal(e.output, 'started\nreleased\n');
  }
  await eventually('/v1/busy to empty', async () => {
    const res = await call<Execution[]>('GET', '/v1/busy');
    return res.body.length === 0 && res.headers.get('x-total-count') === '0';
  });
});

// --- executions ----------------------------------------------------------------------

void test('execution history: order, fields, output_size_limit, single fetch, delete', async () => {
  await create('exe-a', { executor_config: { command: 'echo 0123456789abcdef' } });
  await runNow('exe-a');
  await finished('exe-a', 1);
  await runNow('exe-a');
  await finished('exe-a', 2);

  const list = await executions('exe-a');
  assert.equal(list.status, 200);
  assert.equal(list.headers.get('x-total-count'), '2');
  const [newest, oldest] = list.body;
  assert.ok(newest && oldest);
  assert.ok(newest.started_at > oldest.started_at, 'newest first by default');
  const asc = await executions('exe-a', '?_order=ASC');
  assert.deepEqual(asc.body.map((e) => e.id), [oldest.id, newest.id]);

  for (const e of list.body) {
    assert.match(e.id, /^\d+-test-node$/);
    assert.equal(e.job_name, 'exe-a');
    assert.equal(e.node_name, NODE);
    assert.equal(e.attempt, 1);
    assert.equal(typeof e.group, 'number');
    assert.ok(!Number.isNaN(Date.parse(e.started_at)));
    assert.ok(finishedRun(e) && Date.parse(e.finished_at) >= Date.parse(e.started_at));
    assert.equal(e.success, true);
    assert.equal(e.exit_code, 0);
    assert.equal(e.output, '0123456789abcdef\n');
    assert.equal(e.output_truncated, false, 'short output untouched');
  }

  const trimmed = await executions('exe-a', '?output_size_limit=5');
  for (const e of trimmed.body) {
    assert.equal(e.output, 'cdef\n', 'the last 5 characters are kept');
    assert.equal(e.output_truncated, true);
  }
  const roomy = await executions('exe-a', '?output_size_limit=1000');
  for (const e of roomy.body) {
    assert.equal(e.output, '0123456789abcdef\n');
    assert.equal(e.output_truncated, false);
  }

  const page = await executions('exe-a', '?offset=0&limit=1');
  assert.deepEqual(page.body.map((e) => e.id), [newest.id]);
  assert.equal(page.headers.get('x-total-count'), '2');
  // dkron's _start/_end are ignored on this route, as dkron does: every kept execution.
  assert.equal((await executions('exe-a', '?_start=0&_end=1')).body.length, 2);

  const one = await call<Execution>('GET', `/v1/jobs/exe-a/executions/${encodeURIComponent(newest.id)}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.id, newest.id);
  assert.equal(one.body.output, '0123456789abcdef\n', 'the full output');
  assertError(await call('GET', '/v1/jobs/exe-a/executions/123-nowhere'), 404, '', /123-nowhere/);
  assertError(await call('GET', '/v1/jobs/no-such-job/executions/123-nowhere'), 404, '', /no-such-job/);

  const counted = (await getJob('exe-a')).body;
  assert.equal(counted.success_count, 2);
  const cleared = await call<Job>('DELETE', '/v1/jobs/exe-a/executions');
  assert.equal(cleared.status, 200);
  assert.equal(cleared.body.name, 'exe-a');
  assert.equal(cleared.body.success_count, 0);
  assert.equal(cleared.body.error_count, 0);
  assert.equal(cleared.body.last_success, null);
  assert.equal(cleared.body.last_error, null);
  const empty = await executions('exe-a');
  assert.deepEqual(empty.body, []);
  assert.equal(empty.headers.get('x-total-count'), '0');
  assert.equal((await getJob('exe-a')).body.success_count, 0);
  assertError(await call('DELETE', '/v1/jobs/no-such-job/executions'), 404, '', /no-such-job/);
});

void test('a failing run records success=false, its exit code and the failure counters', async () => {
  await create('exe-fail', { executor_config: { shell: 'true', command: 'echo oops; exit 3' } });
  await runNow('exe-fail');
  const [e] = await finished('exe-fail', 1);
  assert.equal(e?.success, false);
  assert.equal(e?.exit_code, 3);
  assert.match(e?.output ?? '', /oops/);
  const job = await eventually('exe-fail to count its failure', async () => {
    const j = (await getJob('exe-fail')).body;
    return j.error_count === 1 ? j : undefined;
  });
  assert.equal(job.status, 'failed');
  assert.equal(job.success_count, 0);
  assert.notEqual(job.last_error, null);
});

// --- pause / restore ----------------------------------------------------------------------

void test('pause blocks job submissions with a 503 until unpaused', async () => {
  assert.deepEqual((await call('GET', '/v1/pause')).body, { paused: false });
  try {
    const paused = await call('POST', '/v1/pause');
    assert.equal(paused.status, 200);
    assert.deepEqual(paused.body, { paused: true });
    assert.deepEqual((await call('GET', '/v1/pause')).body, { paused: true });
    assertError(await call('POST', '/v1/jobs', jobBody('pause-a')), 503, '', /paused/);
    assertError(await call('PUT', '/v1/jobs/pause-a', jobBody('pause-a')), 503, '', /paused/);
    assertError(await call('PATCH', '/v1/jobs', jobBody('pause-a')), 503, '', /paused/);
    assert.equal((await getJob('pause-a')).status, 404);
  } finally {
    const unpaused = await call('POST', '/v1/unpause');
    assert.deepEqual(unpaused.body, { paused: false });
  }
  assert.deepEqual((await call('GET', '/v1/pause')).body, { paused: false });
  await create('pause-a');
});

async function restore(file: string, filename = 'jobs.json'): Promise<ApiResponse> {
  const form = new FormData();
  form.append('file', new Blob([file], { type: 'application/json' }), filename);
  const res = await fetch(`${agent.url}/v1/restore`, { method: 'POST', body: form });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // kept as text for the assertion message
  }
  checkGlobalRules('/v1/restore', res);
  return { status: res.status, body, headers: res.headers };
}

void test('restore: a multipart job file with a child listed before its parent', async () => {
  const child = jobBody('rs-child', { parent_job: 'rs-parent', schedule: '' });
  const parent = jobBody('rs-parent', { displayname: 'restored parent' });
  const res = await restore(JSON.stringify([child, parent]));
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body, ['success create rs-parent', 'success create rs-child']);
  const p = (await getJob('rs-parent')).body;
  assert.equal(p.displayname, 'restored parent');
  assert.deepEqual(p.dependent_jobs, ['rs-child']);
  assert.equal((await getJob('rs-child')).body.parent_job, 'rs-parent');
});

void test('restore: an invalid file is a 400 and creates nothing', async () => {
  const good = jobBody('rs-bad-ok');
  const bad = jobBody('rs-bad', { schedule: '* * *' });
  assertError(await restore(JSON.stringify([good, bad])), 400, '[1].schedule', /can't parse job schedule/);
  assertError(await restore(JSON.stringify([good, 'not a job'])), 400, '[1]', /JSON object/);
  assertError(await restore(JSON.stringify([good, jobBody('rs-lost', { parent_job: 'rs-nowhere', schedule: '' })])), 400, 'parent_job', /rs-nowhere/);
  const loop = [good, jobBody('rs-loop-a', { parent_job: 'rs-loop-b' }), jobBody('rs-loop-b', { parent_job: 'rs-loop-a' })];
  assertError(await restore(JSON.stringify(loop)), 400, 'parent_job', /cycle/);
  assertError(await restore('{"not": "an array"}'), 400, 'file', /array/);
  assertError(await restore('[{"name":'), 400, 'file', /Unable to parse payload/);
  for (const name of ['rs-bad-ok', 'rs-bad', 'rs-lost', 'rs-loop-a', 'rs-loop-b']) {
    assert.equal((await getJob(name)).status, 404, `${name} was not created`);
  }

  const form = new FormData();
  form.append('other', 'no file here');
  const noFile = await fetch(`${agent.url}/v1/restore`, { method: 'POST', body: form });
  assert.equal(noFile.status, 400);
  assert.equal(((await noFile.json()) as ErrorBody).field, 'file');
});

// --- cluster and misc ---------------------------------------------------------------------

void test('health, members, leader, isleader, node info', async () => {
  const health = await call<{ status: string }>('GET', '/health');
  assert.equal(health.status, 200);
  assert.equal(health.body.status, 'healthy');

  const members = await call<ListedMember[]>('GET', '/v1/members');
  assert.equal(members.status, 200);
  assert.equal(members.headers.get('x-total-count'), '1');
  assert.equal(members.body.length, 1);
  const [m] = members.body;
  assert.ok(m);
  assert.equal(m.Name, NODE);
  assert.equal(typeof m.Addr, 'string');
  assert.ok(m.Addr.length > 0);
  assert.equal(typeof m.Port, 'number');
  assert.equal(typeof m.Tags, 'object');
  assert.equal(m.Status, 1);
  assert.equal(m.statusText, 'alive');
  assert.equal(typeof m.id, 'string');

  const leader = await call<Member>('GET', '/v1/leader');
  assert.equal(leader.status, 200);
  assert.equal(leader.body.Name, NODE);

  const isLeader = await call('GET', '/v1/isleader');
  assert.equal(isLeader.status, 200);
  assert.equal(isLeader.body, 'I am a leader');
  assert.match(isLeader.headers.get('content-type') ?? '', /json/);

  const info = await call<{ agent: { name: string } }>('GET', '/v1');
  assert.equal(info.status, 200);
  assert.equal(info.body.agent.name, NODE);
});

void test('?pretty indents, unknown routes are JSON 404s', async () => {
  await create('pretty-a');
  const plain = await fetch(`${agent.url}/v1/jobs/pretty-a`);
  const plainText = await plain.text();
  assert.doesNotMatch(plainText, /\n/);
  const pretty = await fetch(`${agent.url}/v1/jobs/pretty-a?pretty`);
  const prettyText = await pretty.text();
  assert.match(prettyText, /^\{\n {2}"id": "pretty-a",\n/);
  assert.deepEqual(JSON.parse(prettyText), JSON.parse(plainText));
  assert.equal(pretty.headers.get('x-whom'), NODE);

  const missing = await call<ErrorBody>('GET', '/v1/no/such/route');
  assert.equal(missing.status, 404);
  assert.match(missing.body.error, /no route/);
  assert.match(missing.headers.get('content-type') ?? '', /json/);

  // The router rejects a broken %-escape before any route runs; still our JSON shape and headers.
  assertError(await call('GET', '/v1/jobs/%E0%A4%A'), 400, '', /not a valid url/);
});

void test('no request ended in a server error', () => {
  const failures = agent.logs.filter((l) => /api: request failed/.test(l));
  assert.deepEqual(failures, []);
});
