/**
 * The API's front door, one `onRequest` hook, in this order:
 * 1. Host check: an agent bound to loopback answers only Host names that are
 *    loopback, so a DNS-rebinding page can't reach it through its own name.
 * 2. CORS: off unless --cors-origin lists the caller's origin; only listed
 *    origins get CORS headers (and preflights).
 * 3. Cross-site refusal: a state-changing request from a browser on another
 *    origin (its Origin or Sec-Fetch-Site says so) is refused with 403, whatever
 *    its Content-Type. curl, scripts and the CLI send neither header and pass.
 * 4. Authentication: once a token exists (or --auth required) every route but
 *    /health and the static UI needs `Authorization: Bearer <token>`.
 * 5. Authorisation: the route's role (permissions.ts), the token's scope for
 *    cluster-wide routes, and the run-now rate per token.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import type { Role } from '../store/types.js';
import type { Actor } from '../core/audit.js';
import type { TokenRegistry } from '../auth/token-registry.js';
import { roleAllows } from '../auth/tokens.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../errors/catalogue.js';
import { errorBody } from './errors.js';
import { CLUSTER_WIDE, RUN_ROUTES, requiredRole } from './permissions.js';
import { RateLimiter } from './rate-limit.js';
import { isLoopbackHost } from '../util/net.js';

export interface Principal extends Actor {
  role: Role;
  /** How the caller was identified. */
  via: 'token' | 'certificate' | 'anonymous';
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

export interface GuardOptions {
  auth: 'auto' | 'required';
  corsOrigins: string[];
  https: boolean;
  /** The agent listens on loopback only: enables the Host check. */
  loopback: boolean;
  /** --tls-client-ca: every connection carries a verified client certificate. */
  clientCertificates: boolean;
  runRatePerMin: number;
  registry: TokenRegistry;
  onLimitHit: (limit: string) => void;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const ANONYMOUS: Principal = { name: 'anonymous', role: 'admin', scope: {}, via: 'anonymous' };
const EXPOSED_HEADERS = 'X-Total-Count, X-Whom, Location, Retry-After';

function refuse(reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  return reply.status(ERROR_CATALOGUE[code].status).send(errorBody(code, message));
}

export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined || host === '') return true; // HTTP/1.0 sends none; nothing to rebind
  return isLoopbackHost(host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, ''));
}

/** The route pattern the request matched, or its path when none did (404s are still guarded). */
function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? request.url.split('?')[0] ?? '/';
}

export function installGuard(app: FastifyInstance, options: GuardOptions): void {
  const allowed = new Set(options.corsOrigins);
  const runLimiter = new RateLimiter(options.runRatePerMin);
  app.decorateRequest('principal', null as unknown as Principal);

  app.addHook('onRequest', async (request, reply) => {
    request.principal = ANONYMOUS;
    const headers = request.headers;
    if (options.loopback && !isLoopbackHostHeader(headers.host)) {
      return refuse(reply, 'KAIROS_HOST_NOT_ALLOWED', `this agent listens on loopback and answers only loopback host names, not "${headers.host}"`);
    }

    const origin = typeof headers.origin === 'string' ? headers.origin : undefined;
    const listed = origin !== undefined && allowed.has(origin);
    if (listed) {
      void reply.header('Access-Control-Allow-Origin', origin).header('Vary', 'Origin').header('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    }
    if (request.method === 'OPTIONS' && headers['access-control-request-method'] !== undefined) {
      // A preflight: only a listed origin learns what it may send; others get no CORS headers, so the browser stops.
      if (listed) {
        void reply
          .header('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS')
          .header('Access-Control-Allow-Headers', 'Authorization, Content-Type')
          .header('Access-Control-Max-Age', '600');
      }
      return reply.status(204).send();
    }

    if (!SAFE_METHODS.has(request.method)) {
      const self = `${options.https ? 'https' : 'http'}://${headers.host ?? ''}`;
      const site = headers['sec-fetch-site'];
      const crossOrigin = origin !== undefined ? origin !== self && !listed : site === 'cross-site' || site === 'same-site';
      if (crossOrigin) {
        return refuse(
          reply,
          'KAIROS_CROSS_ORIGIN',
          `cross-origin ${request.method} from ${origin ?? `a ${String(site)} page`} refused: this API changes state only for its own origin and --cors-origin origins`,
        );
      }
    }

    const route = routeOf(request);
    const need = requiredRole(request.method, route);
    if (need === null) return;

    const principal = await authenticate(request, options);
    if (principal instanceof Error) return refuse(reply, principal.code, principal.message);
    request.principal = principal;

    if (!roleAllows(principal.role, need)) {
      return refuse(reply, 'KAIROS_ROLE_TOO_LOW', `${request.method} ${route} needs the ${need} role; token "${principal.name}" has ${principal.role}`);
    }
    const key = `${request.method} ${route}`;
    if (Object.keys(principal.scope).length > 0 && CLUSTER_WIDE.has(key)) {
      return refuse(reply, 'KAIROS_OUT_OF_SCOPE', `token "${principal.name}" is scoped to tags and cannot call the cluster-wide ${key}`);
    }
    if (RUN_ROUTES.has(key)) {
      const caller = principal.via === 'anonymous' ? `ip:${request.ip}` : `${principal.via}:${principal.name}`;
      const wait = runLimiter.take(caller);
      if (wait > 0) {
        options.onLimitHit('run-rate-limit');
        void reply.header('Retry-After', String(wait));
        return refuse(reply, 'KAIROS_RATE_LIMITED', `run-now rate limit reached: ${options.runRatePerMin} per minute (--run-rate-limit); retry in ${wait} s`);
      }
    }
  });
}

class AuthFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

async function authenticate(request: FastifyRequest, options: GuardOptions): Promise<Principal | AuthFailure> {
  const header = request.headers.authorization;
  const certName = options.clientCertificates ? peerName(request) : null;
  const required = options.auth === 'required' || (await options.registry.anyTokens());
  if (header === undefined || header === '') {
    if (!required) return certName ? { ...ANONYMOUS, name: `cert:${certName}`, via: 'certificate' } : ANONYMOUS;
    return new AuthFailure('KAIROS_AUTH_REQUIRED', 'this agent requires an API token: send "Authorization: Bearer <token>" (kairos token create makes one)');
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  // With no token in the cluster, a stray header (a proxy's basic auth) is not an error.
  if (!m) {
    if (!required) return ANONYMOUS;
    return new AuthFailure('KAIROS_AUTH_INVALID', 'the Authorization header must be "Bearer <token>"');
  }
  const token = await options.registry.lookup(m[1] as string);
  if (!token) {
    if (!required) return ANONYMOUS;
    return new AuthFailure('KAIROS_AUTH_INVALID', 'the API token is not valid here (unknown or revoked)');
  }
  return { name: token.name, role: token.role, scope: token.scope, via: 'token' };
}

function peerName(request: FastifyRequest): string | null {
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function') return null;
  const cert = socket.getPeerCertificate();
  const cn = cert?.subject?.CN;
  return typeof cn === 'string' && cn !== '' ? cn : null;
}
