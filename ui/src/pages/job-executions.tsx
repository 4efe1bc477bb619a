/**
 * Executions of the job, newest first, paged: duration, result, exit code, node, attempt, trigger,
 * a badge on starts that breached the job's start SLO (and how many of the shown runs did);
 * the output of each on demand (the last 200 characters, then all of it), with the notifications
 * sent about it. `?exec=ID` (the run strip's links) opens that execution at the top.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, jobPath, type ApiResult, type Execution } from '../api.js';
import { duration, ErrorPanel, Pager, Section, Time } from '../components/common.js';
import { useLoad } from '../hooks.js';
import { href } from '../router.js';
import { NotificationList } from './job-notifications.js';
import { cssToken, isRunning, LateBadge, ResultBadge, runMs, utcText } from './job-util.js';
import { recordedBreachMs, startDelayLimitMs } from '../../../src/job/slo.js';

/** The job's start SLO: the limit as written and in ms (null: none). */
interface Slo {
  limit: string;
  limitMs: number | null;
}

const PAGE = 25;
const OUTPUT_LIMIT = 200;
const POLL_MS = 3000;

/** The trigger; a backfill's run also names its backfill and the past tick it re-runs. */
function Trigger({ e }: { e: Execution }): JSX.Element {
  if (!e.backfill) return <>{e.trigger}</>;
  return (
    <span class="trigger-backfill" data-backfill={e.backfill}>
      <span>
        backfill <span class="mono">{e.backfill}</span>
      </span>
      <span class="small muted">
        tick <time dateTime={e.scheduled_at}>{utcText(e.scheduled_at)}</time>
      </span>
    </span>
  );
}

