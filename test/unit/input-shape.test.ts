/**
 * plainJobInput, the check that lets most job input skip zod, may only accept what zod accepts,
 * with the same values. Every field of the schema, given every kind of JSON value, is compared
 * with zod's verdict.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plainJobInput } from '../../src/job/input-shape.js';
import { jobInputSchema, normalizeJobInput, ValidationError } from '../../src/job/schema.js';
import { ExecutorRegistry } from '../../src/executors/registry.js';
import { builtinExecutors } from '../../src/executors/builtin.js';

const BASE = {
  id: 'x',
  name: 'nightly',
  displayname: 'Nightly',
  timezone: 'Europe/Berlin',
  schedule: '0 0 3 * * *',
  owner: 'ops',
  owner_email: 'ops@example.com',
  disabled: false,
  tags: { role: 'web:1' },
  metadata: { team: 'ops' },
  retries: 2,
  parent_job: '',
  depends_on: [],
  concurrency: 'forbid',
  executor: 'shell',
  executor_config: { command: 'true' },
  ephemeral: false,
  starts_at: '2030-01-01T00:00:00Z',
  expires_at: '2031-01-01T00:00:00Z',
  catch_up: 'latest',
  starting_deadline: '1m',
  history_limit: 10,
  max_start_delay: '5s',
  notify_on: 'failure',
  notify_skip: true,
  slack_webhook_url: 'https://hooks.example.com/x',
  slack_channel: '#ops',
  command: 'true',
  shell: true,
  environment_variables: ['A=1'],
  dependent_jobs: ['child'],
  something_unknown: { any: [1, 2] },
};

const VALUES: unknown[] = [
  'text',
  '',
  0,
  1,
  -1,
  1.5,
  2 ** 60,
  true,
  false,
  {},
  { a: 'x' },
  { a: 1 },
  { a: true },
  { a: { b: 'c' } },
  { a: ['x'] },
  [],
  ['x'],
  ['x', 1],
  [null],
  [{}],
  undefined,
  JSON.parse('{"__proto__": {"polluted": "yes"}}'),
];

const FIELDS = [...Object.keys(BASE), 'processors', 'resources'];

function verdicts(input: Record<string, unknown>): void {
  const fast = plainJobInput(input);
  const slow = jobInputSchema.safeParse(input);
  if (fast === null) return;
  assert.ok(slow.success, `plainJobInput accepted what zod refuses: ${JSON.stringify(input)} (${slow.success ? '' : slow.error.issues[0]?.message})`);
  for (const [k, v] of Object.entries(slow.data)) {
    assert.deepEqual((fast as Record<string, unknown>)[k], v, `field ${k} differs for ${JSON.stringify(input)}`);
  }
}

test('plainJobInput accepts only what zod accepts, with the same values', () => {
  assert.notEqual(plainJobInput(BASE), null, 'the plain shape is taken without zod');
  verdicts(BASE);
  for (const field of FIELDS) {
    for (const value of VALUES) {
      verdicts({ ...BASE, [field]: value });
      const without: Record<string, unknown> = { ...BASE };
      delete without.name;
      verdicts({ ...without, [field]: value });
    }
  }
});

test('plainJobInput leaves processors, resources and odd objects to zod', () => {
  assert.equal(plainJobInput({ ...BASE, processors: {} }), null);
  assert.equal(plainJobInput({ ...BASE, resources: { cpu: 1 } }), null);
  assert.equal(plainJobInput({ ...BASE, metadata: { a: 1 } }), null, 'numbers in a string map are stringified by zod');
  assert.equal(plainJobInput(Object.create({ name: 'inherited' }) as object), null);
  assert.equal(plainJobInput({ ...BASE, name: undefined }), null);
});

test('normalizeJobInput gives the same job through either path, and zod still names the field', () => {
  const executors = new ExecutorRegistry();
  for (const e of builtinExecutors()) executors.register(e);
  const input = { name: 'n', schedule: '@every 1m', executor: 'shell', executor_config: { command: 'true', shell: 'true' }, metadata: { a: 'b' } };
  const plain = normalizeJobInput(input, executors);
  // A number in the string map: zod's path, which stringifies it.
  const viaZod = normalizeJobInput({ ...input, executor_config: { command: 'true', shell: true } }, executors);
  assert.deepEqual(viaZod, plain);
  assert.throws(() => normalizeJobInput({ ...input, retries: -1 }, executors), (err: unknown) => err instanceof ValidationError && err.field === 'retries' && /negative/.test(err.message));
  assert.throws(() => normalizeJobInput({ ...input, tags: { a: {} } }, executors), (err: unknown) => err instanceof ValidationError && err.field.startsWith('tags'));
});
