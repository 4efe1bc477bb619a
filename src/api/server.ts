/**
 * The HTTP API (dkron's /v1 surface) and the UI, on Fastify. Bodies are read
 * as JSON whatever the Content-Type (dkron does the same, and `curl -d`
 * without a header sends form encoding), capped at 1 MiB. That is safe only
 * because the guard (guard.ts) refuses state changes from other origins first.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import multipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import type { ApiContext } from './context.js';
import type { ServerOptions as HttpsOptions } from 'node:https';
import { errorBody, errorHandler } from './errors.js';
import { installGuard } from './guard.js';
import { tokenRoutes } from './routes/tokens.js';
import { auditRoutes } from './routes/audit.js';
import { jobRoutes } from './routes/jobs.js';
import { streamRoutes } from './routes/stream.js';
import { openapiRoutes } from './routes/openapi.js';
import { recordRoutes } from './openapi/served.js';
import { statsRoutes } from './routes/stats.js';
import { scheduleRoutes } from './routes/schedule.js';
import { executionRoutes } from './routes/executions.js';
import { clusterRoutes } from './routes/cluster.js';
import { adminRoutes } from './routes/admin.js';
import { bulkRoutes } from './routes/bulk.js';
import { workflowRoutes } from './routes/workflow.js';
import { backfillRoutes } from './routes/backfill.js';
import type { ExecutorCatalog } from '../job/schema.js';

export const BODY_LIMIT = 1024 * 1024;

export async function buildServer(ctx: ApiContext, executors: ExecutorCatalog, https: HttpsOptions | null = null): Promise<FastifyInstance> {
  // Job names may be 200 characters (400 UTF-16 units when astral); the router's
  // default cap of 100 would answer 414 for jobs the API itself accepted.
  const app = Fastify({
    logger: false,
    ...(https ? { https } : {}),
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 1024 },
    // Router-level rejections (a bad %-escape in the path) get the same error body as the rest.
    // The onSend hook below doesn't run for these, so its header is set here.
    // (The callback's reply type is parameterised on a route schema it doesn't have; widen it.)
    frameworkErrors: (error, _request, reply) => {
      void (reply as FastifyReply)
        .status(error.statusCode ?? 400)
        .header('X-Whom', ctx.nodeName)
        .send(errorBody('KAIROS_BAD_REQUEST', error.message));
    },
  });
  recordRoutes(app);
  installGuard(app, {
    ...ctx.security,
    https: https !== null,
    registry: ctx.registry,
    onLimitHit: (limit) => ctx.countLimitHit(limit),
  });

  app.removeAllContentTypeParsers();
  const parseJson = (_req: unknown, body: string, done: (err: Error | null, value?: unknown) => void): void => {
    if (body.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body));
    } catch (err) {
      (err as { statusCode?: number }).statusCode = 400;
      done(err as Error);
    }
  };
  app.addContentTypeParser('*', { parseAs: 'string' }, parseJson);
  await app.register(multipart, { limits: { fileSize: BODY_LIMIT, files: 1 } });

  app.setErrorHandler(errorHandler(ctx.log));
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(errorBody('KAIROS_ROUTE_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`));
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url !== '/health') void reply.header('X-Whom', ctx.nodeName);
    const q = request.query as Record<string, unknown> | undefined;
    if (q && 'pretty' in q && typeof payload === 'string' && String(reply.getHeader('content-type')).includes('json')) {
      try {
        return `${JSON.stringify(JSON.parse(payload), null, 2)}\n`;
      } catch {
        return payload;
      }
    }
    return payload;
  });
  // Preflights are answered by the guard; a plain OPTIONS just lists the methods.
  app.options('/*', async (_request, reply) => reply.header('Allow', 'GET, POST, PUT, PATCH, DELETE, OPTIONS').status(204).send());

  await openapiRoutes(app, ctx);
  await jobRoutes(app, ctx);
  await bulkRoutes(app, ctx, executors);
  await executionRoutes(app, ctx);
  await workflowRoutes(app, ctx);
  await backfillRoutes(app, ctx);
  await streamRoutes(app, ctx);
  await statsRoutes(app, ctx);
  await scheduleRoutes(app, ctx);
  await clusterRoutes(app, ctx);
  await adminRoutes(app, ctx, executors);
  await tokenRoutes(app, ctx);
  await auditRoutes(app, ctx);
  const metrics = ctx.metrics;
  if (metrics) {
    // A GET: the guard gives it the read role when tokens exist, like the rest of the API.
    app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()));
  }

  app.get('/', async (request, reply) => {
    if (ctx.uiDir && String(request.headers.accept ?? '').includes('text/html')) return reply.redirect('/ui/', 303);
    return reply.status(404).send(errorBody('KAIROS_ROUTE_NOT_FOUND', 'see /v1 for the API and /ui/ for the web UI'));
  });
  const uiDir = ctx.uiDir;
  if (uiDir) {
    // The built UI (dist/ui): hashed routes, so every view is index.html plus its assets. ETags, and
    // max-age 0 so an upgraded agent's UI is picked up at once; no directory listing, no dotfiles.
    await app.register(fastifyStatic, { root: uiDir, prefix: '/ui/', wildcard: false, maxAge: 0, index: ['index.html'], dotfiles: 'deny' });
    app.get('/ui', async (_request, reply) => reply.redirect('/ui/', 301));
    // An unknown path under /ui/ (an old bookmark) gets the app, which shows its own "not found".
    app.get('/ui/*', async (_request, reply) => reply.sendFile('index.html'));
  }
  return app;
}
