/** Change history from the audit log (GET /v1/audit?job=NAME): who changed what, before → after. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import type { AuditEntry } from '../../../src/store/types.js';
import { Badge, ErrorPanel, Pager, Section, Time } from '../components/common.js';
import { useLoad } from '../hooks.js';

const PAGE = 10;
const MAX_DIFF_LINES = 12;
const POLL_MS = 10_000;
/** Fields the server owns (counters, derived): a change to them is no change to the definition. */
const SERVER_FIELDS = new Set([
  'id', 'success_count', 'error_count', 'last_success', 'last_error', 'dependent_jobs', 'status', 'next',
  'skip_count', 'last_skip', 'last_skip_reason', 'last_group', 'created_at', 'updated_at',
]);

type Def = Record<string, unknown>;

/** JSON with object keys sorted, so equal definitions compare equal whatever their key order. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Def;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** A definition as dotted paths, two levels into objects (executor_config, tags); server fields left out. */
function flatten(obj: Def | null, prefix = '', out: Def = {}, depth = 0): Def {
  for (const [k, v] of Object.entries(obj ?? {})) {
    if (!prefix && SERVER_FIELDS.has(k)) continue;
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v) && depth < 2) {
      if (Object.keys(v).length > 0) flatten(v as Def, key, out, depth + 1);
    } else {
      out[key] = v;
    }
  }
  return out;
}

export function definitionDiff(before: Def | null, after: Def | null): Array<{ field: string; before: unknown; after: unknown }> {
  const a = flatten(before);
  const b = flatten(after);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => stableJson(a[k]) !== stableJson(b[k])).map((field) => ({ field, before: a[field], after: b[field] }));
}

function Value({ v, tag }: { v: unknown; tag: 'del' | 'ins' }): JSX.Element {
  if (v === undefined) return <span class="muted">(none)</span>;
  const full = typeof v === 'string' ? JSON.stringify(v) : stableJson(v);
  const text = full.length > 120 ? `${full.slice(0, 119)}…` : full;
  const Tag = tag;
  return <Tag title={full.length > 120 ? full : undefined}>{text}</Tag>;
}

function Changes({ entry }: { entry: AuditEntry }): JSX.Element {
  const { before, after, detail } = entry;
  let main: JSX.Element | null = null;
  if (before && after) {
    const diff = definitionDiff(before, after);
    main =
      diff.length === 0 ? (
        <span class="muted">no change to the definition</span>
      ) : (
        <ul class="diff">
          {diff.slice(0, MAX_DIFF_LINES).map((d) => (
            <li key={d.field}>
              <code class="diff-field">{d.field}</code>: <Value v={d.before} tag="del" /> → <Value v={d.after} tag="ins" />
            </li>
          ))}
          {diff.length > MAX_DIFF_LINES ? <li class="muted">and {diff.length - MAX_DIFF_LINES} more</li> : null}
        </ul>
      );
  } else if (after) {
    main = (
      <span class="muted">
        created: {after.schedule ? <code>{String(after.schedule)}</code> : after.parent_job ? `after ${String(after.parent_job)}` : null}
        {after.executor ? ` · ${String(after.executor)}` : ''}
      </span>
    );
  } else if (before) {
    main = <span class="muted">deleted</span>;
  }
  const details = detail && typeof detail === 'object' ? Object.entries(detail) : [];
  return (
    <>
      {main}
      {details.length ? (
        <span class="tags">
          {details.map(([k, v]) => (
            <span class="chip" key={k}>
              {k}={typeof v === 'string' ? v : stableJson(v)}
            </span>
          ))}
        </span>
      ) : null}
      {!main && !details.length ? <span class="muted">—</span> : null}
    </>
  );
}

export function History({ job, version }: { job: string; version: number }): JSX.Element {
  const [page, setPage] = useState(1);
  const list = useLoad(
    (signal) => api<AuditEntry[]>('GET', 'audit', { signal, query: { job, _start: (page - 1) * PAGE, _end: page * PAGE } }),
    [job, page, version],
    POLL_MS,
  );
  const items = list.data?.data ?? [];
  const total = list.data?.total ?? items.length;
  return (
    <Section title={`Change history (${total})`} id="history">
      {list.error ? <ErrorPanel error={list.error} /> : null}
      {items.length === 0 ? (
        <p class="muted">{list.data ? 'No changes recorded.' : list.error ? '' : 'Loading…'}</p>
      ) : (
        <table class="responsive history" aria-label="Change history">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Changes</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr key={e.id} data-audit={e.id}>
                <td data-label="When">
                  <Time iso={e.at} />
                </td>
                <td data-label="Who">{e.actor}</td>
                <td data-label="Action">
                  <Badge kind="info">{e.action}</Badge>
                </td>
                <td data-label="Changes" class="changes">
                  <Changes entry={e} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager label="Change history pages" page={page} pages={Math.max(1, Math.ceil(total / PAGE))} go={setPage} />
    </Section>
  );
}
