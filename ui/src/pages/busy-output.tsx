/** A running execution's output, following the live stream; kept at the tail unless the reader scrolled up. */
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { followExecution, type Execution } from '../api.js';

/** Past this, the oldest text is dropped from the view (the stored output keeps it). */
const MAX_CHARS = 200_000;

export function LiveOutput({ execution }: { execution: Execution }): JSX.Element {
  // null until the stream's first chunk (which carries the output so far): the polled output shows meanwhile.
  const [streamed, setStreamed] = useState<string | null>(null);
  const [note, setNote] = useState('');
  const pre = useRef<HTMLPreElement>(null);
  const atTail = useRef(true);

  useEffect(
    () =>
      followExecution(execution.job_name, execution.id, {
        output: (text) => setStreamed((s) => ((s ?? '') + text).slice(-MAX_CHARS)),
        end: (e) => setNote(e.success ? 'Finished: succeeded.' : `Finished: failed${e.exit_code !== null ? ` (exit ${e.exit_code})` : ''}.`),
        info: (message) => setNote(message),
        error: (err) => setNote(`Live output stopped: ${err.message}`),
      }),
    [execution.job_name, execution.id],
  );

  const text = streamed ?? execution.output;
  useLayoutEffect(() => {
    const el = pre.current;
    if (el && atTail.current) el.scrollTop = el.scrollHeight;
  }, [text]);

  return (
    <div class="live-output">
      <pre
        ref={pre}
        class="busy-output"
        aria-live="off"
        tabIndex={0}
        aria-label={`Output of ${execution.job_name}`}
        onScroll={(ev) => {
          const el = ev.currentTarget;
          atTail.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {text ? text : <span class="muted">(no output yet)</span>}
      </pre>
      {note ? <p class="muted small" role="status">{note}</p> : null}
    </div>
  );
}
