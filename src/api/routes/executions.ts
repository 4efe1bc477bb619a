/** Execution history of a job: list (paged, sorted, output trimmed on request), one, delete all. */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { NotFoundError } from '../../core/errors.js';
import { ValidationError } from '../../job/schema.js';
import { intParam, pageParams } from '../paging.js';
import { wireExecution, type WireExecution } from '../wire.js';
import type { Execution } from '../../job/types.js';
import { auditEntry, tagsInScope } from '../../core/audit.js';

type Query = Record<string, string | string[] | undefined>;
type NameParams = { name: string };

const SORTS = { id: 'started_at', started_at: 'started_at', finished_at: 'finished_at', attempt: 'attempt' } as const;

/** Keep the last `limit` characters, as dkron's `output_size_limit` does. */
function trimOutput(e: Execution, limit: number | undefined): WireExecution {
  if (limit === undefined || e.output.length <= limit) return wireExecution({ ...e, output_truncated: false });
  return wireExecution({ ...e, output: e.output.slice(e.output.length - limit), output_truncated: true });
}

/**
 * dkron returns every kept execution (its UI asks for `_end=25` but has no paginator, so honouring
 * it would hide runs): `_start`/`_end` are ignored here; Kairos clients page with `offset`/`limit`.
 */
function executionPage(q: Query): { start?: number; end?: number } {
  const offset = intParam(q, 'offset');
  const limit = intParam(q, 'limit');
  const start = offset ?? 0;
  return { ...(offset !== undefined ? { start } : {}), ...(limit !== undefined ? { end: start + limit } : {}) };
}

export async function executionRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get<{ Params: NameParams }>('/v1/jobs/:name/executions', async (request, reply) => {
    const q = request.query as Query;
    await ctx.jobs.getRaw(request.params.name, request.principal);
    const sortRaw = (Array.isArray(q._sort) ? q._sort[0] : q._sort) ?? 'started_at';
    const sort = SORTS[sortRaw as keyof typeof SORTS];
    if (!sort) throw new ValidationError('_sort', `cannot sort executions by "${sortRaw}" (use started_at, finished_at or attempt)`);
    const orderRaw = Array.isArray(q._order) ? q._order[0] : q._order;
    const order = orderRaw === undefined || orderRaw.toUpperCase() === 'DESC' ? 'desc' : 'asc';
    const limit = intParam(q, 'output_size_limit');
    const page = await ctx.store.listExecutions(request.params.name, { sort, order, ...executionPage(q) });
    void reply.header('X-Total-Count', String(page.total));
    return page.items.map((e) => trimOutput(e, limit));
  });

  app.delete<{ Params: NameParams }>('/v1/jobs/:name/executions', async (request) => {
    const name = request.params.name;
    await ctx.jobs.getRaw(name, request.principal);
    const deleted = await ctx.store.deleteExecutions(name);
    await ctx.store.appendAudit(auditEntry(request.principal, 'job.executions.delete', name, { detail: { deleted } }));
    await ctx.store.updateJob(name, (j) =>
      j ? { ...j, success_count: 0, error_count: 0, last_success: null, last_error: null, status: '' } : undefined,
    );
    return ctx.jobs.get(name, request.principal);
  });

  app.get<{ Params: NameParams & { id: string } }>('/v1/jobs/:name/executions/:id', async (request) => {
    await ctx.jobs.getRaw(request.params.name, request.principal);
    const e = await ctx.store.getExecution(request.params.name, request.params.id);
    if (!e) throw new NotFoundError(`execution "${request.params.id}" of job "${request.params.name}" not found`, '', 'KAIROS_EXECUTION_NOT_FOUND');
    return wireExecution(e);
  });

  // Ticks that did not run, and why (newest first): forbid overlaps, no matching agent, gaps with no leader...
  app.get<{ Params: NameParams }>('/v1/jobs/:name/skips', async (request, reply) => {
    await ctx.jobs.getRaw(request.params.name, request.principal);
    const page = await ctx.store.listSkips(request.params.name, pageParams(request.query as Query));
    void reply.header('X-Total-Count', String(page.total));
    return page.items;
  });

  app.get('/v1/busy', async (request, reply) => {
    let running = (await ctx.busy()).sort((a, b) => a.started_at.localeCompare(b.started_at));
    const scope = request.principal.scope;
    if (Object.keys(scope).length > 0) {
      const visible = new Set<string>();
      for (const name of new Set(running.map((e) => e.job_name))) {
        const job = await ctx.store.getJob(name);
        if (job && tagsInScope(job.tags, scope)) visible.add(name);
      }
      running = running.filter((e) => visible.has(e.job_name));
    }
    void reply.header('X-Total-Count', String(running.length));
    return running.map(wireExecution);
  });
}
