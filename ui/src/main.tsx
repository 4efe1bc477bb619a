/**
 * Kairos web UI: Preact, bundled by esbuild (scripts/build-ui.mjs) into dist/ui/app.js, served by
 * every agent at /ui/. Nothing is fetched from anywhere but this agent. See docs/decisions.md.
 */
import './style.css';
import { render } from 'preact';
import { App } from './app.js';
import { api, ApiError } from './api.js';
import { session, type Identity } from './session.js';
import { applyStoredTheme } from './theme.js';

applyStoredTheme();

async function start(): Promise<void> {
  try {
    session.setIdentity((await api<Identity>('GET', 'auth/whoami')).data);
  } catch (err) {
    // 401: the sign-in screen is up (api.ts). Anything else: the pages show their own errors.
    if (!(err instanceof ApiError) || err.status !== 401) session.setIdentity(null);
  }
}

const root = document.getElementById('app');
if (root) {
  root.replaceChildren();
  render(<App />, root);
}
void start();
