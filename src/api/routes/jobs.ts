/** /v1/jobs: dkron's job routes (create/upsert, list, get, delete, run, toggle). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import { UnavailableError } from '../../core/errors.js';
import { ValidationError } from '../../job/schema.js';
import type { JobQuery } from '../../core/jobs.js';
import { pageParams } from '../paging.js';
import { auditEntry, tagsInScope } from '../../core/audit.js';

type Query = Record<string, string | string[] | undefined>;
type NameParams = { name: string };

function one(q: Query, key: string): string | undefined {
  const v = q[key];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/**
 * `tags=k=v`, repeated (`tags=a=1&tags=b=2`) or as a comma list (`tags=a=1,b=2`): a job must
 * carry all of them. A value may contain `=` (split at the first one), not a comma.
 */
export function parseTagFilter(raw: string | string[] | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const item of (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).flatMap((v) => v.split(','))) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ValidationError('tags', `tags filter "${item}" must be key=value`);
    tags[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return tags;
}

export function parseJobQuery(q: Query): JobQuery {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(q)) {
    const m = /^metadata\[(.+)\]$/.exec(k);
    if (m && v !== undefined) metadata[m[1] as string] = Array.isArray(v) ? (v[v.length - 1] as string) : v;
  }
  const order = one(q, '_order');
  return {
    q: one(q, 'q'),
    status: one(q, 'status'),
    disabled: one(q, 'disabled'),
    owner: one(q, 'owner'),
    executor: one(q, 'executor'),
    tags: parseTagFilter(q.tags),
    metadata,
    sort: one(q, '_sort'),
    order: order === 'DESC' || order === 'desc' ? 'desc' : 'asc',
    ...pageParams(q),
  };
}

export async function jobRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const ensureNotPaused = async (): Promise<void> => {
    if ((await ctx.store.getSetting('paused')) === 'true') {
      throw new UnavailableError('New job submissions are currently paused', 'KAIROS_PAUSED');
    }
  };

  const save = async (request: FastifyRequest, reply: FastifyReply, pathName?: string) => {
    await ensureNotPaused();
    let body = request.body;
    if (pathName !== undefined && body && typeof body === 'object' && !Array.isArray(body)) {
      const b = body as Record<string, unknown>;
      if (b.name === undefined) body = { ...b, name: pathName };
      else if (b.name !== pathName) throw new ValidationError('name', `name "${String(b.name)}" in the body does not match "${pathName}" in the path`);
    }
    const job = await ctx.jobs.upsert(body, request.principal);
    const q = request.query as Query;
    if ('runoncreate' in q) {
      const audit = (): ReturnType<typeof auditEntry> => auditEntry(request.principal, 'job.run', job.name, { detail: { trigger: 'runoncreate' } });
      ctx.dispatcher.runNow(job.name, 'manual', { audit }).catch((err: unknown) => {
        ctx.log.warn({ job: job.name, err: (err as Error).message }, 'api: runoncreate could not run the job');
      });
    }
    const base = request.url.split('?')[0]?.replace(/\/$/, '') ?? '/v1/jobs';
    void reply.status(201).header('Location', pathName !== undefined ? base : `${base}/${encodeURIComponent(job.name)}`);
    return job;
  };

  app.get('/v1/jobs', async (request, reply) => {
    const { items, total } = await ctx.jobs.list({ ...parseJobQuery(request.query as Query), scope: request.principal.scope });
    void reply.header('X-Total-Count', String(total));
    return items;
  });
  app.post('/v1/jobs', (request, reply) => save(request, reply));
  app.patch('/v1/jobs', (request, reply) => save(request, reply));
  app.put<{ Params: NameParams }>('/v1/jobs/:name', (request, reply) => save(request, reply, request.params.name));

  app.get<{ Params: NameParams }>('/v1/jobs/:name', async (request) => ctx.jobs.get(request.params.name, request.principal));

  app.delete<{ Params: NameParams }>('/v1/jobs/:name', async (request) => ctx.jobs.delete(request.params.name, request.principal));

  const run = async (request: FastifyRequest<{ Params: NameParams }>, reply: FastifyReply) => {
    const q = request.query as Query;
    const force = one(q, 'force');
    const forced = force === 'true' || force === '1' || force === '';
    const principal = request.principal;
    await ctx.dispatcher.runNow(request.params.name, 'manual', {
      force: forced,
      visible: (job) => tagsInScope(job.tags, principal.scope),
      // Written with the executions, in the dispatch's own transaction.
      audit: (executions) => auditEntry(principal, 'job.run', request.params.name, { detail: { force: forced, executions: executions.map((e) => e.id) } }),
    });
    void reply.status(202).header('Location', request.url.split('?')[0] ?? '');
    return ctx.jobs.get(request.params.name, request.principal);
  };
  app.post<{ Params: NameParams }>('/v1/jobs/:name', run);
  app.post<{ Params: NameParams }>('/v1/jobs/:name/run', run);

  app.post<{ Params: NameParams }>('/v1/jobs/:name/toggle', async (request, reply) => {
    const job = await ctx.jobs.toggle(request.params.name, request.principal);
    void reply.header('Location', request.url.split('?')[0] ?? '');
    return job;
  });
}
