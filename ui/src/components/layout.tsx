/** The frame of every page: navigation, who is signed in, theme toggle, the reconnecting banner, flash notices. */
import type { ComponentChildren, JSX } from 'preact';
import { useState } from 'preact/hooks';
import { connection } from '../connection.js';
import { flash } from '../flash.js';
import { useStore } from '../hooks.js';
import { href, type Route } from '../router.js';
import { session } from '../session.js';
import { currentTheme, toggleTheme } from '../theme.js';

const NAV: Array<[Route['page'], string, string]> = [
  ['dashboard', 'Dashboard', href.dashboard()],
  ['jobs', 'Jobs', href.jobs()],
  ['busy', 'Running', href.busy()],
  ['members', 'Members', href.members()],
];

export function Layout({ route, children }: { route: Route; children: ComponentChildren }): JSX.Element {
  const conn = useStore(connection);
  const s = useStore(session);
  const f = useStore(flash);
  const [theme, setTheme] = useState(currentTheme());
  const active = route.page === 'job' || route.page === 'edit' || route.page === 'new' ? 'jobs' : route.page;
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href.dashboard()}>
          Kairos
        </a>
        <nav aria-label="Main">
          {NAV.map(([page, label, link]) => (
            <a key={page} href={link} aria-current={active === page ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <div class="who">
          {conn.agent ? <span id="whom">agent: {conn.agent}</span> : null}
          {s.identity && s.identity.name !== 'anonymous' ? (
            <>
              <span id="identity">
                {s.identity.name} ({s.identity.role})
              </span>
              <button type="button" class="link" onClick={() => session.signOut()}>
                Sign out
              </button>
            </>
          ) : null}
          <button type="button" class="icon" aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`} title="Light/dark theme" onClick={() => setTheme(toggleTheme())}>
            {theme === 'dark' ? '☀' : '☾'}
          </button>
        </div>
      </header>
      {!conn.online ? (
        <div class="banner" role="status" id="reconnecting">
          Reconnecting to the agent… ({conn.reason}). The data below is from the last successful load.
        </div>
      ) : null}
      {f.message ? (
        <div class={`flash flash-${f.kind}`} role="status" id="flash">
          {f.message}
        </div>
      ) : null}
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