function Output({ job, e }: { job: string; e: Execution }): JSX.Element {
  const [full, setFull] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const text = full ?? e.output ?? '';
  const loadFull = async (): Promise<void> => {
    try {
      setFull((await api<Execution>('GET', jobPath(job, `/executions/${encodeURIComponent(e.id)}`))).data.output ?? '');
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <>
      <pre class="output" aria-label={`Output of execution ${e.id}`} tabIndex={0}>
        {text === '' ? <span class="muted">{isRunning(e) ? '(running: see Live output above)' : '(no output)'}</span> : text}
      </pre>
      <div class="output-meta small">
        {full !== null ? <span class="muted">Full output.</span> : e.output_truncated ? <span class="muted">Last {OUTPUT_LIMIT} characters shown. </span> : null}
        {full === null && e.output_truncated ? (
          <button type="button" class="link" onClick={() => void loadFull()}>
            Full output
          </button>
        ) : null}
      </div>
      <ErrorPanel error={error} />
      {e.notifications?.length ? <NotificationList e={e} /> : null}
    </>
  );
}

function Selected({ job, id, slo }: { job: string; id: string; slo: Slo }): JSX.Element {
  const one = useLoad((signal) => api<Execution>('GET', jobPath(job, `/executions/${encodeURIComponent(id)}`), { signal }).then((r) => r.data), [job, id]);
  const e = one.data;
  return (
    <div class="card selected-execution" id="selected-execution" aria-label={`Execution ${id}`}>
      <div class="section-head">
        <h3>Execution {id}</h3>
        <div class="actions">
          <a href={href.job(job)}>Close</a>
        </div>
      </div>
      {one.error ? <ErrorPanel error={one.error} /> : null}
      {e ? (
        <>
          <p>
            <ResultBadge e={e} /> started <Time iso={e.started_at} /> on {e.node_name}
            {isRunning(e) ? '' : `, took ${duration(runMs(e))}`}
            {e.exit_code !== null ? `, exit code ${e.exit_code}` : ''}, attempt {e.attempt}, trigger <Trigger e={e} />{' '}
            <LateBadge e={e} limitMs={slo.limitMs} limit={slo.limit} />
          </p>
          <Output job={job} e={{ ...e, output_truncated: false }} />
        </>
      ) : (
        <p class="muted">Loading…</p>
      )}
    </div>
  );
}

/**
 * The first page, asked for while the job itself loads (JobPage calls this on mount): the table
 * then renders one round trip sooner. Used once, within a few seconds, then dropped.
 */
let prefetched: { job: string; at: number; result: Promise<ApiResult<Execution[]>> } | null = null;

export function prefetchExecutions(job: string): void {
  const result = api<Execution[]>('GET', jobPath(job, '/executions'), { query: { output_size_limit: OUTPUT_LIMIT, offset: 0, limit: PAGE } });
  result.catch(() => undefined);
  prefetched = { job, at: Date.now(), result };
}

function takePrefetched(job: string): Promise<ApiResult<Execution[]>> | null {
  const p = prefetched;
  prefetched = null;
  return p && p.job === job && Date.now() - p.at < 3000 ? p.result : null;
}

export function Executions({ job, version, selected, maxStartDelay }: { job: string; version: number; selected: string | null; maxStartDelay: string }): JSX.Element {
  const slo: Slo = { limit: maxStartDelay, limitMs: startDelayLimitMs({ max_start_delay: maxStartDelay }) };
  const [page, setPage] = useState(1);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const list = useLoad(
    (signal) =>
      (page === 1 && version === 0 ? takePrefetched(job) : null) ??
      api<Execution[]>('GET', jobPath(job, '/executions'), {
        signal,
        query: { output_size_limit: OUTPUT_LIMIT, offset: (page - 1) * PAGE, limit: PAGE },
      }),
    [job, page, version],
    POLL_MS,
  );
  const items = list.data?.data ?? [];
  const total = list.data?.total ?? items.length;
  const lateCount = items.filter((e) => recordedBreachMs(e, slo.limitMs) !== null).length;
  const toggle = (id: string): void =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });

  return (
    <Section
      title={`Executions (${total})`}
      id="executions"
      actions={
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      }
    >
      {selected ? <Selected key={selected} job={job} id={selected} slo={slo} /> : null}
      {slo.limitMs !== null && items.length > 0 ? (
        <p class="late-summary small" id="late-summary" data-late-count={lateCount}>
          {lateCount} of {items.length} shown {items.length === 1 ? 'run' : 'runs'} started late (SLO {slo.limit})
        </p>
      ) : null}
      {list.error ? <ErrorPanel error={list.error} /> : null}
      {items.length === 0 && list.data ? (
        <p class="muted">No executions yet.</p>
      ) : (
        <table class="responsive executions" aria-label="Executions">
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col">Result</th>
              <th scope="col">Exit code</th>
              <th scope="col">Node</th>
              <th scope="col">Attempt</th>
              <th scope="col">Trigger</th>
              <th scope="col">
                <span class="sr-only">Output</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => {
              const isOpen = open.has(e.id);
              const outId = `out-${cssToken(e.id)}`;
              return [
                <tr key={e.id} data-execution={e.id} class={selected === e.id ? 'is-selected' : undefined}>
                  <td data-label="Started">
                    <Time iso={e.started_at} /> <LateBadge e={e} limitMs={slo.limitMs} limit={slo.limit} />
                  </td>
                  <td data-label="Duration">{isRunning(e) ? <span class="muted">running {duration(runMs(e))}</span> : duration(runMs(e))}</td>
                  <td data-label="Result">
                    <ResultBadge e={e} />
                  </td>
                  <td data-label="Exit code">{e.exit_code ?? <span class="muted">—</span>}</td>
                  <td data-label="Node">{e.node_name}</td>
                  <td data-label="Attempt">{e.attempt}</td>
                  <td data-label="Trigger">
                    <Trigger e={e} />
                  </td>
                  <td data-label="">
                    <button type="button" aria-expanded={isOpen} aria-controls={outId} aria-label={`${isOpen ? 'Hide' : 'Show'} output of execution ${e.id}`} onClick={() => toggle(e.id)}>
                      {isOpen ? 'Hide output' : 'Output'}
                    </button>
                  </td>
                </tr>,
                isOpen ? (
                  <tr key={`${e.id}-out`} id={outId} class="output-row">
                    <td colSpan={8} data-label="">
                      <Output job={job} e={e} />
                    </td>
                  </tr>
                ) : null,
              ];
            })}
          </tbody>
        </table>
      )}
      <Pager label="Execution pages" page={page} pages={Math.max(1, Math.ceil(total / PAGE))} go={setPage} />
    </Section>
  );
}
