/** Notifications sent about the job's runs (webhook, Slack, mail), as recorded on each execution. */
import type { JSX } from 'preact';
import type { Execution } from '../api.js';
import type { NotificationRecord } from '../../../src/job/types.js';
import { Badge, Section, Time } from '../components/common.js';
import { href } from '../router.js';
import type { Recent } from './job.js';
import { plural } from './job-util.js';

const KIND: Record<NotificationRecord['status'], string> = { sent: 'success', failed: 'failed', pending: 'running' };

/** One execution's notifications (inside its output row). */
export function NotificationList({ e }: { e: Execution }): JSX.Element {
  return (
    <ul class="notifications" aria-label={`Notifications of execution ${e.id}`}>
      {(e.notifications ?? []).map((n, i) => (
        <li key={i}>
          <code>{n.channel}</code> → {n.target}: <Badge kind={KIND[n.status]}>{n.status}</Badge> ({plural(n.attempts, 'attempt')})
          {n.last_error ? <span class="muted"> — {n.last_error}</span> : null}
        </li>
      ))}
    </ul>
  );
}

export function Notifications({ job, recent }: { job: string; recent: Recent | null }): JSX.Element | null {
  // Retries share one group's notifications: show them once, on the group's last execution.
  const seen = new Set<string>();
  const rows: Array<{ e: Execution; n: NotificationRecord }> = [];
  for (const e of recent?.executions ?? []) {
    for (const n of e.notifications ?? []) {
      const key = `${e.group}|${n.channel}|${n.target}`;
      if (seen.has(key)) continue;
      seen.add(key);
      rows.push({ e, n });
    }
  }
  if (rows.length === 0) return null;
  return (
    <Section title={`Notifications sent (${rows.length})`} id="notifications">
      <table class="responsive" aria-label="Notifications sent">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Channel</th>
            <th scope="col">To</th>
            <th scope="col">Status</th>
            <th scope="col">About</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ e, n }) => (
            <tr key={`${e.id}-${n.channel}-${n.target}`}>
              <td data-label="When">
                <Time iso={n.at} />
              </td>
              <td data-label="Channel">
                <code>{n.channel}</code>
              </td>
              <td data-label="To">{n.target}</td>
              <td data-label="Status">
                <Badge kind={KIND[n.status]}>{n.status}</Badge> <span class="muted small">{plural(n.attempts, 'attempt')}</span>
                {n.last_error ? <div class="muted small">{n.last_error}</div> : null}
              </td>
              <td data-label="About">
                <a href={`${href.job(job)}?exec=${encodeURIComponent(e.id)}`}>{e.success ? 'a success' : 'a failure'}</a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="small muted">From the last {recent?.executions.length ?? 0} executions.</p>
    </Section>
  );
}
