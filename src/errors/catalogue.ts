/**
 * The one error catalogue (Fastify's FST_ERR_* is the model): every error the
 * API answers with has a stable code, an HTTP status and a one-line meaning.
 * Clients and tests match on `code`, never on the text. Every layer throws
 * `KairosError` (or a subclass); the API turns it into
 * `{"error", "message", "code", "field"}` (`message` repeats `error` so generic
 * admin UIs such as react-admin show the reason).
 *
 * docs/errors.md lists the same table; test/unit/error-catalogue.test.ts checks
 * the two agree, so they can't drift.
 */

export const ERROR_CATALOGUE = {
  // 400
  KAIROS_VALIDATION: { status: 400, meaning: 'a field of the request is invalid; `field` names it' },
  KAIROS_INVALID_JSON: { status: 400, meaning: 'the request body is not valid JSON' },
  KAIROS_BAD_REQUEST: { status: 400, meaning: 'the request itself is malformed (a bad %-escape in the path, a bad Content-Length)' },
  // 401
  KAIROS_AUTH_REQUIRED: { status: 401, meaning: 'this agent requires an API token (`Authorization: Bearer <token>`) and none was sent' },
  KAIROS_AUTH_INVALID: { status: 401, meaning: 'the token sent is not a valid token of this cluster (unknown, revoked or malformed)' },
  // 403
  KAIROS_ROLE_TOO_LOW: { status: 403, meaning: "the token's role does not allow this request (read < operate < admin)" },
  KAIROS_OUT_OF_SCOPE: { status: 403, meaning: "the token is scoped to tags, and this request concerns a job or a cluster-wide setting outside them" },
  KAIROS_CROSS_ORIGIN: { status: 403, meaning: 'a browser on another origin tried to change state; allow that origin with --cors-origin' },
  KAIROS_HOST_NOT_ALLOWED: { status: 403, meaning: 'the Host header names another host than this loopback-bound agent (DNS rebinding protection)' },
  KAIROS_LIMIT_MAX_JOBS: { status: 403, meaning: 'the cluster already stores --max-jobs jobs' },
  // 404
  KAIROS_ROUTE_NOT_FOUND: { status: 404, meaning: 'no such route' },
  KAIROS_JOB_NOT_FOUND: { status: 404, meaning: 'no such job (or it is outside the token\'s scope)' },
  KAIROS_PARENT_NOT_FOUND: { status: 404, meaning: 'the job names a parent_job or depends_on job that does not exist' },
  KAIROS_EXECUTION_NOT_FOUND: { status: 404, meaning: 'no such execution of that job' },
  KAIROS_TOKEN_NOT_FOUND: { status: 404, meaning: 'no API token of that name' },
  KAIROS_BACKFILL_NOT_FOUND: { status: 404, meaning: 'no backfill of that id on that job (the last 10 are kept)' },
  // 409
  KAIROS_JOB_HAS_DEPENDENTS: { status: 409, meaning: 'the job has dependent jobs; delete them or change their parent_job or depends_on first' },
  KAIROS_RUN_REFUSED: { status: 409, meaning: 'run-now was refused: a forbid overlap, no agent matching the tags, or outside the job\'s window' },
  KAIROS_TOKEN_EXISTS: { status: 409, meaning: 'an API token of that name already exists' },
  KAIROS_BACKFILL_NOT_RUNNING: { status: 409, meaning: 'the backfill has ended (done or cancelled): there is nothing to cancel' },
  // 413, 415, 429
  KAIROS_BODY_TOO_LARGE: { status: 413, meaning: 'the request body is larger than the 1 MiB limit' },
  KAIROS_UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'the request body has a media type the API does not read' },
  KAIROS_RATE_LIMITED: { status: 429, meaning: 'too many run-now requests for this token (--run-rate-limit per minute); `Retry-After` says when to retry' },
  // 5xx
  KAIROS_INTERNAL: { status: 500, meaning: 'a bug: the agent logged the stack; please report it' },
  KAIROS_PAUSED: { status: 503, meaning: 'job submissions are paused cluster-wide (POST /v1/unpause)' },
  KAIROS_NO_LEADER: { status: 503, meaning: 'no leader is elected at the moment' },
  KAIROS_STORE_UNAVAILABLE: { status: 503, meaning: 'the backend (etcd, ZooKeeper) cannot be reached; agents keep running and retry' },
  KAIROS_AUTH_UNAVAILABLE: { status: 503, meaning: 'tokens cannot be checked because the store has not answered since the agent started' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error with a catalogue code: the API answers with its status; anything else is a 500 bug. */
export class KairosError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field = '',
  ) {
    super(message);
    this.name = 'KairosError';
    this.status = ERROR_CATALOGUE[code].status;
  }
}

/** A problem with client input, reported as HTTP 400 naming the field. */
export class ValidationError extends KairosError {
  constructor(field: string, message: string) {
    super('KAIROS_VALIDATION', message, field);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends KairosError {
  constructor(message: string, field = '', code: Extract<ErrorCode, `KAIROS_${string}NOT_FOUND`> = 'KAIROS_JOB_NOT_FOUND') {
    super(code, message, field);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends KairosError {
  constructor(message: string, field = '', code: ErrorCode = 'KAIROS_RUN_REFUSED') {
    super(code, message, field);
    this.name = 'ConflictError';
  }
}

export class UnavailableError extends KairosError {
  constructor(message: string, code: Extract<ErrorCode, 'KAIROS_PAUSED' | 'KAIROS_NO_LEADER' | 'KAIROS_STORE_UNAVAILABLE' | 'KAIROS_AUTH_UNAVAILABLE'> = 'KAIROS_STORE_UNAVAILABLE') {
    super(code, message);
    this.name = 'UnavailableError';
  }
}
