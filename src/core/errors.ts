/** Errors that carry an HTTP meaning live in the one catalogue; re-exported for the core's callers. */
export { ConflictError, KairosError, NotFoundError, UnavailableError, ValidationError } from '../errors/catalogue.js';
