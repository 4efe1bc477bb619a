/** GET /v1/audit: who changed what, newest first (`?job=NAME`, `_start`/`_end` paging). */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { pageParams } from '../paging.js';
import { tagsInScope } from '../../core/audit.js';
import type { AuditEntry } from '../../store/types.js';

type Query = Record<string, string | string[] | undefined>;

function tagsOf(def: Record<string, unknown> | null): Record<string, string> | null {
  const tags = def?.tags;
  return tags && typeof tags === 'object' ? (tags as Record<string, string>) : null;
}

export async function auditRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get('/v1/audit', async (request, reply) => {
    const q = request.query as Query;
    const job = Array.isArray(q.job) ? q.job[q.job.length - 1] : q.job;
    const scope = request.principal.scope;
    const page = { ...pageParams(q) };
    if (Object.keys(scope).length === 0) {
      const result = await ctx.store.listAudit({ ...(job ? { job } : {}), ...page });
      void reply.header('X-Total-Count', String(result.total));
      return result.items;
    }
    // A scoped token sees the entries of jobs inside its scope (by either side of the change), nothing cluster-wide.
    if (job) await ctx.jobs.getRaw(job, request.principal);
    const all = await ctx.store.listAudit(job ? { job } : {});
    const visible = all.items.filter(
      (e: AuditEntry) =>
        e.job !== null && ((e.after !== null && tagsInScope(tagsOf(e.after), scope)) || (e.before !== null && tagsInScope(tagsOf(e.before), scope))),
    );
    void reply.header('X-Total-Count', String(visible.length));
    return visible.slice(page.start ?? 0, page.end ?? visible.length);
  });
}
