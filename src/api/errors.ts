/**
 * Every error leaves as JSON `{error, field}` with the right status: client
 * mistakes are 4xx naming the field; only genuine faults are 500, and those are logged.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../util/log.js';

interface HttpishError {
  status?: number;
  statusCode?: number;
  field?: string;
  code?: string;
  message: string;
}

const FASTIFY_CODES: Record<string, { status: number; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, message: 'request body is larger than 1 MiB' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, message: 'request body is empty; expected a JSON object' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400 },
};

export function errorHandler(log: Logger) {
  return (error: FastifyError | HttpishError, request: FastifyRequest, reply: FastifyReply): void => {
    const e = error as HttpishError;
    const mapped = e.code ? FASTIFY_CODES[e.code] : undefined;
    let status = mapped?.status ?? e.status ?? e.statusCode ?? 500;
    let message = mapped?.message ?? e.message;
    if (error instanceof SyntaxError || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      status = 400;
      message = `Unable to parse payload: ${e.message}`;
    }
    // Typed errors carry a deliberate status (503 while paused is not a fault); only the rest are bugs.
    if (status >= 500 && e.status === undefined) {
      log.error({ err: error, url: request.url, method: request.method }, 'api: request failed');
    } else if (status === 503) {
      log.warn({ url: request.url, method: request.method, err: message }, 'api: request refused: service unavailable');
    }
    // `field` is always present ('' when no single field is at fault) so clients can read it without a check.
    void reply.status(status).send({ error: message, field: e.field ?? '' });
  };
}
