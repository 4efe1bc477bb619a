/**
 * Jobs as code, through the real CLI against a real agent: apply / diff /
 * export round trips losslessly on jobs using every writable field, --prune
 * deletes only jobs carrying apply's ownership label, the bulk endpoint
 * validates everything before writing anything, and `import crontab` makes
 * jobs whose next runs are the ones cron would compute.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { CronExpressionParser } from 'cron-parser';
import { api, shellJob, startAgent, stopAndRemove, tempDir, type AgentHandle } from '../helpers/agent.js';
import { kairos, kairosOk } from '../helpers/cli.js';
import { jobInputSchema } from '../../src/job/schema.js';
import { definitionOf } from '../../src/core/audit.js';
import type { Job } from '../../src/job/types.js';

const MAX_JOBS = 40;
let agent: AgentHandle | undefined;
let dir = '';
let A: string[] = [];

/** Fields of the schema that are dkron 0.9 aliases or read-only echoes, not stored as such. */
const NOT_STORED = new Set(['id', 'command', 'shell', 'environment_variables', 'dependent_jobs']);

/** Jobs that together set every writable field of src/job/schema.ts to a non-default value. */
function fullSet(): Record<string, unknown>[] {
  return [
    {
      name: 'full-parent',
      displayname: 'Every field',
      timezone: 'Europe/Paris',
      schedule: '0 30 4 1 1 *',
      owner: 'ops team',
      owner_email: 'ops@example.com',
      disabled: true,
      tags: { role: 'web:2', zone: 'a' },
      metadata: { team: 'ops', tier: 'gold' },
      retries: 3,
      processors: { log: { forward: 'true' }, files: { path: '/tmp/x' } },
      concurrency: 'forbid',
      executor: 'shell',
      executor_config: { command: 'echo "full"', shell: 'true', env: 'A=1,B=two', timeout: '30s', cwd: '/tmp' },
      ephemeral: true,
      starts_at: '2030-01-01T00:00:00.000Z',
      expires_at: '2031-06-30T12:00:00.000Z',
      catch_up: 'all',
      starting_deadline: '1h30m',
      history_limit: 7,
      max_start_delay: '2m30s',
      notify_on: 'change',
      notify_skip: true,
      slack_webhook_url: 'https://hooks.example/services/T0/B0/x',
      slack_channel: '#ops',
    },
    {
      name: 'full-child',
      parent_job: 'full-parent',
      executor: 'shell',
      executor_config: { command: 'echo child' },
      catch_up: 'skip',
    },
    { name: 'plain-daily', schedule: '@daily', timezone: 'UTC', executor: 'shell', executor_config: { command: 'true' } },
    { name: 'fan-in', depends_on: ['plain-daily', 'full-parent'], schedule: '@weekly', executor: 'shell', executor_config: { command: 'true' }, resources: { cpu: 0.5, memory: '64Mi' } },
  ];
}

async function jobs(): Promise<Job[]> {
  const r = await api<Job[]>(agent!.url, 'GET', '/v1/jobs');
  assert.equal(r.status, 200);
  return r.body;
}

before(async () => {
  dir = tempDir('kairos-apply-');
  agent = await startAgent({ dataDir: join(dir, 'data'), args: ['--max-jobs', String(MAX_JOBS)] });
  A = ['--address', agent.url];
});

after(() => stopAndRemove(agent, dir));

test('the set uses every writable field of the job schema', () => {
  const used = new Set(fullSet().flatMap((j) => Object.keys(j)));
  for (const field of Object.keys(jobInputSchema.shape)) {
    if (!NOT_STORED.has(field)) assert.ok(used.has(field), `field ${field} is not covered`);
  }
});

