/** Agent and cluster views: /v1 info, members, leader, isleader, leave, health. */
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { ApiContext } from '../context.js';

export async function clusterRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const info = async () => ({
    agent: { name: ctx.nodeName, version: ctx.version, backend: ctx.backend },
    tags: ctx.tags,
    leader: ctx.cluster.isLeader(),
    leadership_changes: ctx.cluster.leadershipChanges,
  });
  app.get('/v1', info);
  app.get('/v1/', info);

  app.get('/v1/members', async (_request, reply) => {
    const members = await ctx.cluster.members();
    void reply.header('X-Total-Count', String(members.length));
    return members.map((m) => ({ id: randomUUID(), ...m }));
  });

  app.get('/v1/leader', async (_request, reply) => {
    const leader = await ctx.cluster.leader();
    if (!leader) return reply.status(503).send({ error: 'no leader elected at the moment' });
    return leader;
  });

  app.get('/v1/isleader', async (_request, reply) => {
    // A bare string would go out as text/plain; dkron sends a JSON string.
    if (ctx.cluster.isLeader()) return reply.status(200).type('application/json; charset=utf-8').send(JSON.stringify('I am a leader'));
    return reply.status(404).type('application/json; charset=utf-8').send(JSON.stringify('I am a follower'));
  });

  app.post('/v1/leave', async (_request, reply) => {
    const members = await ctx.cluster.members();
    reply.raw.once('finish', () => ctx.leave());
    return members;
  });

  app.get('/health', async (_request, reply) => {
    const report = await ctx.health();
    return reply.status(report.status === 'healthy' ? 200 : 503).send(report);
  });
}
