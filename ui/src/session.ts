/**
 * Who is signed in. Once the agent has API tokens, a 401 asks for one; the token lives only in
 * sessionStorage (this tab, until it closes or "Sign out"), never localStorage or the URL.
 * Buttons follow the role from /v1/auth/whoami (read < operate < admin); the server enforces it anyway.
 */
import { Emitter } from './emitter.js';

const TOKEN_KEY = 'kairos.token';
const RANK = { read: 1, operate: 2, admin: 3 } as const;
export type Role = keyof typeof RANK;

export interface Identity {
  name: string;
  role: Role;
  scope?: Record<string, string>;
  auth_required?: boolean;
}

function stored(): string {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

class Session extends Emitter {
  token = stored();
  identity: Identity | null = null;
  /** Set when the agent asked for a token: the sign-in screen shows, with this message. */
  signIn: { message: string } | null = null;
  /** Whether /v1/auth/whoami has answered (or failed with something other than a 401). */
  settled = false;

  /**
   * Whether the role allows `need`. Not asked yet: no (a read token must not see write controls
   * while a reload asks who it is). Unknown because whoami failed: allow (the server decides).
   */
  can(need: Role): boolean {
    if (!this.identity) return this.settled;
    return (RANK[this.identity.role] ?? 0) >= RANK[need];
  }

  setToken(token: string): void {
    try {
      if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
      else window.sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // storage disabled: the token lives for this page only
    }
    this.token = token;
    this.emit();
  }

  setIdentity(identity: Identity | null): void {
    this.identity = identity;
    this.settled = true;
    this.signIn = null;
    this.emit();
  }

  expired(message: string): void {
    if (this.token) this.setToken('');
    this.identity = null;
    this.signIn = { message };
    this.emit();
  }

  signOut(): void {
    this.setToken('');
    this.identity = null;
    this.signIn = { message: '' };
    this.emit();
  }
}

export const session = new Session();
