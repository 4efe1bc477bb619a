/** A job's workflow graph (depends_on and parent_job links) and the state of one run of it. */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { ValidationError } from '../../job/schema.js';
import { parseRfc3339 } from '../../job/time.js';
import { iso } from '../../job/time.js';
import { workflowGraph } from '../../core/workflow.js';

export async function workflowRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get<{ Params: { name: string }; Querystring: { run?: string } }>('/v1/jobs/:name/workflow', async (request) => {
    const job = await ctx.jobs.getRaw(request.params.name, request.principal);
    const raw = request.query.run;
    let run: string | undefined;
    if (raw !== undefined && raw !== '') {
      const ms = parseRfc3339(raw);
      if (ms === null) throw new ValidationError('run', `run must be an RFC 3339 time (a run key from "runs"), got "${raw}"`);
      run = iso(ms);
    }
    return workflowGraph(ctx.store, job, run);
  });
}
