/**
 * Running (#/busy): executions running now on any agent (GET /v1/busy, polled). A row's output
 * opens in place and follows the live stream (GET .../stream), scrolled to the tail unless the
 * reader scrolled up; the polled output shows until the stream answers. Below, the ticks the leader
 * holds until an agent has room for their `resources` (GET /v1/queue, polled alike);
 * #/busy?section=queued scrolls to them.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type Execution } from '../api.js';
import { useLoad } from '../hooks.js';
import { href } from '../router.js';
import { duration, ErrorPanel, relativeTime, Section, Time } from '../components/common.js';
import { LiveOutput } from './busy-output.js';
import { loadQueue, QUEUE_LIMIT, queueCount, type QueuedRun } from '../capacity.js';
import './busy.css';

const POLL_MS = 2000;

export function BusyPage({ section }: { section?: string | null }): JSX.Element {
  useEffect(() => {
    document.title = 'Running · Kairos';
  }, []);
  const { data, error } = useLoad((signal) => api<Execution[]>('GET', 'busy', { signal }).then((r) => r.data), [], POLL_MS);
  const queue = useLoad(loadQueue, [], POLL_MS);
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const toggle = (key: string): void =>
    setOpen((prev) => {
      const next = new Set(prev);
      if (!next.delete(key)) next.add(key);
      return next;
    });
  return (
    <div class="busy-page">
      <h1>Running</h1>
      <p class="muted">Executions running now on any agent; refreshes every 2 seconds. Open a row's output to follow it live. Runs waiting for an agent with room are listed under them.</p>
      <ErrorPanel error={error} />
      <Section title={data ? `${data.length} running` : 'Running'}>
        {data === null ? (
          error ? null : <p class="muted">Loading…</p>
        ) : data.length === 0 ? (
          <p class="muted" id="busy-empty">
            Nothing is running.
          </p>
        ) : (
          <table class="responsive" id="busy-table">
            <caption class="sr-only">Running executions</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Execution</th>
                <th scope="col">Node</th>
                <th scope="col">Started</th>
                <th scope="col">Running for</th>
                <th scope="col">Attempt</th>
                <th scope="col">Trigger</th>
                <th scope="col">
                  <span class="sr-only">Output</span>
                </th>
              </tr>
            </thead>
            <tbody>{data.flatMap((e) => rows(e, open.has(key(e)), () => toggle(key(e))))}</tbody>
          </table>
        )}
      </Section>
      <Queued queue={queue.data} error={queue.error} scrollTo={section === 'queued' && (data !== null || error !== null) && (queue.data !== null || queue.error !== null)} />
    </div>
  );
}

/** Ticks waiting for an agent with room: the job, its tick, since when, and why nothing fits. */
function Queued({ queue, error, scrollTo }: { queue: QueuedRun[] | null; error: Error | null; scrollTo: boolean }): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  const scrolled = useRef(false);
  // Once the page has its content (it opened at the top, and the running table above may grow), bring the section into view.
  useEffect(() => {
    if (!scrollTo || scrolled.current) return;
    scrolled.current = true;
    ref.current?.scrollIntoView({ block: 'start' });
  }, [scrollTo]);
  return (
    <div ref={ref} class="busy-queued">
      <Section
        title="Queued for capacity"
        id="queued"
        actions={queue && queue.length ? <span class="muted small" id="queued-count">{queue.length >= QUEUE_LIMIT ? `the first ${QUEUE_LIMIT} waiting` : `${queueCount(queue)} waiting`}</span> : undefined}
      >
        <p class="muted small">Scheduled runs of jobs that declare resources, held by the leader until an agent has room for them; they start in order as runs end.</p>
        <ErrorPanel error={error} />
        {queue === null ? (
          error ? null : <p class="muted">Loading…</p>
        ) : queue.length === 0 ? (
          <p class="muted" id="queued-empty">
            No run is waiting for capacity.
          </p>
        ) : (
          <table class="responsive" id="queued-table">
            <caption class="sr-only">Runs queued for capacity</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Scheduled for</th>
                <th scope="col">Waiting since</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {queue.map((q) => (
                <tr key={`${q.job}/${q.scheduled_at}`} data-job={q.job}>
                  <td data-label="Job">
                    <a href={href.job(q.job)}>{q.job}</a>
                  </td>
                  <td data-label="Scheduled for">
                    <ExactTime iso={q.scheduled_at} />
                  </td>
                  <td data-label="Waiting since">
                    <Time iso={q.since} />
                  </td>
                  <td data-label="Why" class="queued-reason">
                    {q.reason}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </div>
  );
}

/** The local date and time (the relative one on hover). */
function ExactTime({ iso }: { iso: string }): JSX.Element {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return <span>{iso}</span>;
  return (
    <time dateTime={iso} title={relativeTime(ms)}>
      {new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })}
    </time>
  );
}

const key = (e: Execution): string => `${e.job_name}/${e.id}`;

function rows(e: Execution, expanded: boolean, toggle: () => void): JSX.Element[] {
  const outputId = `out-${key(e).replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const main = (
    <tr key={key(e)} data-job={e.job_name}>
      <td data-label="Job">
        <a href={href.job(e.job_name)}>{e.job_name}</a>
      </td>
      <td data-label="Execution">
        <code class="small">{e.id}</code>
      </td>
      <td data-label="Node">{e.node_name}</td>
      <td data-label="Started">
        <Time iso={e.started_at} />
      </td>
      <td data-label="Running for">{duration(Date.now() - Date.parse(e.started_at))}</td>
      <td data-label="Attempt">{e.attempt}</td>
      <td data-label="Trigger">{e.trigger}</td>
      <td data-label="">
        <button type="button" aria-expanded={expanded} aria-controls={outputId} aria-label={`${expanded ? 'Hide' : 'Show'} output of ${e.job_name} execution ${e.id}`} onClick={toggle}>
          {expanded ? 'Hide output' : 'Output'}
        </button>
      </td>
    </tr>
  );
  if (!expanded) return [main];
  return [
    main,
    <tr key={`${key(e)}:out`} class="busy-output-row">
      <td colSpan={8} data-label="" id={outputId}>
        <LiveOutput execution={e} />
      </td>
    </tr>,
  ];
}