test('apply / diff / export / prune round trip', async () => {
  const src = join(dir, 'src');
  mkdirSync(src);
  const [parent, child, plain, fanIn] = fullSet();
  // YAML with two documents, JSON with a list, and a file apply must ignore.
  writeFileSync(join(src, 'a.yaml'), `${stringify(parent)}---\n${stringify(child)}`);
  writeFileSync(join(src, 'b.json'), JSON.stringify([plain, fanIn]));
  writeFileSync(join(src, 'README.md'), 'not a job');

  // Jobs apply does not own: one unlabelled, one labelled by another owner.
  assert.equal((await api(agent!.url, 'POST', '/v1/jobs', shellJob('hand-made', 'true'))).status, 201);
  assert.equal((await api(agent!.url, 'POST', '/v1/jobs', shellJob('other-owner', 'true', { metadata: { 'managed-by': 'someone-else' } }))).status, 201);

  const before = await kairos(['diff', '-f', src, ...A]);
  assert.equal(before.code, 1, before.stderr);
  assert.match(before.stdout, /\+ create full-parent/);
  assert.match(before.stdout, /\+ create full-child/);
  assert.ok(!before.stdout.includes('\u001b['), 'no colour when not on a TTY');

  const dry = await kairosOk(['apply', '-f', src, '--dry-run', ...A]);
  assert.match(dry.stdout, /4 would be created/);
  assert.equal((await jobs()).length, 2, 'dry run writes nothing');

  const applied = await kairosOk(['apply', '-f', src, ...A]);
  assert.match(applied.stdout, /4 created, 0 updated, 0 deleted, 0 unchanged/);
  const same = await kairos(['diff', '-f', src, ...A]);
  assert.equal(same.code, 0, same.stdout);
  assert.match(same.stdout, /No differences/);

  // Stored as written (plus the ownership label); links and audit right.
  const stored = new Map((await jobs()).map((j) => [j.name, j]));
  for (const want of fullSet()) {
    const got = definitionOf(stored.get(want.name as string) ?? null) as Record<string, unknown>;
    for (const [k, v] of Object.entries(want)) {
      if (k === 'metadata') assert.deepEqual(got[k], { ...(v as object), 'managed-by': 'kairos-apply' });
      else assert.deepEqual(got[k], v, `${String(want.name)}.${k}`);
    }
  }
  assert.deepEqual(stored.get('full-parent')?.dependent_jobs, ['fan-in', 'full-child']);
  assert.deepEqual(stored.get('plain-daily')?.dependent_jobs, ['fan-in']);
  const audit = await api<{ action: string; actor: string; detail: { via: string } }[]>(agent!.url, 'GET', '/v1/audit?job=full-parent');
  assert.equal(audit.body[0]?.action, 'job.create');
  assert.equal(audit.body[0]?.detail.via, 'apply');
  assert.equal(audit.body[0]?.actor, 'anonymous');

  // Export: one YAML file per job, writable fields only; applying them back changes nothing.
  const out = join(dir, 'export');
  await kairosOk(['export', '-d', out, '--label', 'managed-by=kairos-apply', ...A]);
  assert.deepEqual(readdirSync(out).sort(), ['fan-in.yaml', 'full-child.yaml', 'full-parent.yaml', 'plain-daily.yaml']);
  const exported = parseYaml(readFileSync(join(out, 'full-parent.yaml'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(exported, definitionOf(stored.get('full-parent') ?? null));
  assert.equal(exported.success_count, undefined);
  assert.equal((await kairos(['diff', '-f', out, ...A])).code, 0);
  const again = await kairosOk(['apply', '-f', out, ...A]);
  assert.match(again.stdout, /0 created, 0 updated, 0 deleted, 4 unchanged/);
  const everything = await kairosOk(['export', ...A]);
  assert.equal(everything.stdout.split(/^---$/m).length, 6);

  // A field-level diff of a change.
  const edited = { ...plain, schedule: '@hourly', tags: { role: 'db' } };
  writeFileSync(join(src, 'b.json'), JSON.stringify([edited]));
  const changed = await kairos(['diff', '-f', src, ...A]);
  assert.equal(changed.code, 1);
  assert.match(changed.stdout, /~ update plain-daily\n/);
  assert.match(changed.stdout, /schedule: "@daily" -> "@hourly"/);
  assert.match(changed.stdout, /tags\.role: \(none\) -> "db"/);

  // Prune: the child's file is gone; a labelled job made by hand goes too; unowned jobs stay.
  assert.equal((await api(agent!.url, 'POST', '/v1/jobs', shellJob('stale-owned', 'true', { metadata: { 'managed-by': 'kairos-apply' } }))).status, 201);
  writeFileSync(join(src, 'a.yaml'), stringify(parent));
  const prunePreview = await kairosOk(['apply', '-f', src, '--prune', '--dry-run', ...A]);
  assert.match(prunePreview.stdout, /- delete full-child/);
  assert.match(prunePreview.stdout, /- delete stale-owned/);
  assert.match(prunePreview.stdout, /- delete fan-in/);
  assert.ok((await jobs()).some((j) => j.name === 'full-child'), 'dry run deletes nothing');
  assert.equal((await kairos(['diff', '-f', src, '--prune', ...A])).code, 1);
  const pruned = await kairosOk(['apply', '-f', src, '--prune', ...A]);
  assert.match(pruned.stdout, /0 created, 1 updated, 3 deleted, 1 unchanged/);
  const names = (await jobs()).map((j) => j.name).sort();
  assert.deepEqual(names, ['full-parent', 'hand-made', 'other-owner', 'plain-daily']);
  assert.equal((await jobs()).find((j) => j.name === 'full-parent')?.dependent_jobs, null);
  assert.equal((await kairos(['diff', '-f', src, '--prune', ...A])).code, 0);
  const deletion = await api<{ action: string }[]>(agent!.url, 'GET', '/v1/audit?job=stale-owned');
  assert.equal(deletion.body[0]?.action, 'job.delete');
});

test('a bulk request with 3 bad jobs answers 400 naming all three and writes nothing', async () => {
  const count = (await jobs()).length;
  const good = shellJob('bulk-good', 'true');
  const body = {
    jobs: [good, { ...shellJob('bad-schedule', 'true'), schedule: 'every tuesday' }, { name: 'no-executor', schedule: '@daily' }, { ...shellJob('bad name', 'true') }],
    prune: null,
    dry_run: false,
  };
  const r = await api<{ code: string; field: string; message: string; errors: { index: number; name: string; field: string }[] }>(agent!.url, 'POST', '/v1/jobs/bulk', body);
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'KAIROS_VALIDATION');
  assert.equal(r.body.field, 'jobs[1].schedule');
  assert.deepEqual(r.body.errors.map((e) => [e.index, e.name, e.field]), [
    [1, 'bad-schedule', 'schedule'],
    [2, 'no-executor', 'executor'],
    [3, 'bad name', 'name'],
  ]);
  for (const name of ['bad-schedule', 'no-executor', 'bad name']) assert.ok(r.body.message.includes(name), name);
  assert.equal((await jobs()).length, count, 'nothing written');

  // The CLI says the same, exits 1, and lists each job.
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, body.jobs.map((j) => stringify(j)).join('---\n'));
  const cli = await kairos(['apply', '-f', file, ...A]);
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /jobs\[1\] bad-schedule: schedule/);
  assert.match(cli.stderr, /jobs\[3\] bad name: name/);
  assert.equal((await jobs()).length, count);

  // A parent that is neither stored nor in the request is one of the errors too.
  const orphan = await api<{ errors: { field: string }[] }>(agent!.url, 'POST', '/v1/jobs/bulk', { jobs: [{ name: 'orphan', parent_job: 'ghost', executor: 'shell', executor_config: { command: 'true' } }], prune: null, dry_run: false });
  assert.equal(orphan.status, 400);
  assert.equal(orphan.body.errors[0]?.field, 'parent_job');
});

