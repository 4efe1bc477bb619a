/** Small pieces every page uses. API data is only ever rendered as text (JSX escapes it). */
import type { ComponentChildren, JSX } from 'preact';
import type { ApiError } from '../api.js';

export function isZeroTime(iso: string | null | undefined): boolean {
  return !iso || iso.startsWith('0001-01-01');
}

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 86400_000],
  ['month', 30 * 86400_000],
  ['day', 86400_000],
  ['hour', 3600_000],
  ['minute', 60_000],
  ['second', 1000],
];
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "3 minutes ago" / "in 2 hours". */
export function relativeTime(ms: number, now = Date.now()): string {
  const diff = ms - now;
  for (const [unit, size] of UNITS) {
    if (Math.abs(diff) >= size || unit === 'second') return relative.format(Math.round(diff / size), unit);
  }
  return '';
}

/** A relative time; the exact time with its zone on hover (and for screen readers, in datetime). */
export function Time({ iso, zone }: { iso: string | null | undefined; zone?: string }): JSX.Element {
  if (isZeroTime(iso)) return <span class="muted">never</span>;
  const ms = Date.parse(iso as string);
  if (Number.isNaN(ms)) return <span>{iso}</span>;
  const tz = zone || Intl.DateTimeFormat().resolvedOptions().timeZone;
  const exact = new Date(ms).toLocaleString(undefined, { timeZone: tz, timeZoneName: 'short' });
  return (
    <time dateTime={iso as string} title={`${exact} (${tz})`}>
      {relativeTime(ms)}
    </time>
  );
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  if (m < 60) return `${m}m ${s}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function Badge({ kind, children }: { kind: string; children: ComponentChildren }): JSX.Element {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}

export function StatusBadge({ status }: { status: string }): JSX.Element {
  const s = status || 'untriggered';
  return <Badge kind={s}>{s.replace(/_/g, ' ')}</Badge>;
}

export function Tags({ tags }: { tags: Record<string, string> | null | undefined }): JSX.Element | null {
  const entries = Object.entries(tags ?? {});
  if (entries.length === 0) return null;
  return (
    <span class="tags">
      {entries.map(([k, v]) => (
        <span class="chip" key={k}>
          {k}={v}
        </span>
      ))}
    </span>
  );
}

export function ErrorPanel({ error }: { error: ApiError | Error | null }): JSX.Element | null {
  if (!error) return null;
  const field = (error as ApiError).field;
  return (
    <div class="error" role="alert">
      {error.message}
      {field ? <span class="field"> (field: {field})</span> : null}
    </div>
  );
}

export function Pager({ label, page, pages, go }: { label: string; page: number; pages: number; go: (page: number) => void }): JSX.Element | null {
  if (pages <= 1) return null;
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" disabled={page <= 1} onClick={() => go(page - 1)}>
        ‹ Newer
      </button>
      <span>
        page {page} of {pages}
      </span>
      <button type="button" disabled={page >= pages} onClick={() => go(page + 1)}>
        Older ›
      </button>
    </nav>
  );
}

/** A section with a heading; `actions` sit on the heading's line. */
export function Section({ title, actions, children, id }: { title: string; actions?: ComponentChildren; children: ComponentChildren; id?: string }): JSX.Element {
  return (
    <section class="card" id={id} aria-label={title}>
      <header class="section-head">
        <h2>{title}</h2>
        {actions ? <div class="actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}
