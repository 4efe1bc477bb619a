/** The schedule in words and the next 10 runs in the job's zone, runs on a DST day flagged. */
import type { JSX } from 'preact';
import type { ApiError, Job } from '../api.js';
import { Badge, ErrorPanel, Section, Time } from '../components/common.js';
import { href } from '../router.js';
import type { JobNext } from './job.js';

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
/** The weekday of a local `YYYY-MM-DD ...` (computed on the date alone, so the zone doesn't matter). */
const weekday = (local: string): string => WEEKDAYS[new Date(`${local.slice(0, 10)}T00:00:00Z`).getUTCDay()] ?? '';

const DST_LABEL = { skipped: 'DST: time skipped', repeated: 'DST: time repeated' } as const;

export function NextRuns({ job, next, error }: { job: Job; next: JobNext | null; error: ApiError | null }): JSX.Element {
  let body: JSX.Element;
  if (job.parent_job) {
    body = (
      <p>
        Runs after <a href={href.job(job.parent_job)}>{job.parent_job}</a> succeeds, not on a schedule of its own.
      </p>
    );
  } else if (!next) {
    body = error ? <ErrorPanel error={error} /> : <p class="muted">Loading…</p>;
  } else if (next.next.length === 0) {
    body = <p class="muted">{job.schedule === '@manually' ? 'No scheduled runs: it runs when started by hand.' : 'No runs coming up.'}</p>;
  } else {
    body = (
      <>
        {next.disabled ? (
          <p class="hint" role="note">
            Disabled: these are the runs it would make once enabled.
          </p>
        ) : null}
        <table class="responsive next-runs" aria-label="Next runs">
          <thead>
            <tr>
              <th scope="col">Local time ({next.timezone})</th>
              <th scope="col">In</th>
              <th scope="col">DST</th>
            </tr>
          </thead>
          <tbody>
            {next.next.map((r) => (
              <tr key={r.at} data-dst={r.dst ?? undefined}>
                <td data-label="Local time">
                  <span>
                    <span class="weekday">{weekday(r.local)}</span> <span class="mono">{r.local}</span> <span class="muted small">{r.offset}</span>
                  </span>
                </td>
                <td data-label="In">
                  <Time iso={r.at} zone={next.timezone} />
                </td>
                <td data-label="DST">
                  {r.dst || r.note ? (
                    <div>
                      {r.dst ? <Badge kind="warn">{DST_LABEL[r.dst]}</Badge> : null}
                      {r.note ? <div class={r.dst ? 'dst-note' : 'muted small'}>{r.note}</div> : null}
                    </div>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </>
    );
  }
  return (
    <Section title="Next runs" id="next-runs">
      {next?.description && !job.parent_job ? (
        <p class="schedule-sentence">
          Runs <strong>{next.description}</strong> <span class="muted">({next.timezone})</span>
        </p>
      ) : null}
      {body}
    </Section>
  );
}