test('bulk honours --max-jobs, all or nothing', async () => {
  const count = (await jobs()).length;
  const many = Array.from({ length: MAX_JOBS - count + 1 }, (_v, i) => shellJob(`many-${i}`, 'true'));
  const r = await api<{ code: string }>(agent!.url, 'POST', '/v1/jobs/bulk', { jobs: many, prune: null, dry_run: false });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'KAIROS_LIMIT_MAX_JOBS');
  assert.equal((await jobs()).length, count);
  const fits = await api<{ created: string[] }>(agent!.url, 'POST', '/v1/jobs/bulk', { jobs: many.slice(1), prune: null, dry_run: false });
  assert.equal(fits.status, 200);
  assert.equal(fits.body.created.length, many.length - 1);
  assert.equal((await jobs()).length, MAX_JOBS);
  for (const j of many.slice(1)) assert.equal((await api(agent!.url, 'DELETE', `/v1/jobs/${String(j.name)}`)).status, 200);
});

test('large file sets are parsed on worker threads: a YAML error names its file and line; detail "diff" answers creates by name', async () => {
  // Over 4 MB of files takes the worker path; comments make them big without making jobs.
  const big = join(dir, 'big');
  mkdirSync(big);
  const padding = `# ${'x'.repeat(78)}\n`.repeat(30_000);
  writeFileSync(join(big, 'a.yaml'), `${padding}${stringify(shellJob('big-a', 'true'))}`);
  writeFileSync(join(big, 'b.yaml'), `${padding}name: big-b\nexecutor: [shell\n`);
  const bad = await kairos(['apply', '-f', big, ...A]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, new RegExp(`${join(big, 'b.yaml').replace(/[.]/g, '\\.')}:30003: `));
  assert.equal((await jobs()).some((j) => j.name === 'big-a'), false, 'nothing sent');

  writeFileSync(join(big, 'b.yaml'), `${padding}${stringify(shellJob('big-b', 'true'))}`);
  const ok = (await kairosOk(['apply', '-f', big, ...A])).stdout;
  assert.match(ok, /\+ create big-a/);
  assert.match(ok, /2 created, 0 updated, 0 deleted/);

  // The API's detail "diff": a create and a delete by name, an update with both definitions.
  const r = await api<{ changes: Record<string, unknown>[] }>(agent!.url, 'POST', '/v1/jobs/bulk', {
    jobs: [{ ...shellJob('big-a', 'false'), metadata: { 'managed-by': 'kairos-apply' } }, { ...shellJob('big-c', 'true'), metadata: { 'managed-by': 'kairos-apply' } }],
    prune: { label: 'managed-by=kairos-apply' },
    dry_run: true,
    detail: 'diff',
  });
  assert.equal(r.status, 200);
  const byName = new Map(r.body.changes.map((c) => [c.name, c]));
  assert.deepEqual(byName.get('big-c'), { name: 'big-c', action: 'create' });
  assert.deepEqual(byName.get('big-b'), { name: 'big-b', action: 'delete' });
  const update = byName.get('big-a') as { action: string; before: { executor_config: { command: string } }; after: { executor_config: { command: string } } };
  assert.equal(update.action, 'update');
  assert.equal(update.before.executor_config.command, 'true');
  assert.equal(update.after.executor_config.command, 'false');
  for (const name of ['big-a', 'big-b']) assert.equal((await api(agent!.url, 'DELETE', `/v1/jobs/${name}`)).status, 200);
});

