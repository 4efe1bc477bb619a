/**
 * normalizeJobInput: the one gate every job passes (POST/PUT/PATCH, restore).
 * Each rejection must name the field at fault; accepted input comes back
 * with dkron's defaults filled in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeJobInput, ValidationError } from '../../src/job/schema.js';
import { ExecutorRegistry } from '../../src/executors/registry.js';
import { ShellExecutor } from '../../src/executors/shell.js';

const executors = new ExecutorRegistry();
executors.register(new ShellExecutor());

const BASE = {
  name: 'job',
  schedule: '@every 1s',
  executor: 'shell',
  executor_config: { command: 'echo hi' },
};

function with_(patch: Record<string, unknown>): Record<string, unknown> {
  return { ...BASE, ...patch };
}

/** Asserts a ValidationError (400) naming `field`, with a message matching `message`. */
function rejects(body: unknown, field: string, message: RegExp): void {
  assert.throws(
    () => normalizeJobInput(body, executors),
    (err: unknown) => {
      assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${String(err)}`);
      assert.equal(err.field, field, `field for ${err.message}`);
      assert.equal(err.status, 400);
      assert.match(err.message, message);
      return true;
    },
  );
}

void test('defaults are filled for a minimal job', () => {
  const spec = normalizeJobInput(BASE, executors);
  assert.deepEqual(spec, {
    name: 'job',
    displayname: '',
    timezone: '',
    schedule: '@every 1s',
    owner: '',
    owner_email: '',
    disabled: false,
    tags: null,
    metadata: null,
    retries: 0,
    parent_job: '',
    processors: {},
    concurrency: 'allow',
    executor: 'shell',
    executor_config: { command: 'echo hi' },
    ephemeral: false,
    starts_at: null,
    expires_at: null,
    catch_up: 'latest',
    starting_deadline: '',
    history_limit: 0,
    max_start_delay: '',
    notify_on: '',
    notify_skip: null,
    slack_webhook_url: '',
    slack_channel: '',
  });
});

void test('accepted values are kept and normalised', () => {
  const spec = normalizeJobInput(
    with_({
      displayname: 'Nice job',
      timezone: 'Europe/Berlin',
      schedule: '  0 30 2 * * *  ',
      concurrency: 'forbid',
      retries: 3,
      tags: { role: 'web:2' },
      metadata: { team: 'ops', n: 1 },
      // dkron's executor_config is a string map; scalars are stringified.
      executor_config: { command: 'echo hi', shell: true, timeout: '5s' },
      processors: { log: null, files: { forward: true } },
      starts_at: '2030-01-02T03:04',
      expires_at: '2031-01-01T00:00:00+02:00',
      ephemeral: true,
      disabled: true,
      catch_up: 'all',
      starting_deadline: '1h',
      history_limit: 5,
    }),
    executors,
  );
  assert.equal(spec.schedule, '0 30 2 * * *', 'schedule is trimmed');
  assert.equal(spec.concurrency, 'forbid');
  assert.deepEqual(spec.metadata, { team: 'ops', n: '1' });
  assert.deepEqual(spec.executor_config, { command: 'echo hi', shell: 'true', timeout: '5s' });
  assert.deepEqual(spec.processors, { log: {}, files: { forward: 'true' } });
  assert.equal(spec.starts_at, '2030-01-02T03:04:00.000Z', 'datetime-local form is read as UTC');
  assert.equal(spec.expires_at, '2030-12-31T22:00:00.000Z');
  assert.equal(spec.catch_up, 'all');
  assert.equal(spec.history_limit, 5);
});

void test('empty maps, empty concurrency and empty times mean "unset"', () => {
  const spec = normalizeJobInput(with_({ tags: {}, metadata: null, concurrency: '', starts_at: '', expires_at: null }), executors);
  assert.equal(spec.tags, null);
  assert.equal(spec.metadata, null);
  assert.equal(spec.concurrency, 'allow');
  assert.equal(spec.starts_at, null);
  assert.equal(spec.expires_at, null);
});

void test('legacy dkron 0.9 fields map onto the shell executor', () => {
  const spec = normalizeJobInput(
    { name: 'legacy', schedule: '@every 10s', command: 'echo $A', shell: true, environment_variables: ['A=1', 'B=2'] },
    executors,
  );
  assert.equal(spec.executor, 'shell');
  assert.deepEqual(spec.executor_config, { command: 'echo $A', shell: 'true', env: 'A=1,B=2' });

  const plain = normalizeJobInput({ name: 'legacy2', schedule: '@every 10s', command: 'date' }, executors);
  assert.deepEqual(plain.executor_config, { command: 'date', shell: 'false' });

  const stringShell = normalizeJobInput({ name: 'legacy3', schedule: '@every 10s', command: 'date', shell: 'true' }, executors);
  assert.equal(stringShell.executor_config?.shell, 'true');

  // An explicit executor wins; the legacy command is not merged into it.
  const explicit = normalizeJobInput(with_({ command: 'ignored' }), executors);
  assert.deepEqual(explicit.executor_config, { command: 'echo hi' });
});

void test('a child job needs no schedule, but a given one must parse', () => {
  const child = normalizeJobInput({ name: 'child', parent_job: 'parent', executor: 'shell', executor_config: { command: 'true' } }, executors);
  assert.equal(child.schedule, '');
  assert.equal(child.parent_job, 'parent');
  rejects({ ...child, schedule: 'not a schedule' }, 'schedule', /can't parse job schedule/);
});

void test('names: dkron set plus upper case and dots, 1-200 characters', () => {
  for (const name of ['ßñëäïüøáéíóýćàèìòùâêîôûæšłç', 'My.Job', 'a_b-c.1', 'A', 'a'.repeat(200), '...']) {
    assert.equal(normalizeJobInput(with_({ name }), executors).name, name);
  }
  rejects(with_({ name: '' }), 'name', /^name cannot be empty$/);
  rejects(with_({ name: 'BAD JOB NAME!' }), 'name', /illegal character ' '/);
  rejects(with_({ name: 'bad!' }), 'name', /illegal character '!'/);
  rejects(with_({ name: 'a/b' }), 'name', /illegal character '\/'/);
  rejects(with_({ name: 'a'.repeat(201) }), 'name', /at most 200/);
  // Counted in characters, not UTF-16 units or bytes.
  assert.equal(normalizeJobInput(with_({ name: 'ß'.repeat(200) }), executors).name.length, 200);
  rejects(with_({ name: '.' }), 'name', /cannot be "\."/);
  rejects(with_({ name: '..' }), 'name', /cannot be "\.\."/);
  rejects({ ...BASE, name: undefined }, 'name', /^name is required$/);
  rejects(with_({ name: 5 }), 'name', /^name must be a string$/);
});

void test('the body must be a JSON object', () => {
  for (const body of [null, undefined, 'job', 42, [], [BASE]]) {
    rejects(body, '', /must be a JSON object/);
  }
});

void test('schedule errors', () => {
  rejects({ ...BASE, schedule: undefined }, 'schedule', /schedule is required/);
  rejects(with_({ schedule: '   ' }), 'schedule', /schedule is required/);
  rejects(with_({ schedule: '* * *' }), 'schedule', /^can't parse job schedule: .*fields/);
  rejects(with_({ schedule: '@every nope' }), 'schedule', /^can't parse job schedule: .*nope/);
  rejects(with_({ schedule: '@at badtime' }), 'schedule', /^can't parse job schedule: .*badtime/);
  rejects(with_({ schedule: '@sometimes' }), 'schedule', /^can't parse job schedule/);
  rejects(with_({ schedule: '61 * * * * *' }), 'schedule', /^can't parse job schedule/);
});

void test('time zone, concurrency, catch-up and deadline errors', () => {
  rejects(with_({ timezone: 'notatimezone' }), 'timezone', /unknown time zone "notatimezone"/);
  assert.equal(normalizeJobInput(with_({ timezone: 'Local' }), executors).timezone, 'Local');
  rejects(with_({ concurrency: 'sometimes' }), 'concurrency', /invalid concurrency policy value, use "allow" or "forbid"/);
  rejects(with_({ concurrency: 'Forbid' }), 'concurrency', /invalid concurrency/);
  rejects(with_({ catch_up: 'never' }), 'catch_up', /invalid catch_up policy/);
  rejects(with_({ starting_deadline: 'soon' }), 'starting_deadline', /invalid starting_deadline/);
  rejects(with_({ starting_deadline: '0s' }), 'starting_deadline', /must be positive/);
});

void test('max_start_delay: a positive Go duration; "" and null mean no SLO', () => {
  rejects(with_({ max_start_delay: 'soon' }), 'max_start_delay', /invalid max_start_delay/);
  rejects(with_({ max_start_delay: '30' }), 'max_start_delay', /missing unit/);
  rejects(with_({ max_start_delay: '0s' }), 'max_start_delay', /must be positive/);
  rejects(with_({ max_start_delay: '-5s' }), 'max_start_delay', /must be positive/);
  rejects(with_({ max_start_delay: 30 }), 'max_start_delay', /max_start_delay must be a string/);
  assert.equal(normalizeJobInput(with_({ max_start_delay: ' 1m30s ' }), executors).max_start_delay, '1m30s');
  assert.equal(normalizeJobInput(with_({ max_start_delay: '250ms' }), executors).max_start_delay, '250ms');
  assert.equal(normalizeJobInput(with_({ max_start_delay: '' }), executors).max_start_delay, '');
  assert.equal(normalizeJobInput(with_({ max_start_delay: null }), executors).max_start_delay, '');
});

void test('number fields', () => {
  rejects(with_({ retries: -1 }), 'retries', /^retries must not be negative$/);
  rejects(with_({ retries: 1.5 }), 'retries', /^retries must be a whole number$/);
  rejects(with_({ retries: '2' }), 'retries', /^retries: .*number/);
  rejects(with_({ history_limit: -1 }), 'history_limit', /must not be negative/);
});

void test('executor errors', () => {
  rejects(with_({ executor: 'teleport' }), 'executor', /unknown executor "teleport" \(available: shell\)/);
  rejects({ name: 'x', schedule: '@every 1s' }, 'executor', /executor is required/);
  rejects(with_({ executor: '' }), 'executor', /executor is required/);
  rejects(with_({ executor_config: {} }), 'executor_config.command', /command is required/);
  rejects(with_({ executor_config: null }), 'executor_config.command', /command is required/);
  rejects(with_({ executor_config: { command: 'x', timeout: 'foreverandever' } }), 'executor_config.timeout', /Error parsing job timeout value/);
  rejects(with_({ executor_config: { command: 'x', shell: 'yes' } }), 'executor_config.shell', /"true" or "false"/);
  rejects(with_({ executor_config: { command: 'x', env: 'NOEQUALS' } }), 'executor_config.env', /KEY=VALUE/);
  // A legacy command that is empty is reported on the shell config it maps to.
  rejects({ name: 'x', schedule: '@every 1s', command: '' }, 'executor_config.command', /command is required/);
});

void test('wrong types name the field (nested keys too)', () => {
  rejects(with_({ tags: 'role=web' }), 'tags', /^tags: .*record/);
  rejects(with_({ tags: { role: { nested: true } } }), 'tags.role', /^tags\.role: /);
  rejects(with_({ metadata: ['a'] }), 'metadata', /^metadata: /);
  rejects(with_({ disabled: 'true' }), 'disabled', /^disabled: .*boolean/);
  rejects(with_({ schedule: 5 }), 'schedule', /^schedule: /);
  rejects(with_({ executor_config: 'echo hi' }), 'executor_config', /^executor_config: /);
  rejects(with_({ environment_variables: 'A=1' }), 'environment_variables', /^environment_variables: /);
});

void test('times and parents', () => {
  rejects(with_({ starts_at: 'garbage' }), 'starts_at', /starts_at must be an RFC 3339 time .*"garbage"/);
  rejects(with_({ expires_at: '2030-13-45T00:00' }), 'expires_at', /expires_at must be/);
  rejects(with_({ parent_job: 'job' }), 'parent_job', /^the job can not have itself as parent$/);
});

void test('impossible calendar dates are rejected in every time field, as @at rejects them', () => {
  rejects(with_({ starts_at: '2026-02-30T00:00:00Z' }), 'starts_at', /starts_at must be an RFC 3339 time .*"2026-02-30T00:00:00Z"/);
  rejects(with_({ expires_at: '2026-02-29T00:00' }), 'expires_at', /expires_at must be/);
  rejects(with_({ starts_at: '2026-04-31T10:00:00+02:00' }), 'starts_at', /starts_at must be/);
  rejects(with_({ starts_at: '2026-01-01T24:00:00Z' }), 'starts_at', /starts_at must be/);
  rejects(with_({ schedule: '@at 2026-02-30T00:00:00Z' }), 'schedule', /@at/);
  // Real dates still pass, leap day included.
  assert.equal(normalizeJobInput(with_({ starts_at: '2028-02-29T00:00:00Z' }), executors).starts_at, '2028-02-29T00:00:00.000Z');
  assert.equal(normalizeJobInput(with_({ starts_at: '2028-02-29 01:00:00+01:00' }), executors).starts_at, '2028-02-29T00:00:00.000Z');
});

void test('notification fields are validated, naming the field', () => {
  rejects(with_({ notify_on: 'sometimes' }), 'notify_on', /invalid notify_on/);
  rejects(with_({ notify_on: 3 }), 'notify_on', /notify_on must be a string/);
  rejects(with_({ notify_skip: 'yes' }), 'notify_skip', /notify_skip must be true or false/);
  rejects(with_({ slack_webhook_url: 'hooks.slack.com/x' }), 'slack_webhook_url', /http\(s\) URL/);
  const spec = normalizeJobInput(with_({ notify_on: 'change', notify_skip: true, slack_webhook_url: 'https://hooks.example/x', slack_channel: '#ops' }), executors);
  assert.equal(spec.notify_on, 'change');
  assert.equal(spec.notify_skip, true);
  assert.equal(spec.slack_channel, '#ops');
});
