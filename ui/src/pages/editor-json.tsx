/**
 * The JSON tab: the same draft as text. An error is shown on the line naming its field (a
 * marked line, the message just under it), else above the text. The textarea grows to fit its
 * lines, so a line's position is simply its index × the line height.
 */
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

export interface JsonError {
  message: string;
  /** The field the server named, if any. */
  field: string;
  /** 0-based line, when found. */
  line: number | null;
}

export function JsonEditor({ text, setText, error }: { text: string; setText: (t: string) => void; error: JsonError | null }): JSX.Element {
  const area = useRef<HTMLTextAreaElement>(null);
  const lines = text.split('\n');
  const width = Math.max(...lines.map((l) => l.length)) + 2;
  const line = error?.line ?? null;
  useEffect(() => {
    // Put the caret on the line in error, so keyboard users land on it.
    const el = area.current;
    if (!el || line === null) return;
    const start = lines.slice(0, line).reduce((n, l) => n + l.length + 1, 0);
    el.focus({ preventScroll: true });
    el.setSelectionRange(start, start + (lines[line]?.length ?? 0));
    el.parentElement?.querySelector('.json-line-error')?.scrollIntoView({ block: 'nearest' });
  }, [error]);
  const message = error ? `${error.field ? `${error.field}: ` : ''}${error.message}` : '';
  return (
    <div class="json-editor">
      <p id="job-json-help" class="muted small">
        dkron's job format, as POST /v1/jobs takes it. Switching tabs carries your edits both ways.
      </p>
      {error && line === null ? (
        <div class="field-error json-error-above" id="job-json-error" role="alert">
          {message}
        </div>
      ) : null}
      <div class="json-scroll" style={{ '--lines': lines.length }}>
        <div class="json-gutter" aria-hidden="true">
          {lines.map((_, i) => (
            <div key={i} class={i === line ? 'bad' : undefined}>
              {i + 1}
            </div>
          ))}
        </div>
        <div class="json-body">
          {line !== null ? <div class="json-line-mark" style={{ top: `calc(${line} * var(--lh) + var(--pad))` }} /> : null}
          <textarea
            ref={area}
            id="job-json"
            name="job"
            aria-label="Job JSON"
            wrap="off"
            rows={lines.length + 1}
            spellcheck={false}
            autoCapitalize="off"
            autoComplete="off"
            aria-describedby={error ? 'job-json-error job-json-help' : 'job-json-help'}
            aria-invalid={error ? 'true' : undefined}
            style={{ width: `max(100%, ${width}ch)` }}
            value={text}
            onInput={(ev) => setText(ev.currentTarget.value)}
          />
          {error && line !== null ? (
            <div class="json-line-error field-error" id="job-json-error" role="alert" data-line={line + 1} style={{ top: `calc(${line + 1} * var(--lh) + var(--pad))` }}>
              Line {line + 1}: {message}
            </div>
          ) : null}
        </div>
      </div>
    </div>
  );
}
