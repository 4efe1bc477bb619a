/**
 * The dashboard (#/): the cluster at a glance from GET /v1/stats (polled; the last answer stays on
 * screen through an outage), GET /v1/members and GET /v1/queue (runs waiting for capacity). Cards,
 * activity over 24 h or 7 d, recent failures, the next runs across all jobs, the members.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, type Member } from '../api.js';
import { useLoad } from '../hooks.js';
import { href } from '../router.js';
import { ErrorPanel, Section } from '../components/common.js';
import { ActivityChart } from '../components/activity-chart.js';
import type { Stats } from '../../../src/api/stats-shape.js';
import { RecentFailures, Upcoming } from './dashboard-lists.js';
import { MembersGlance } from './dashboard-members.js';
import { loadQueue, queueCount, type QueuedRun } from '../capacity.js';
import './dashboard.css';

const POLL_MS = 5000;
type Window = '24h' | '7d';
const WINDOW_TEXT: Record<Window, string> = { '24h': '24 h', '7d': '7 days' };

export function Dashboard(): JSX.Element {
  const [win, setWin] = useState<Window>('24h');
  useEffect(() => {
    document.title = 'Dashboard · Kairos';
  }, []);
  const stats = useLoad((signal) => api<Stats>('GET', 'stats', { query: { window: win }, signal }).then((r) => r.data), [win], POLL_MS);
  const members = useLoad((signal) => api<Member[]>('GET', 'members', { signal }).then((r) => r.data), [], POLL_MS);
  const queue = useLoad(loadQueue, [], POLL_MS);
  const s = stats.data;
  return (
    <div class="dashboard">
      <h1>Dashboard</h1>
      <ErrorPanel error={stats.error} />
      <Cards s={s} win={win} queue={queue.data} />
      <Section
        title={`Activity, last ${WINDOW_TEXT[win]}`}
        id="activity"
        actions={
          <div class="segmented" role="group" aria-label="Time window">
            {(Object.keys(WINDOW_TEXT) as Window[]).map((w) => (
              <button key={w} type="button" aria-pressed={w === win} onClick={() => setWin(w)}>
                {WINDOW_TEXT[w]}
              </button>
            ))}
          </div>
        }
      >
        {s ? (
          <>
            <ActivityChart label={`Executions and skipped runs per ${s.bucket_ms >= 6 * 3600_000 ? `${s.bucket_ms / 3600_000} hours` : 'hour'}, last ${WINDOW_TEXT[win]}`} points={s.buckets} bucketMs={s.bucket_ms} />
            {s.window !== win ? <p class="muted small">Loading {WINDOW_TEXT[win]}…</p> : null}
          </>
        ) : (
          <p class="muted">Loading…</p>
        )}
      </Section>
      <div class="grid">
        <Section title="Recent failures" id="recent-failures">
          {s ? <RecentFailures failures={s.recent_failures} /> : <p class="muted">Loading…</p>}
        </Section>
        <Section title="Coming up" id="upcoming">
          {s ? <Upcoming runs={s.upcoming} /> : <p class="muted">Loading…</p>}
        </Section>
      </div>
      <Section
        title="Members"
        id="members-glance"
        actions={
          <a href={href.members()} class="small">
            All details
          </a>
        }
      >
        <ErrorPanel error={members.data ? null : members.error} />
        {members.data ? <MembersGlance members={members.data} leader={s?.leader ?? null} /> : members.error ? null : <p class="muted">Loading…</p>}
      </Section>
    </div>
  );
}

function Cards({ s, win, queue }: { s: Stats | null; win: Window; queue: QueuedRun[] | null }): JSX.Element {
  const v = (n: number | string | null | undefined): string => (n === null || n === undefined ? '…' : String(n));
  const w = WINDOW_TEXT[s?.window === '7d' ? '7d' : win];
  return (
    <div class="stats" aria-live="polite" aria-busy={s === null}>
      <Card id="jobs" label="Jobs" value={v(s?.jobs.total)} link={href.jobs()} note={s ? `${s.jobs.disabled} disabled` : undefined} />
      <Card id="running" label="Running now" value={v(s?.running)} link={href.busy()} />
      <Card id="queued" label="Waiting for capacity" value={queue ? queueCount(queue) : '…'} link={href.busy('queued')} kind={queue && queue.length > 0 ? 'warn' : undefined} />
      <Card id="failed" label={`Failed runs, ${w}`} value={v(s?.failed)} kind={s && s.failed > 0 ? 'bad' : undefined} />
      <Card id="skipped" label={`Skipped runs, ${w}`} value={v(s?.skipped)} kind={s && s.skipped > 0 ? 'skip' : undefined} />
      <Card id="failing" label="Failing jobs" value={v(s?.jobs.failing)} link={href.jobs({ status: 'failed' })} kind={s && s.jobs.failing > 0 ? 'bad' : undefined} />
      <Card id="succeeding" label="Succeeding jobs" value={v(s?.jobs.success)} link={href.jobs({ status: 'success' })} />
      <Card id="untriggered" label="Never run" value={v(s?.jobs.untriggered)} link={href.jobs({ status: 'untriggered' })} />
      <Card id="leader" label="Leader" value={s ? (s.leader ?? 'none') : '…'} kind={s && !s.leader ? 'bad' : undefined} small />
      <Card id="members" label="Members" value={v(s?.members)} link={href.members()} />
    </div>
  );
}

function Card({ id, label, value, link, note, kind, small }: { id: string; label: string; value: string; link?: string; note?: string; kind?: 'bad' | 'skip' | 'warn'; small?: boolean }): JSX.Element {
  const body = (
    <>
      <span class={`value${small ? ' value-small' : ''}`}>{value}</span>
      <span class="label">{label}</span>
      {note ? <span class="note muted small">{note}</span> : null}
    </>
  );
  const cls = `stat${kind ? ` stat-${kind}` : ''}`;
  return link ? (
    <a class={`${cls} stat-link`} href={link} id={`stat-${id}`}>
      {body}
    </a>
  ) : (
    <div class={cls} id={`stat-${id}`}>
      {body}
    </div>
  );
}
