/**
 * API token secrets, roles and scopes: pure functions shared by the API and
 * the `kairos token` command.
 *
 * A token is `kairos_` + 32 random bytes (base64url). Only its SHA-256 is
 * stored: the secret has 256 bits of entropy, so a slow password hash (bcrypt,
 * argon2) would add cost per request and no safety (docs/decisions.md).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Role } from '../store/types.js';
import { ValidationError } from '../errors/catalogue.js';

export type { Role };

export const ROLES: readonly Role[] = ['read', 'operate', 'admin'];
const TOKEN_PREFIX = 'kairos_';
const TOKEN_RE = /^kairos_[A-Za-z0-9_-]{43}$/;

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Tokens of the wrong shape are refused before any lookup, so a typo reads as "invalid", not "unknown". */
export function isWellFormedToken(token: string): boolean {
  return TOKEN_RE.test(token);
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function parseRole(value: unknown, field = 'role'): Role {
  if (typeof value === 'string' && (ROLES as readonly string[]).includes(value)) return value as Role;
  throw new ValidationError(field, `${field} must be one of ${ROLES.join(', ')}, got ${JSON.stringify(value)}`);
}

/** read < operate < admin: a role allows what every lower role allows. */
export function roleAllows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function validateTokenName(name: unknown): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new ValidationError('name', 'name must be 1-64 letters, digits, "_", "-" or "." (starting with a letter or digit)');
  }
  return name;
}

/** `team=data` pairs (a list or a map) into a scope; an empty scope sees every job. */
export function parseScope(value: unknown, field = 'scope'): Record<string, string> {
  if (value === undefined || value === null) return {};
  const pairs: [string, string][] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      const s = String(item);
      const i = s.indexOf('=');
      if (i <= 0) throw new ValidationError(field, `${field}: expected key=value, got "${s}"`);
      pairs.push([s.slice(0, i), s.slice(i + 1)]);
    }
  } else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (typeof v !== 'string') throw new ValidationError(`${field}.${k}`, `${field}.${k} must be a string`);
      pairs.push([k, v]);
    }
  } else {
    throw new ValidationError(field, `${field} must be a map of tag values`);
  }
  const scope: Record<string, string> = {};
  for (const [k, v] of pairs) {
    if (k === '' || v === '') throw new ValidationError(field, `${field}: keys and values must not be empty`);
    scope[k] = v;
  }
  return scope;
}
