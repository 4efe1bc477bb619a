/**
 * Errors that carry an HTTP meaning. The API maps them to `{error, field}`
 * bodies; anything else is a bug and becomes a 500 with a logged stack.
 */
export { ValidationError } from '../job/schema.js';

export class NotFoundError extends Error {
  readonly status = 404;
  constructor(
    message: string,
    readonly field = '',
  ) {
    super(message);
  }
}

export class ConflictError extends Error {
  readonly status = 409;
  constructor(
    message: string,
    readonly field = '',
  ) {
    super(message);
  }
}

export class UnavailableError extends Error {
  readonly status = 503;
}
