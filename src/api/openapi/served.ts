/** The routes a server actually registered (fastify's onRoute), for the OpenAPI coverage test. */
import type { FastifyInstance } from 'fastify';

const served = new WeakMap<FastifyInstance, Array<{ method: string; url: string }>>();

/** Call before any route is registered. */
export function recordRoutes(app: FastifyInstance): void {
  const list: Array<{ method: string; url: string }> = [];
  served.set(app, list);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) list.push({ method, url: route.url });
  });
}

export function servedRoutes(app: FastifyInstance): Array<{ method: string; url: string }> {
  return [...(served.get(app) ?? [])];
}
