/** The dashboard's lists: the latest failed executions, and the next runs across all jobs (a timeline). */
import type { JSX } from 'preact';
import type { Execution } from '../api.js';
import type { UpcomingRun } from '../../../src/api/stats-shape.js';
import { href } from '../router.js';
import { duration, isZeroTime, Time } from '../components/common.js';

export function RecentFailures({ failures }: { failures: Execution[] }): JSX.Element {
  if (failures.length === 0) return <p class="muted">No failed runs in this window.</p>;
  return (
    <table class="responsive" id="failures-table">
      <caption class="sr-only">Latest failed executions, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Job</th>
          <th scope="col">Started</th>
          <th scope="col">Took</th>
          <th scope="col">Exit</th>
          <th scope="col">Node</th>
        </tr>
      </thead>
      <tbody>
        {failures.map((e) => (
          <tr key={`${e.job_name}/${e.id}`}>
            <td data-label="Job">
              <a href={href.job(e.job_name)}>{e.job_name}</a>
              {e.attempt > 1 ? <span class="muted small"> (attempt {e.attempt})</span> : null}
            </td>
            <td data-label="Started">
              <Time iso={e.started_at} />
            </td>
            <td data-label="Took">{isZeroTime(e.finished_at) ? '' : duration(Date.parse(e.finished_at as string) - Date.parse(e.started_at))}</td>
            <td data-label="Exit">{e.exit_code ?? '—'}</td>
            <td data-label="Node">{e.node_name}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Soonest first; each entry placed on a line from now to the last one shown, so clusters of runs stand out. */
export function Upcoming({ runs }: { runs: UpcomingRun[] }): JSX.Element {
  if (runs.length === 0) return <p class="muted">No enabled job has a next run.</p>;
  const now = Date.now();
  const last = Math.max(now + 1, ...runs.map((r) => Date.parse(r.next)));
  return (
    <ol class="upcoming" id="upcoming-list">
      {runs.map((r) => {
        const at = Date.parse(r.next);
        const pos = Math.min(100, Math.max(0, ((at - now) / (last - now)) * 100));
        return (
          <li key={r.name}>
            <span class="upcoming-when">
              <Time iso={r.next} zone={r.timezone || undefined} />
            </span>
            <a href={href.job(r.name)} class="upcoming-job">
              {r.displayname || r.name}
            </a>
            <code class="upcoming-schedule small">{r.schedule}</code>
            <span class="upcoming-track" aria-hidden="true">
              <span style={{ left: `${pos}%` }} />
            </span>
          </li>
        );
      })}
    </ol>
  );
}
