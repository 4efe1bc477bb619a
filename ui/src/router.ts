/**
 * Hash routes (the agent serves one static page; a reload or a shared link lands on the same view):
 *   #/                 dashboard         #/jobs?q=&status=&...   jobs list
 *   #/jobs/NAME        job page          #/jobs/NAME/edit        editor      #/new   new job
 *   #/members          members           #/busy                  running now
 *   #/busy?section=queued                    running now, scrolled to the runs waiting for capacity
 */
import { Emitter } from './emitter.js';

export type Route =
  | { page: 'dashboard' }
  | { page: 'jobs'; query: URLSearchParams }
  | { page: 'job'; name: string; query: URLSearchParams }
  | { page: 'edit'; name: string }
  | { page: 'new'; query: URLSearchParams }
  | { page: 'members' }
  | { page: 'busy'; query: URLSearchParams }
  | { page: 'not-found'; path: string };

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const [path = '/', search = ''] = raw.split('?', 2) as [string, string?];
  const query = new URLSearchParams(search);
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  if (parts.length === 0) return { page: 'dashboard' };
  const [first, second, third] = parts;
  if (first === 'jobs' && parts.length === 1) return { page: 'jobs', query };
  if (first === 'jobs' && second !== undefined && parts.length === 2) return { page: 'job', name: second, query };
  if (first === 'jobs' && second !== undefined && third === 'edit' && parts.length === 3) return { page: 'edit', name: second };
  if (first === 'new' && parts.length === 1) return { page: 'new', query };
  if (first === 'members' && parts.length === 1) return { page: 'members' };
  if (first === 'busy' && parts.length === 1) return { page: 'busy', query };
  return { page: 'not-found', path };
}

export const href = {
  dashboard: (): string => '#/',
  jobs: (query?: Record<string, string>): string => `#/jobs${query && Object.keys(query).length ? `?${new URLSearchParams(query).toString()}` : ''}`,
  job: (name: string): string => `#/jobs/${encodeURIComponent(name)}`,
  edit: (name: string): string => `#/jobs/${encodeURIComponent(name)}/edit`,
  newJob: (): string => '#/new',
  members: (): string => '#/members',
  busy: (section?: 'queued'): string => (section ? `#/busy?section=${section}` : '#/busy'),
};

class Router extends Emitter {
  route: Route = parseRoute(location.hash);

  constructor() {
    super();
    window.addEventListener('hashchange', () => {
      this.route = parseRoute(location.hash);
      this.emit();
    });
  }

  go(hash: string): void {
    if (location.hash === hash) {
      this.route = parseRoute(hash);
      this.emit();
    } else {
      location.hash = hash;
    }
  }

  /** Change the query of the current view without a history entry per keystroke. */
  replace(hash: string): void {
    history.replaceState(null, '', hash);
    this.route = parseRoute(hash);
    this.emit();
  }
}

export const router = new Router();
