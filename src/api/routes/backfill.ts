/** Backfills of a job: start (or list the ticks with dry_run), list, one, cancel. */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { BackfillService } from '../../core/backfills.js';

type NameParams = { name: string };

export async function backfillRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const backfills = new BackfillService(ctx.store);

  app.post<{ Params: NameParams }>('/v1/jobs/:name/backfill', async (request, reply) => {
    const job = await ctx.jobs.getRaw(request.params.name, request.principal);
    const made = await backfills.create(job, request.body, request.principal);
    if ('dry_run' in made) return made;
    void reply.code(201).header('Location', `/v1/jobs/${encodeURIComponent(job.name)}/backfills/${made.id}`);
    return made;
  });

  app.get<{ Params: NameParams }>('/v1/jobs/:name/backfills', async (request) => {
    return backfills.list(await ctx.jobs.getRaw(request.params.name, request.principal));
  });

  app.get<{ Params: NameParams & { id: string } }>('/v1/jobs/:name/backfills/:id', async (request) => {
    return backfills.get(await ctx.jobs.getRaw(request.params.name, request.principal), request.params.id);
  });

  app.delete<{ Params: NameParams & { id: string } }>('/v1/jobs/:name/backfills/:id', async (request) => {
    return backfills.cancel(await ctx.jobs.getRaw(request.params.name, request.principal), request.params.id, request.principal);
  });
}
