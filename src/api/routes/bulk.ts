/**
 * POST /v1/jobs/bulk: many job definitions at once, all validated before any is
 * written (400 listing every invalid job), then written as one batch.
 * Body: {"jobs": [...], "prune": {"label": "k=v"} | null, "dry_run": bool}.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import type { ExecutorCatalog } from '../../job/schema.js';
import { UnavailableError } from '../../core/errors.js';
import { applyBulk, BulkValidationError } from '../../core/bulk.js';
import { errorBody } from '../errors.js';

/** A bulk body may be far larger than one job: 100k jobs are ~40 MB of JSON. */
export const BULK_BODY_LIMIT = 128 * 1024 * 1024;

export async function bulkRoutes(app: FastifyInstance, ctx: ApiContext, executors: ExecutorCatalog): Promise<void> {
  app.post('/v1/jobs/bulk', { bodyLimit: BULK_BODY_LIMIT }, async (request, reply) => {
    if ((await ctx.store.getSetting('paused')) === 'true') {
      throw new UnavailableError('New job submissions are currently paused', 'KAIROS_PAUSED');
    }
    try {
      return await applyBulk(ctx.store, executors, ctx.jobs.jobLimits, request.body, request.principal);
    } catch (err) {
      if (err instanceof BulkValidationError) return reply.status(400).send({ ...errorBody('KAIROS_VALIDATION', err.message, err.field), errors: err.errors });
      throw err;
    }
  });
}
