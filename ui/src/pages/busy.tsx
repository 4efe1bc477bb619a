/**
 * Running (#/busy): executions running now on any agent (GET /v1/busy, polled). A row's output
 * opens in place and follows the live stream (GET .../stream), scrolled to the tail unless the
 * reader scrolled up; the polled output shows until the stream answers.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, type Execution } from '../api.js';
import { useLoad } from '../hooks.js';
import { href } from '../router.js';
import { duration, ErrorPanel, Section, Time } from '../components/common.js';
import { LiveOutput } from './busy-output.js';
import './busy.css';

const POLL_MS = 2000;

export function BusyPage(): JSX.Element {
  useEffect(() => {
    document.title = 'Running · Kairos';
  }, []);
  const { data, error } = useLoad((signal) => api<Execution[]>('GET', 'busy', { signal }).then((r) => r.data), [], POLL_MS);
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
      <p class="muted">Executions running now on any agent; refreshes every 2 seconds. Open a row's output to follow it live.</p>
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
    </div>
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
