/** Ticks that did not run, newest first, with the reason: "did last night's 02:00 run, and if not why". */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, jobPath, type SkipRecord } from '../api.js';
import { Badge, ErrorPanel, Pager, Section, Time } from '../components/common.js';
import { useLoad } from '../hooks.js';

const PAGE = 10;
const POLL_MS = 5000;

export const SKIP_LABELS: Record<string, string> = {
  forbid: 'overlap (forbid)',
  no_agent: 'no matching agent',
  no_executor: 'executor missing on matching agents',
  no_leader: 'no leader',
  catch_up_skip: 'catch_up: skip',
  starting_deadline: 'starting deadline passed',
  not_runnable: 'not runnable',
  dispatch_failed: 'dispatch failed',
};

export function Skips({ job, version, total: known }: { job: string; version: number; total: number }): JSX.Element {
  const [page, setPage] = useState(1);
  const list = useLoad(
    (signal) => api<SkipRecord[]>('GET', jobPath(job, '/skips'), { signal, query: { _start: (page - 1) * PAGE, _end: page * PAGE } }),
    [job, page, version, known],
    POLL_MS,
  );
  const items = list.data?.data ?? [];
  const total = list.data?.total ?? items.length;
  return (
    <Section title={`Skipped runs (${total})`} id="skips">
      {list.error ? <ErrorPanel error={list.error} /> : null}
      {items.length === 0 ? (
        <p class="muted">{list.data ? 'Every tick ran.' : 'Loading…'}</p>
      ) : (
        <table class="responsive" aria-label="Skipped runs">
          <thead>
            <tr>
              <th scope="col">Tick</th>
              <th scope="col">Why</th>
              <th scope="col">Detail</th>
              <th scope="col">Trigger</th>
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={s.id} data-skip={s.id}>
                <td data-label="Tick">
                  <Time iso={s.scheduled_at} />
                  {s.until ? (
                    <>
                      {' – '}
                      <Time iso={s.until} />
                    </>
                  ) : null}
                  {s.count > 1 ? <span class="muted small"> ({s.count} ticks)</span> : null}
                </td>
                <td data-label="Why">
                  <Badge kind="skipped">{SKIP_LABELS[s.code] ?? s.code}</Badge>
                </td>
                <td data-label="Detail">{s.reason}</td>
                <td data-label="Trigger">{s.trigger}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager label="Skipped run pages" page={page} pages={Math.max(1, Math.ceil(total / PAGE))} go={setPage} />
    </Section>
  );
}
