/**
 * Checks presented API tokens against the ones stored in the cluster's store.
 * The list is small and read at most once a second (per agent), so a token
 * created or revoked through any agent takes effect everywhere within about a
 * second without a watch (and an unknown token triggers a re-read, so a token
 * made through another agent works at once). While the store is unreachable the last list read
 * stays in force; before any list was read, requests get 503 (fail closed).
 */
import type { Store, StoredToken } from '../store/types.js';
import { UnavailableError } from '../errors/catalogue.js';
import { hashToken, isWellFormedToken } from './tokens.js';

const MISS_REREAD_MS = 100;

export interface TokenRegistryOptions {
  /** How old the cached list may be before a request re-reads it. */
  maxAgeMs?: number;
  onStale?: (err: Error) => void;
}

export class TokenRegistry {
  private byHash = new Map<string, StoredToken>();
  private loadedAt = -Infinity;
  private missReloadAt = -Infinity;
  private loaded = false;
  private loading: Promise<void> | null = null;
  private readonly maxAgeMs: number;

  constructor(
    private readonly store: Store,
    private readonly options: TokenRegistryOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 1000;
  }

  /** Whether any token exists (auth is then required in `auto` mode). */
  async anyTokens(): Promise<boolean> {
    await this.fresh();
    return this.byHash.size > 0;
  }

  /** The stored token a secret belongs to, or null. */
  async lookup(secret: string): Promise<StoredToken | null> {
    if (!isWellFormedToken(secret)) return null;
    await this.fresh();
    const hash = hashToken(secret);
    const found = this.byHash.get(hash);
    if (found) return found;
    // Maybe created through another agent a moment ago: re-read, at most every MISS_REREAD_MS, so
    // a stream of bad tokens costs the store a bounded number of reads.
    if (Date.now() - this.missReloadAt < MISS_REREAD_MS) return null;
    this.missReloadAt = Date.now();
    this.invalidate();
    await this.fresh();
    return this.byHash.get(hash) ?? null;
  }

  /** Forget the cached list (after a token write through this agent, so it applies at once here). */
  invalidate(): void {
    this.loadedAt = -Infinity;
  }

  private async fresh(): Promise<void> {
    if (Date.now() - this.loadedAt < this.maxAgeMs) return;
    this.loading ??= this.reload().finally(() => (this.loading = null));
    await this.loading;
  }

  private async reload(): Promise<void> {
    try {
      const tokens = await this.store.listTokens();
      this.byHash = new Map(tokens.map((t) => [t.hash, t]));
      this.loaded = true;
      this.loadedAt = Date.now();
    } catch (err) {
      if (!this.loaded) {
        throw new UnavailableError(`API tokens cannot be checked: ${(err as Error).message}`, 'KAIROS_AUTH_UNAVAILABLE');
      }
      this.options.onStale?.(err as Error);
      // Keep the last list for a while instead of hammering a store that is away.
      this.loadedAt = Date.now();
    }
  }
}
