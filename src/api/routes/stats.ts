/** Dashboard activity: executions and skips over time, recent failures (GET /v1/stats). */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';

export async function statsRoutes(_app: FastifyInstance, _ctx: ApiContext): Promise<void> {
  // Filled in with the web UI rebuild.
}
