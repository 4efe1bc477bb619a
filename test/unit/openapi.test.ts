/**
 * GET /v1/openapi.json: a valid OpenAPI 3.1 document (checked by a maintained validator) that
 * lists exactly the routes the agent serves, whose request schemas are the zod schemas the API
 * validates with (a body the API refuses, the schema refuses too).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Agent } from '../../src/agent/agent.js';
import { resolveConfig } from '../../src/agent/config.js';
import { silentLogger } from '../../src/util/log.js';
import { SqliteStore } from '../../src/backends/embedded/sqlite-store.js';
import { embeddedBackend } from '../../src/backends/embedded/index.js';
import { servedRoutes } from '../../src/api/openapi/served.js';
import { openapiPath } from '../../src/api/openapi/document.js';

let agent: Agent;
let doc: { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };

before(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-openapi-'));
  // A UI to serve, so its routes are registered too (read when the agent module loads).
  const ui = path.join(dataDir, 'ui');
  fs.mkdirSync(ui);
  fs.writeFileSync(path.join(ui, 'index.html'), '<!doctype html>');
  process.env.KAIROS_UI_DIR = ui;
  const { Agent } = await import('../../src/agent/agent.js');
  const config = resolveConfig({ server: true, 'node-name': 'a1', 'http-addr': '127.0.0.1:0', 'data-dir': dataDir }, {});
  agent = new Agent(config, silentLogger(), embeddedBackend(SqliteStore.open(':memory:')));
  await agent.start();
  const res = await fetch(`http://127.0.0.1:${agent.httpPort}/v1/openapi.json`);
  assert.equal(res.status, 200);
  doc = (await res.json()) as typeof doc;
});

after(async () => {
  await agent?.stop();
});

test('the document is valid OpenAPI 3.1', async () => {
  assert.equal(doc.openapi, '3.1.0');
  const validator = new Validator();
  const result = await validator.validate(doc as unknown as Parameters<Validator['validate']>[0]);
  assert.deepEqual(result.errors ?? [], [], JSON.stringify(result.errors, null, 2));
  assert.equal(result.valid, true);
});

test('every served route is documented, and every documented route is served', () => {
  const server = agent.server;
  assert.ok(server);
  const served = new Set<string>();
  for (const r of servedRoutes(server)) {
    // HEAD mirrors GET, OPTIONS is CORS; the UI's files are covered by `GET /ui/*`.
    if (r.method === 'HEAD' || r.method === 'OPTIONS') continue;
    const url = r.url.startsWith('/ui/') ? '/ui/*' : r.url;
    served.add(`${r.method} ${openapiPath(url)}`);
  }
  const documented = new Set<string>();
  for (const [p, ops] of Object.entries(doc.paths)) for (const m of Object.keys(ops)) documented.add(`${m.toUpperCase()} ${p}`);
  assert.deepEqual([...served].filter((r) => !documented.has(r)).sort(), [], 'served but not documented');
  assert.deepEqual([...documented].filter((r) => !served.has(r)).sort(), [], 'documented but not served');
});

test('request schemas are the ones the API validates with: the API and the schema refuse the same body', async () => {
  const { z } = await import('zod');
  const jobInput = doc.components.schemas.JobInput as { properties: Record<string, { type?: unknown; anyOf?: unknown }>; required: string[] };
  assert.deepEqual(jobInput.required, ['name']);
  assert.ok('executor_config' in jobInput.properties && 'catch_up' in jobInput.properties, 'Kairos fields are described');
  // A JSON Schema validator built from the document: the route refuses a retries string, so does the schema.
  const bad = { name: 'x', schedule: '@every 1m', executor: 'shell', executor_config: { command: 'true' }, retries: 'three' };
  const res = await fetch(`http://127.0.0.1:${agent.httpPort}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bad) });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { field: string }).field, 'retries');
  const schema = z.fromJSONSchema(jobInput as never);
  assert.equal(schema.safeParse(bad).success, false);
  assert.equal(schema.safeParse({ ...bad, retries: 3 }).success, true);
  // The start SLO: in the request and the stored job; a number is refused by both the API and the schema.
  assert.ok('max_start_delay' in jobInput.properties, 'max_start_delay in JobInput');
  assert.ok('max_start_delay' in (doc.components.schemas.Job as { properties: Record<string, unknown> }).properties, 'max_start_delay in Job');
  const badSlo = { ...bad, retries: 3, max_start_delay: 30 };
  const sloRes = await fetch(`http://127.0.0.1:${agent.httpPort}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(badSlo) });
  assert.equal(sloRes.status, 400);
  assert.equal(((await sloRes.json()) as { field: string }).field, 'max_start_delay');
  assert.equal(schema.safeParse(badSlo).success, false);
  assert.equal(schema.safeParse({ ...badSlo, max_start_delay: '30s' }).success, true);
  const bulk = doc.components.schemas.BulkRequest as { properties: Record<string, unknown> };
  assert.deepEqual(Object.keys(bulk.properties).sort(), ['detail', 'dry_run', 'jobs', 'label', 'prune']);
  const refused = await fetch(`http://127.0.0.1:${agent.httpPort}/v1/jobs/bulk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jobs: [], dry_run: 'yes' }) });
  assert.equal(refused.status, 400);
  assert.equal(((await refused.json()) as { field: string }).field, 'dry_run');
  const badDetail = await fetch(`http://127.0.0.1:${agent.httpPort}/v1/jobs/bulk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jobs: [], detail: 'some' }) });
  assert.equal(badDetail.status, 400);
  assert.equal(((await badDetail.json()) as { field: string }).field, 'detail');
  const badLabel = await fetch(`http://127.0.0.1:${agent.httpPort}/v1/jobs/bulk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jobs: [], label: 'no-equals-sign' }) });
  assert.equal(badLabel.status, 400);
  assert.equal(((await badLabel.json()) as { field: string }).field, 'label');
});

test('operations carry the role they need and public routes need no token', () => {
  const op = (p: string, m: string): Record<string, unknown> => doc.paths[p]?.[m] as Record<string, unknown>;
  assert.equal(op('/v1/jobs/{name}/toggle', 'post')['x-kairos-role'], 'operate');
  assert.equal(op('/v1/jobs', 'get')['x-kairos-role'], 'read');
  assert.equal(op('/v1/jobs', 'post')['x-kairos-role'], 'admin');
  assert.deepEqual(op('/health', 'get').security, []);
});
