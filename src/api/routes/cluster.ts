/** Agent and cluster views: /v1 info, members, leader, isleader, leave, health. */
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { ApiContext } from '../context.js';
import { errorBody } from '../errors.js';
import { auditEntry } from '../../core/audit.js';

export async function clusterRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const info = async () => ({
    agent: { name: ctx.nodeName, version: ctx.version, backend: ctx.backend },
    tags: ctx.tags,
    leader: ctx.cluster.isLeader(),
    leadership_changes: ctx.cluster.leadershipChanges,
    security: await securityStatus(ctx),
    limit_hits: ctx.limitHits,
  });
  app.get('/v1', info);
  app.get('/v1/', info);

  app.get('/v1/members', async (_request, reply) => {
    const members = await ctx.cluster.members();
    void reply.header('X-Total-Count', String(members.length));
    return members.map((m) => ({ id: randomUUID(), ...m }));
  });

  // Ticks the leader holds until an agent has room (capacity), from its member record: any agent answers.
  app.get('/v1/queue', async (_request, reply) => {
    const queued = (await ctx.cluster.members()).flatMap((m) => m.queued ?? []);
    void reply.header('X-Total-Count', String(queued.length));
    return queued;
  });

  // This agent's executors and processors (every member's names are in /v1/members).
  app.get('/v1/plugins', async (_request, reply) => {
    const plugins = ctx.plugins();
    void reply.header('X-Total-Count', String(plugins.length));
    return plugins.map((p) => ({ ...p, node: ctx.nodeName }));
  });

  app.get('/v1/leader', async (_request, reply) => {
    const leader = await ctx.cluster.leader();
    if (!leader) return reply.status(503).send(errorBody('KAIROS_NO_LEADER', 'no leader elected at the moment'));
    return leader;
  });

  app.get('/v1/isleader', async (_request, reply) => {
    // A bare string would go out as text/plain; dkron sends a JSON string.
    if (ctx.cluster.isLeader()) return reply.status(200).type('application/json; charset=utf-8').send(JSON.stringify('I am a leader'));
    return reply.status(404).type('application/json; charset=utf-8').send(JSON.stringify('I am a follower'));
  });

  app.post('/v1/leave', async (request, reply) => {
    const members = await ctx.cluster.members();
    await ctx.store.appendAudit(auditEntry(request.principal, 'agent.leave', null, { detail: { node: ctx.nodeName } }));
    reply.raw.once('finish', () => ctx.leave());
    return members;
  });

  app.get('/health', async (_request, reply) => {
    const report = await ctx.health();
    return reply.status(report.status === 'healthy' ? 200 : 503).send(report);
  });
}

/** What `GET /v1` says of this agent's exposure: the warning printed at start, kept visible. */
export async function securityStatus(ctx: ApiContext): Promise<Record<string, unknown>> {
  const tokens = ctx.security.auth === 'required' || (await ctx.registry.anyTokens().catch(() => true));
  const exposed = !ctx.security.loopback && !tokens && !ctx.security.clientCertificates;
  return {
    auth: tokens ? 'tokens' : 'none',
    client_certificates: ctx.security.clientCertificates,
    loopback_only: ctx.security.loopback,
    cors_origins: ctx.security.corsOrigins,
    ...(exposed ? { warning: exposureWarning() } : {}),
  };
}

export function exposureWarning(): string {
  return 'this agent listens beyond loopback with no API token and no client certificates: anyone who can reach it can run commands here (create a token with "kairos token create", or start with --auth required)';
}
