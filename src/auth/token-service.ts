/** Creating, listing and revoking API tokens: one service for the API and the `kairos token` command. */
import type { Store, StoredToken } from '../store/types.js';
import { KairosError, NotFoundError } from '../errors/catalogue.js';
import { auditEntry, type Actor } from '../core/audit.js';
import { iso } from '../job/time.js';
import { generateToken, hashToken, parseRole, parseScope, validateTokenName } from './tokens.js';

/** What clients see of a token: never the hash. */
export type TokenInfo = Omit<StoredToken, 'hash'>;

export function tokenInfo(t: StoredToken): TokenInfo {
  return { name: t.name, role: t.role, scope: t.scope, created_at: t.created_at, created_by: t.created_by };
}

export class TokenService {
  constructor(private readonly store: Store) {}

  /** Creates a token; the secret is in the result and nowhere else, ever. */
  async create(input: { name: unknown; role: unknown; scope?: unknown }, actor: Actor): Promise<TokenInfo & { token: string }> {
    const name = validateTokenName(input.name);
    const role = parseRole(input.role);
    const scope = parseScope(input.scope);
    if (Object.keys(actor.scope).length > 0) {
      throw new KairosError('KAIROS_OUT_OF_SCOPE', `token "${actor.name}" is scoped and cannot manage tokens`);
    }
    const secret = generateToken();
    const stored: StoredToken = { name, role, scope, hash: hashToken(secret), created_at: iso(Date.now()), created_by: actor.name };
    const audit = auditEntry(actor, 'token.create', null, { detail: { token: name, role, scope } });
    if (!(await this.store.createToken(stored, audit))) {
      throw new KairosError('KAIROS_TOKEN_EXISTS', `a token named "${name}" already exists; revoke it first or pick another name`, 'name');
    }
    return { ...tokenInfo(stored), token: secret };
  }

  async list(): Promise<TokenInfo[]> {
    return (await this.store.listTokens()).map(tokenInfo);
  }

  async revoke(name: string, actor: Actor): Promise<TokenInfo> {
    if (Object.keys(actor.scope).length > 0) {
      throw new KairosError('KAIROS_OUT_OF_SCOPE', `token "${actor.name}" is scoped and cannot manage tokens`);
    }
    const audit = auditEntry(actor, 'token.revoke', null, { detail: { token: name } });
    const deleted = await this.store.deleteToken(name, audit);
    if (!deleted) throw new NotFoundError(`no API token named "${name}"`, 'name', 'KAIROS_TOKEN_NOT_FOUND');
    return tokenInfo(deleted);
  }
}
