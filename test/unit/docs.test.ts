/**
 * The reference pages generated from the code are current: an option or a route added without
 * `npm run docs` fails here, naming the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { apiReference, configurationReference } from '../../src/docs/reference.js';
import { AGENT_OPTIONS } from '../../src/agent/options.js';

const read = (name: string): string => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

test('docs/configuration.md is generated from the current options (run `npm run docs`)', () => {
  assert.equal(read('configuration.md'), configurationReference());
  for (const o of AGENT_OPTIONS) assert.ok(read('configuration.md').includes(`\`--${o.name}`), o.name);
});

test('docs/api.md is generated from the current routes (run `npm run docs`)', () => {
  assert.equal(read('api.md'), apiReference());
  assert.match(read('api.md'), /\| POST \| `\/v1\/jobs\/\{name\}\/toggle` \| operate \|/);
});
