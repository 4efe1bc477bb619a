/**
 * Which role each route needs: one table, read by the guard and by the test
 * that checks every (route, role) pair. A route not listed needs `read` for
 * GET/HEAD and `admin` for anything else, so a new route is safe by default.
 */
import type { Role } from '../store/types.js';

/** Routes anyone may call, token or not: liveness and the static UI (it holds no data). */
const PUBLIC = new Set(['GET /health', 'HEAD /health', 'GET /', 'GET /ui', 'GET /ui/*', 'HEAD /ui/*']);

const ROLES: Record<string, Role> = {
  // operate: run and switch jobs, pause submissions; no definitions change.
  'POST /v1/jobs/:name': 'operate',
  'POST /v1/jobs/:name/run': 'operate',
  'POST /v1/jobs/:name/toggle': 'operate',
  'POST /v1/jobs/:name/backfill': 'operate',
  'DELETE /v1/jobs/:name/backfills/:id': 'operate',
  'POST /v1/pause': 'operate',
  'POST /v1/unpause': 'operate',
  // read: a POST that only computes (validates a schedule, lists its next runs).
  'POST /v1/schedule/preview': 'read',
  // admin reads: token names and roles are management data.
  'GET /v1/tokens': 'admin',
};

/** Run-now routes: limited per token by --run-rate-limit. */
export const RUN_ROUTES = new Set(['POST /v1/jobs/:name', 'POST /v1/jobs/:name/run']);

/** Routes that change the whole cluster rather than a job: a token scoped to tags may not call them. */
export const CLUSTER_WIDE = new Set(['POST /v1/pause', 'POST /v1/unpause', 'POST /v1/restore', 'POST /v1/leave', 'POST /v1/tokens', 'DELETE /v1/tokens/:name', 'GET /v1/tokens']);

/** `null`: public. `route` is the route pattern (`/v1/jobs/:name`), or the raw path when no route matched. */
export function requiredRole(method: string, route: string): Role | null {
  const key = `${method} ${route}`;
  if (PUBLIC.has(key)) return null;
  // The UI's files (each served by its own route): the sign-in screen must load without a token.
  if ((method === 'GET' || method === 'HEAD') && route.startsWith('/ui/')) return null;
  if (method === 'OPTIONS') return null;
  const listed = ROLES[key];
  if (listed) return listed;
  return method === 'GET' || method === 'HEAD' ? 'read' : 'admin';
}