test('a large JSON list goes to the agent as its text: the agent stamps the label; a syntax error still names the file and line', async () => {
  const listDir = join(dir, 'list');
  mkdirSync(listDir);
  // Over 256 KB: sent unparsed.
  const padded = (name: string): Record<string, unknown> => ({ ...shellJob(name, 'true'), displayname: 'x'.repeat(100_000), metadata: { 'managed-by': 'someone-else', team: 'list' } });
  const file = join(listDir, 'jobs.json');
  writeFileSync(file, JSON.stringify([padded('list-a'), padded('list-b'), padded('list-c')], null, 1));
  const listed = await kairosOk(['apply', '-f', listDir, ...A]);
  assert.match(listed.stdout, /\+ create list-a/);
  assert.match(listed.stdout, /3 created, 0 updated, 0 deleted/);
  const stored = (await jobs()).find((j) => j.name === 'list-b');
  assert.deepEqual(stored?.metadata, { 'managed-by': 'kairos-apply', team: 'list' }, "apply's label replaces the file's value for its key");
  assert.match((await kairosOk(['apply', '-f', listDir, ...A])).stdout, /0 created, 0 updated, 0 deleted, 3 unchanged/);

  const text = readFileSync(file, 'utf8');
  writeFileSync(file, `${text.slice(0, -2)},\n}]`);
  const broken = await kairos(['apply', '-f', listDir, ...A]);
  assert.equal(broken.code, 2, broken.stderr);
  assert.match(broken.stderr, new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+: `));
  for (const name of ['list-a', 'list-b', 'list-c']) assert.equal((await api(agent!.url, 'DELETE', `/v1/jobs/${name}`)).status, 200);
});

const CRONTAB = [
  'MAILTO=cron@example.com', // 1
  'GREETING=hi', // 2
  '*/7 * * * * echo step', // 3
  '15 9-17/2 * * mon-fri echo office', // 4
  '0 0 1,15 jan,jul * echo twice-a-year', // 5
  '@daily echo daily', // 6
  '0 3 * * 7 echo sunday', // 7
  '0 12 13 * fri echo friday-or-13th', // 8
  '30 6 * * * cat%input line', // 9
  '@reboot echo boot', // 10
  '* * * * echo four-fields', // 11
  '',
].join('\n');

test('import crontab: dry run prints the jobs and reports lines it skips; --apply creates them with cron\'s next run times', async () => {
  const file = join(dir, 'crontab');
  writeFileSync(file, CRONTAB);
  const dry = await kairosOk(['import', 'crontab', file, '--timezone', 'America/New_York', '--tag', 'team=cron', ...A]);
  const docs = dry.stdout.split(/^---$/m).map((d) => parseYaml(d) as { name: string; schedule: string; owner_email: string; tags: Record<string, string> });
  assert.equal(docs.length, 7);
  assert.deepEqual(docs.map((d) => d.schedule), ['*/7 * * * *', '15 9-17/2 * * mon-fri', '0 0 1,15 jan,jul *', '@daily', '0 3 * * 0', '0 12 13 * fri', '30 6 * * *']);
  assert.ok(docs.every((d) => d.owner_email === 'cron@example.com' && d.tags.team === 'cron'));
  assert.match(dry.stderr, /crontab:10: skipped: @reboot/);
  assert.match(dry.stderr, /crontab:11: skipped: malformed/);
  assert.equal((await jobs()).filter((j) => j.metadata?.['imported-from'] === 'crontab').length, 0, 'a dry run creates nothing');

  const applied = await kairosOk(['import', 'crontab', file, '--timezone', 'America/New_York', '--apply', ...A]);
  assert.match(applied.stderr, /7 created/);
  const from = Date.now();
  const imported = (await jobs()).filter((j) => j.metadata?.['imported-from'] === 'crontab');
  const until = Date.now();
  assert.equal(imported.length, 7);
  const lines = CRONTAB.split('\n');
  for (const job of imported) {
    const line = lines.find((l) => l.endsWith(job.displayname.split('%')[0] as string) || l.includes(` ${job.displayname}%`)) ?? '';
    const spec = line.startsWith('@') ? (line.split(' ')[0] as string) : line.split(' ').slice(0, 5).join(' ');
    // cron's next run after the moment the API was asked (either end of the request).
    const cronNext = (at: number): string => CronExpressionParser.parse(spec, { currentDate: new Date(at), tz: 'America/New_York' }).next().toDate().toISOString();
    assert.ok(job.next !== null && [cronNext(from), cronNext(until)].includes(new Date(job.next).toISOString()), `${job.name} (${spec}): next ${job.next}, cron ${cronNext(from)}`);
    assert.equal(job.timezone, 'America/New_York');
  }
  const stdin = imported.find((j) => j.displayname === 'cat');
  assert.equal(stdin?.executor_config?.command, "{ cat\n} <<'KAIROS_STDIN'\ninput line\nKAIROS_STDIN");
  assert.equal(stdin?.executor_config?.env, 'GREETING=hi');
  // Importing again is a no-op: the names are stable.
  const again = await kairosOk(['import', 'crontab', file, '--timezone', 'America/New_York', '--apply', ...A]);
  assert.match(again.stderr, /0 created, 0 updated, 7 unchanged/);
});
