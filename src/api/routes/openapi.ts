/** GET /v1/openapi.json: the API described as OpenAPI 3.1 (src/api/openapi/). */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { openapiDocument } from '../openapi/document.js';

export async function openapiRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  let doc: string | null = null;
  app.get('/v1/openapi.json', async (_request, reply) => {
    // Built once: the routes and schemas don't change while the agent runs.
    doc ??= JSON.stringify(openapiDocument(ctx.version));
    return reply.type('application/json; charset=utf-8').send(doc);
  });
}
