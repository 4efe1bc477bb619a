/** Cluster-wide switches and bulk import: pause/unpause, restore. */
import { findCycle, parentField, parentsOf } from '../../job/parents.js';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { ValidationError } from '../../job/schema.js';
import { normalizeJobInput } from '../../job/schema.js';
import { auditEntry } from '../../core/audit.js';

export async function adminRoutes(app: FastifyInstance, ctx: ApiContext, executors: Parameters<typeof normalizeJobInput>[1]): Promise<void> {
  const paused = async () => ({ paused: (await ctx.store.getSetting('paused')) === 'true' });
  app.get('/v1/pause', paused);
  app.post('/v1/pause', async (request) => {
    await ctx.store.setSetting('paused', 'true', auditEntry(request.principal, 'cluster.pause', null));
    ctx.log.info({ by: request.principal.name }, 'api: job submissions paused (cluster-wide)');
    return paused();
  });
  app.post('/v1/unpause', async (request) => {
    await ctx.store.setSetting('paused', null, auditEntry(request.principal, 'cluster.unpause', null));
    ctx.log.info('api: job submissions resumed');
    return paused();
  });

  // dkron's restore: a multipart `file` holding a JSON array of jobs (a GET /v1/jobs dump).
  // A raw JSON array body is accepted too. The whole file is validated before anything is written.
  app.post('/v1/restore', async (request) => {
    let jobs: unknown;
    if (request.isMultipart()) {
      let text: string | null = null;
      for await (const part of request.parts()) {
        if (part.type === 'file' && part.fieldname === 'file') text = (await part.toBuffer()).toString('utf8');
      }
      if (text === null) throw new ValidationError('file', 'multipart field "file" with the jobs JSON is missing');
      try {
        jobs = JSON.parse(text);
      } catch (err) {
        throw new ValidationError('file', `Unable to parse payload: ${(err as Error).message}`);
      }
    } else {
      jobs = request.body;
    }
    if (!Array.isArray(jobs)) throw new ValidationError('file', 'expected a JSON array of jobs');
    const names = new Set<string>();
    const place = await executors.placement?.();
    const specs = jobs.map((j, i) => {
      try {
        const spec = normalizeJobInput(j, executors);
        const problem = place?.(spec);
        if (problem) throw new ValidationError(problem.field, problem.message);
        names.add(spec.name);
        return spec;
      } catch (err) {
        if (err instanceof ValidationError) throw new ValidationError(err.field ? `[${i}].${err.field}` : `[${i}]`, `job ${i}: ${err.message}`);
        throw err;
      }
    });
    for (const s of specs) {
      for (const p of parentsOf(s)) {
        if (!names.has(p) && !(await ctx.store.getJob(p))) {
          throw new ValidationError(parentField(s), `job "${s.name}": parent "${p}" is neither in the file nor stored`);
        }
      }
    }
    const byName = new Map(specs.map((s) => [s.name, s]));
    // A loop inside the file would pass the checks above and then fail job by job after a partial import.
    for (const s of specs) {
      const cycle = await findCycle(s.name, parentsOf(s), (n) => {
        const f = byName.get(n);
        return f ? parentsOf(f) : undefined;
      });
      if (cycle) throw new ValidationError(parentField(s), `job "${s.name}": ${parentField(s)} would create a cycle: ${cycle.join(' -> ')}`);
    }
    // Parents before children, so every parent exists when its child is linked.
    const done = new Set<string>();
    const ordered: typeof specs = [];
    const visit = (name: string, depth: number): void => {
      const s = byName.get(name);
      if (!s || done.has(name) || depth > specs.length) return;
      for (const p of parentsOf(s)) visit(p, depth + 1);
      done.add(name);
      ordered.push(s);
    };
    for (const s of specs) visit(s.name, 0);
    const results: string[] = [];
    for (const s of ordered) {
      const raw = jobs.find((j) => (j as { name?: string }).name === s.name);
      try {
        await ctx.jobs.upsert(raw, request.principal, { via: 'restore' });
        results.push(`success create ${s.name}`);
      } catch (err) {
        results.push(`fail create ${s.name}: ${(err as Error).message}`);
      }
    }
    await ctx.store.appendAudit(auditEntry(request.principal, 'cluster.restore', null, { detail: { jobs: ordered.length, results } }));
    return results;
  });
}
