/**
 * Every error leaves as JSON `{error, message, code, field}` with the status
 * of its catalogue code: client mistakes are 4xx naming the field; only genuine
 * faults are 500 (`KAIROS_INTERNAL`), and those are logged with their stack.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../util/log.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../errors/catalogue.js';

interface HttpishError {
  status?: number;
  statusCode?: number;
  field?: string;
  code?: string;
  message: string;
}

export interface ErrorBody {
  error: string;
  message: string;
  code: ErrorCode;
  field: string;
}

export function errorBody(code: ErrorCode, message: string, field = ''): ErrorBody {
  return { error: message, message, code, field };
}

/** Fastify's own errors, mapped onto the catalogue. */
const FASTIFY_CODES: Record<string, { code: ErrorCode; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'KAIROS_BODY_TOO_LARGE', message: 'request body is larger than 1 MiB' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'KAIROS_UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'KAIROS_VALIDATION', message: 'request body is empty; expected a JSON object' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'KAIROS_BAD_REQUEST' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'KAIROS_INVALID_JSON' },
};

function isCatalogued(code: string | undefined): code is ErrorCode {
  return code !== undefined && Object.hasOwn(ERROR_CATALOGUE, code);
}

/** The catalogue code and message of any error thrown while handling a request. */
export function classify(error: FastifyError | HttpishError): { code: ErrorCode; message: string; field: string } {
  const e = error as HttpishError;
  if (error instanceof SyntaxError || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { code: 'KAIROS_INVALID_JSON', message: `Unable to parse payload: ${e.message}`, field: '' };
  }
  if (isCatalogued(e.code)) return { code: e.code, message: e.message, field: e.field ?? '' };
  const mapped = e.code ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) return { code: mapped.code, message: mapped.message ?? e.message, field: '' };
  const status = e.statusCode ?? e.status;
  // A 4xx from a plugin (multipart limits, a parser) is the client's doing.
  if (status !== undefined && status >= 400 && status < 500) return { code: status === 413 ? 'KAIROS_BODY_TOO_LARGE' : 'KAIROS_BAD_REQUEST', message: e.message, field: '' };
  return { code: 'KAIROS_INTERNAL', message: e.message, field: '' };
}

export function errorHandler(log: Logger) {
  return (error: FastifyError | HttpishError, request: FastifyRequest, reply: FastifyReply): void => {
    const { code, message, field } = classify(error);
    const status = ERROR_CATALOGUE[code].status;
    if (code === 'KAIROS_INTERNAL') {
      log.error({ err: error, url: request.url, method: request.method }, 'api: request failed');
    } else if (status === 503) {
      log.warn({ url: request.url, method: request.method, err: message }, 'api: request refused: service unavailable');
    }
    void reply.status(status).send(errorBody(code, message, field));
  };
}
