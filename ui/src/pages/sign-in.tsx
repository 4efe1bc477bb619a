/** Shown when the agent wants a token: checks it with /v1/auth/whoami before keeping it. */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { session, type Identity } from '../session.js';

export function SignIn({ message }: { message: string }): JSX.Element {
  const [error, setError] = useState(message);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    document.title = 'Sign in · Kairos';
    input.current?.focus();
  }, []);
  const submit = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    const token = input.current?.value.trim() ?? '';
    if (!token) {
      setError('Enter an API token.');
      return;
    }
    setBusy(true);
    try {
      const who = (await api<Identity>('GET', 'auth/whoami', { token })).data;
      session.setToken(token);
      session.setIdentity(who);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : (err as Error).message);
      input.current?.select();
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="signin card" aria-labelledby="signin-h" noValidate onSubmit={(ev) => void submit(ev)}>
      <h1 id="signin-h">Sign in</h1>
      <p id="signin-help" class="muted small">
        This agent requires an API token. Ask an admin for one, or create one with <code>kairos token create</code>. The token is kept only in this tab
        (session storage) until you sign out or close it.
      </p>
      <label for="signin-token">API token</label>
      <input ref={input} type="password" id="signin-token" name="token" autoComplete="off" spellcheck={false} autoCapitalize="off" aria-describedby="signin-help" aria-invalid={error ? 'true' : undefined} />
      {error ? (
        <div class="error" id="signin-error" role="alert">
          {error}
        </div>
      ) : null}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </div>
    </form>
  );
}
