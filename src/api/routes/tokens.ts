/** /v1/tokens (admin): create (the secret is shown once), list, revoke. /v1/auth/whoami for anyone signed in. */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';

export async function tokenRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get('/v1/auth/whoami', async (request) => {
    const p = request.principal;
    return {
      name: p.name,
      role: p.role,
      scope: p.scope,
      via: p.via,
      auth_required: ctx.security.auth === 'required' || (await ctx.registry.anyTokens()),
    };
  });

  app.get('/v1/tokens', async (_request, reply) => {
    const tokens = await ctx.tokens.list();
    void reply.header('X-Total-Count', String(tokens.length));
    return tokens;
  });

  app.post('/v1/tokens', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const created = await ctx.tokens.create({ name: body.name, role: body.role, scope: body.scope }, request.principal);
    ctx.registry.invalidate();
    ctx.log.info({ token: created.name, role: created.role, by: request.principal.name }, 'api: API token created');
    void reply.status(201).header('Cache-Control', 'no-store');
    return created;
  });

  app.delete<{ Params: { name: string } }>('/v1/tokens/:name', async (request) => {
    const revoked = await ctx.tokens.revoke(request.params.name, request.principal);
    ctx.registry.invalidate();
    ctx.log.info({ token: revoked.name, by: request.principal.name }, 'api: API token revoked');
    return revoked;
  });
}
