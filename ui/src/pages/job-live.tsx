/**
 * Live output of a running execution (GET .../executions/ID/stream via followExecution): follows
 * the tail unless "Pause scroll" is pressed, then shows the record when it ends and tells the page
 * (`ended`), which reloads the executions, strip and chart. Picks the newest running execution by
 * itself, so a run started elsewhere (the scheduler, another user) shows up too.
 */
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { followExecution, type Execution } from '../api.js';
import { duration, Section, Time } from '../components/common.js';
import { ResultBadge, runMs } from './job-util.js';

/** The browser keeps at most this much of a stream (the tail). */
const MAX_CHARS = 400_000;

interface Followed {
  execution: Execution;
  attempt: number;
}

export function LiveOutput({ job, running, ended }: { job: string; running: Execution[]; ended: () => void }): JSX.Element | null {
  const [followed, setFollowed] = useState<Followed | null>(null);
  const [text, setText] = useState('');
  const [record, setRecord] = useState<Execution | null>(null);
  const [info, setInfo] = useState('');
  const [failed, setFailed] = useState(false);
  const [paused, setPaused] = useState(false);
  const pre = useRef<HTMLPreElement>(null);
  /** Executions shown to the end or dismissed: a stale "running" in a list must not bring them back. */
  const done = useRef(new Set<string>());
  const endedRef = useRef(ended);
  endedRef.current = ended;

  const runningKey = running.map((e) => e.id).join(',');
  useEffect(() => {
    const candidate = running.find((e) => !done.current.has(e.id));
    if (!candidate) return;
    // Keep following the current one until it ends; then move on to the next running.
    if (followed && !record && !done.current.has(followed.execution.id)) return;
    if (followed?.execution.id === candidate.id) return;
    start(candidate);
  }, [runningKey, record]);

  const start = (execution: Execution, attempt = 0): void => {
    setText('');
    setRecord(null);
    setInfo('');
    setFailed(false);
    setFollowed({ execution, attempt });
  };

  useEffect(() => {
    if (!followed) return;
    const id = followed.execution.id;
    return followExecution(job, id, {
      output: (chunk) => setText((t) => (t.length + chunk.length > MAX_CHARS ? (t + chunk).slice(-MAX_CHARS) : t + chunk)),
      end: (e) => {
        done.current.add(id);
        setRecord(e);
        endedRef.current();
      },
      info: (message) => setInfo(message),
      error: (err) => {
        setInfo(`The stream stopped: ${err.message}`);
        setFailed(true);
      },
    });
  }, [job, followed]);

  useLayoutEffect(() => {
    if (!paused && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [text, paused]);

  if (!followed) return null;
  const e = record ?? followed.execution;
  const dismiss = (): void => {
    done.current.add(followed.execution.id);
    setFollowed(null);
  };
  const others = running.filter((r) => r.id !== followed.execution.id);

  return (
    <Section
      title={record ? 'Output of the last run' : 'Live output'}
      id="live"
      actions={
        <>
          {record ? null : (
            <button type="button" aria-pressed={paused} onClick={() => setPaused((p) => !p)} title="Stop following the end of the output">
              Pause scroll
            </button>
          )}
          {failed ? (
            <button type="button" onClick={() => start(followed.execution, followed.attempt + 1)}>
              Reconnect
            </button>
          ) : null}
          {record ? (
            <button type="button" onClick={dismiss}>
              Close
            </button>
          ) : null}
        </>
      }
    >
      <p class="live-meta">
        <ResultBadge e={e} /> execution <code>{e.id}</code> on {e.node_name || 'an agent'}, started <Time iso={e.started_at} />
        {record ? (
          <>
            {' '}
            · took {duration(runMs(record))}
            {record.exit_code !== null ? ` · exit code ${record.exit_code}` : ''}
          </>
        ) : null}
      </p>
      {info ? (
        <p class="hint" role="status">
          {info}
        </p>
      ) : null}
      <pre ref={pre} class="live-output" role="log" aria-live="off" aria-label="Live output" tabIndex={0} data-state={record ? 'ended' : 'running'}>
        {text === '' ? <span class="muted">{record ? '(no output)' : 'Waiting for output…'}</span> : text}
      </pre>
      {others.length ? (
        <p class="small">
          Also running:{' '}
          {others.map((o) => (
            <button key={o.id} type="button" class="link" onClick={() => start(o)}>
              {o.node_name || o.id}
            </button>
          ))}
        </p>
      ) : null}
    </Section>
  );
}
