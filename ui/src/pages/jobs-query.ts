/**
 * The jobs list's view state (filters, sort, page) and its two spellings: the hash query
 * (#/jobs?q=&tags=&page=..., so reload, back and shared links land on the same view) and the
 * /v1/jobs query (server-side paging: only one page of rows is ever fetched).
 */

export const PAGE_SIZES = [25, 50, 100] as const;

export interface JobsView {
  q: string;
  status: string;
  /** '' any, 'false' enabled only, 'true' disabled only (the API's `disabled`). */
  disabled: string;
  /** "k=v, k2=v2": every tag must match. */
  tags: string;
  owner: string;
  executor: string;
  sort: string;
  order: 'ASC' | 'DESC';
  page: number;
  per: number;
}

export const DEFAULT_VIEW: JobsView = { q: '', status: '', disabled: '', tags: '', owner: '', executor: '', sort: 'name', order: 'ASC', page: 1, per: 25 };

export function parseView(query: URLSearchParams): JobsView {
  const per = Number(query.get('per'));
  return {
    q: query.get('q') ?? '',
    status: query.get('status') ?? '',
    disabled: query.get('disabled') ?? '',
    tags: query.get('tags') ?? '',
    owner: query.get('owner') ?? '',
    executor: query.get('executor') ?? '',
    sort: query.get('sort') || 'name',
    order: query.get('order') === 'DESC' ? 'DESC' : 'ASC',
    page: Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1),
    per: (PAGE_SIZES as readonly number[]).includes(per) ? per : DEFAULT_VIEW.per,
  };
}

/** Only what differs from the default, so the plain list keeps the plain #/jobs. */
export function viewHash(v: JobsView): string {
  const p = new URLSearchParams();
  for (const key of Object.keys(DEFAULT_VIEW) as Array<keyof JobsView>) {
    if (v[key] !== DEFAULT_VIEW[key]) p.set(key, String(v[key]));
  }
  const qs = p.toString();
  return `#/jobs${qs ? `?${qs}` : ''}`;
}

export function isFiltered(v: JobsView): boolean {
  return Boolean(v.q || v.status || v.disabled || v.tags.trim() || v.owner || v.executor);
}

/** `team=web, env=prod` → ['team=web', 'env=prod'] (what the API's repeatable `tags` takes). */
export function tagPairs(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function badTagPair(text: string): string | null {
  return tagPairs(text).find((p) => p.indexOf('=') <= 0) ?? null;
}

export function apiQuery(v: JobsView): Record<string, string | number> {
  const start = (v.page - 1) * v.per;
  const q: Record<string, string | number> = { _start: start, _end: start + v.per, _sort: v.sort, _order: v.order };
  if (v.q) q.q = v.q;
  if (v.status) q.status = v.status;
  if (v.disabled) q.disabled = v.disabled;
  if (v.owner) q.owner = v.owner;
  if (v.executor) q.executor = v.executor;
  // A half-typed pair would be a 400: it is flagged in the form and left out until complete.
  const tags = tagPairs(v.tags).filter((p) => p.indexOf('=') > 0);
  if (tags.length) q.tags = tags.join(',');
  return q;
}

/**
 * Writes the view into the address bar without the router: a router change re-renders the
 * whole app and moves focus to <main>, which would pull focus out of the search box or the
 * sort button the user is on. Back/forward still fire hashchange and the page re-reads the view.
 * `push` keeps a history entry (filters, sort, page); typing replaces it.
 */
export function writeHash(v: JobsView, push: boolean): void {
  const hash = viewHash(v);
  if (location.hash === hash) return;
  if (push) history.pushState(null, '', hash);
  else history.replaceState(null, '', hash);
}
