/**
 * The OpenAPI 3.1 document (GET /v1/openapi.json): paths from the route table (routes.ts), request
 * bodies from the zod schemas that validate them, responses from schemas.ts; JSON Schema by zod's
 * own generator (z.toJSONSchema, draft 2020-12, which OpenAPI 3.1 uses as is).
 */
import { z } from 'zod';
import { jobInputSchema } from '../../job/schema.js';
import { bulkRequestSchema } from '../../core/bulk.js';
import { requiredRole } from '../permissions.js';
import { auditSchema, errorSchema, executionSchema, healthSchema, jobSchema, memberSchema, pluginSchema, skipSchema, workflowSchema, backfillViewSchema, queuedSchema } from './schemas.js';
import { backfillRequestSchema } from '../../core/backfills.js';
import { ROUTES, type RouteDoc, type SchemaRef } from './routes.js';

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
  return rest;
}

function components(): Record<Exclude<SchemaRef, 'Any'>, Json> {
  return {
    Job: jsonSchema(jobSchema, 'output'),
    JobInput: jsonSchema(jobInputSchema, 'input'),
    BulkRequest: jsonSchema(bulkRequestSchema, 'input'),
    Execution: jsonSchema(executionSchema, 'output'),
    Member: jsonSchema(memberSchema, 'output'),
    Skip: jsonSchema(skipSchema, 'output'),
    Audit: jsonSchema(auditSchema, 'output'),
    Plugin: jsonSchema(pluginSchema, 'output'),
    Error: jsonSchema(errorSchema, 'output'),
    Health: jsonSchema(healthSchema, 'output'),
    Workflow: jsonSchema(workflowSchema, 'output'),
    Queued: jsonSchema(queuedSchema, 'output'),
    BackfillRequest: jsonSchema(backfillRequestSchema, 'input'),
    Backfill: jsonSchema(backfillViewSchema, 'output'),
  };
}

function ref(name: SchemaRef, array = false): Json {
  const one = name === 'Any' ? {} : { $ref: `#/components/schemas/${name}` };
  return array ? { type: 'array', items: one } : one;
}

/** `/v1/jobs/:name` → `/v1/jobs/{name}`; fastify's `*` wildcard → `{path}`. */
export function openapiPath(route: string): string {
  return route.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/\*$/, '{path}');
}

function operation(r: RouteDoc): Json {
  const params = [...r.path.matchAll(/:([A-Za-z_]+)|\*$/g)].map((m) => ({ name: m[1] ?? 'path', in: 'path', required: true, schema: { type: 'string' } }));
  const query = (r.query ?? []).map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: { type: q.type ?? 'string' } }));
  const role = r.role === undefined ? requiredRole(r.method, r.path) : r.role;
  const responses: Json = {};
  for (const [code, [description, schema, array]] of Object.entries(r.responses)) {
    const type = r.contentType && Number(code) < 300 ? r.contentType : 'application/json';
    responses[code] = schema || type !== 'application/json' ? { description, content: { [type]: { schema: schema ? ref(schema, array) : { type: 'string' } } } } : { description };
  }
  if (role !== null) responses['401'] = { description: 'a token is required (once the agent has tokens) or was refused', content: { 'application/json': { schema: ref('Error') } } };
  return {
    operationId: `${r.method.toLowerCase()}${r.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    summary: r.summary,
    tags: [r.tag],
    ...(params.length + query.length > 0 ? { parameters: [...params, ...query] } : {}),
    ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(r.body) } } } } : {}),
    responses,
    ...(role === null ? { security: [] } : { 'x-kairos-role': role }),
  };
}

export function openapiDocument(version: string, routes: RouteDoc[] = ROUTES): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const p = openapiPath(r.path);
    paths[p] = { ...(paths[p] ?? {}), [r.method.toLowerCase()]: operation(r) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kairos API',
      version,
      description: "dkron's /v1 API with Kairos' additions. Errors are `{error, message, code, field}` (docs/errors.md).",
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/' }],
    tags: ['jobs', 'executions', 'cluster', 'admin', 'auth', 'meta', 'ui'].map((name) => ({ name })),
    paths,
    components: {
      schemas: components(),
      securitySchemes: { token: { type: 'http', scheme: 'bearer', description: 'an API token (kairos token create); required once the agent has one' } },
    },
    security: [{ token: [] }],
  };
}
