/** Page through the jobs (server-side): first/previous/next/last and the page size. */
import type { JSX } from 'preact';
import { PAGE_SIZES, type JobsView } from './jobs-query.js';

export function JobsPager({ view, pages, change }: { view: JobsView; pages: number; change: (patch: Partial<JobsView>, push: boolean) => void }): JSX.Element {
  const go = (page: number): void => change({ page: Math.min(Math.max(1, page), pages) }, true);
  return (
    <nav class="pager jobs-pager" aria-label="Jobs pages">
      <label class="per">
        Per page{' '}
        <select value={String(view.per)} onChange={(ev) => change({ per: Number(ev.currentTarget.value), page: 1 }, true)}>
          {PAGE_SIZES.map((n) => (
            <option key={n} value={String(n)}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <button type="button" disabled={view.page <= 1} onClick={() => go(1)} aria-label="First page">
        «
      </button>
      <button type="button" disabled={view.page <= 1} onClick={() => go(view.page - 1)}>
        ‹ Previous
      </button>
      <span class="muted">
        Page {Math.min(view.page, pages)} of {pages}
      </span>
      <button type="button" disabled={view.page >= pages} onClick={() => go(view.page + 1)}>
        Next ›
      </button>
      <button type="button" disabled={view.page >= pages} onClick={() => go(pages)} aria-label="Last page">
        »
      </button>
    </nav>
  );
}
