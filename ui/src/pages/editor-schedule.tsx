/**
 * Schedule and time zone with live validation and the next runs: POST /v1/schedule/preview
 * answers the description and the next 5 runs in the zone (DST transitions flagged), or 400
 * naming the field. An agent without the route (404) just shows no preview.
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { relativeTime } from '../components/common.js';
import { Field } from './editor-field.js';

const DEBOUNCE_MS = 350;

interface NextRun {
  at: string;
  local: string;
  offset?: string;
  /** 'skipped' / 'repeated': that day's DST change skips or repeats this local time. */
  dst?: string | null;
  note?: string;
}

interface Preview {
  description?: string;
  /** The zone the runs are in (the agent's when the job has none). */
  timezone?: string;
  next?: NextRun[];
}

type State =
  | { kind: 'idle' }
  | { kind: 'loading' }
  | { kind: 'ok'; preview: Preview }
  | { kind: 'invalid'; field: string; message: string }
  | { kind: 'unavailable'; message: string };

function zones(): string[] {
  try {
    const list = Intl.supportedValuesOf('timeZone');
    return list.includes('UTC') ? list : ['UTC', ...list];
  } catch {
    return ['UTC'];
  }
}

export function ScheduleFields({
  schedule,
  timezone,
  parent,
  dependsOn = [],
  name,
  set,
}: {
  name: string;
  schedule: string;
  timezone: string;
  parent: string;
  /** Fan-in parents: the schedule, if any, only draws the windows their successes count in. */
  dependsOn?: string[];
  set: (patch: { schedule?: string; timezone?: string }) => void;
}): JSX.Element {
  const [state, setState] = useState<State>({ kind: 'idle' });
  // The name only matters to dkron's `~` (a hash of the name): don't re-ask on every keystroke of it.
  const hashed = schedule.includes('~') ? name : '';
  const allZones = useMemo(zones, []);
  useEffect(() => {
    if (schedule.trim() === '') {
      setState({ kind: 'idle' });
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => {
      setState({ kind: 'loading' });
      api<Preview>('POST', 'schedule/preview', { body: { schedule, timezone, count: 5, ...(hashed ? { name: hashed } : {}) }, signal: controller.signal }).then(
        (r) => setState({ kind: 'ok', preview: r.data }),
        (err: unknown) => {
          if ((err as Error).name === 'AbortError') return;
          if (err instanceof ApiError && err.status === 400) setState({ kind: 'invalid', field: err.field || 'schedule', message: err.message });
          else if (err instanceof ApiError && (err.status === 404 || err.status === 405)) setState({ kind: 'unavailable', message: 'This agent has no schedule preview; the schedule is checked when you save.' });
          else setState({ kind: 'unavailable', message: `No preview: ${(err as Error).message}` });
        },
      );
    }, DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [schedule, timezone, hashed]);

  const live = state.kind === 'invalid' ? state : null;
  const fanIn = dependsOn.length > 0 ? dependsOn.map((d) => `"${d}"`).join(', ') : '';
  const zoneKnown = timezone === '' || allZones.includes(timezone);
  return (
    <>
      <div class="row2">
        <Field
          field="schedule"
          label="Schedule"
          extra={live && live.field !== 'timezone' ? live.message : null}
          hint={
            fanIn ? (
              <>Empty: one run per tick of the parents. A schedule instead draws the windows (e.g. @daily: once a day, when all succeeded that day).</>
            ) : parent ? (
              <>Leave empty to run only after "{parent}" succeeds.</>
            ) : (
              <>
                Cron (<code>0 30 * * * *</code>, seconds first; 5 fields also work), <code>@every 10m</code>, <code>@daily</code>, <code>@at 2030-01-01T00:00:00Z</code> or{' '}
                <code>@manually</code>.
              </>
            )
          }
        >
          {(c) => <input {...c} value={schedule} autoComplete="off" spellcheck={false} placeholder={fanIn ? `after ${dependsOn.join(' + ')}` : parent ? `after ${parent}` : '@every 1m'} onInput={(ev) => set({ schedule: ev.currentTarget.value })} />}
        </Field>
        <Field
          field="timezone"
          label="Time zone"
          extra={live && live.field === 'timezone' ? live.message : !zoneKnown ? `"${timezone}" is not a time zone this browser knows` : null}
          hint="Empty: the agent's zone."
        >
          {(c) => <input {...c} value={timezone} list="tz-list" autoComplete="off" spellcheck={false} placeholder="agent's zone" onInput={(ev) => set({ timezone: ev.currentTarget.value })} />}
        </Field>
        <datalist id="tz-list">
          {allZones.map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
      </div>
      <div class="schedule-preview" aria-live="polite" id="schedule-preview">
        {schedule.trim() === '' ? (
          <p class="muted">
            {fanIn
              ? `Runs once per tick in which ${fanIn} all succeeded.`
              : parent
                ? `Runs each time "${parent}" finishes successfully.`
                : 'No schedule: set one, a parent job, or jobs it depends on.'}
          </p>
        ) : state.kind === 'ok' ? (
          <PreviewList preview={state.preview} />
        ) : state.kind === 'unavailable' ? (
          <p class="muted">{state.message}</p>
        ) : state.kind === 'loading' ? (
          <p class="muted">Checking…</p>
        ) : null}
      </div>
    </>
  );
}

function PreviewList({ preview }: { preview: Preview }): JSX.Element {
  const next = preview.next ?? [];
  return (
    <div>
      {preview.description ? (
        <p class="schedule-words">
          <strong>{preview.description}</strong>
          {preview.timezone ? <span class="muted"> ({preview.timezone})</span> : null}
        </p>
      ) : null}
      {next.length ? (
        <ol class="next-runs" aria-label="Next runs">
          {next.map((n) => (
            <li key={n.at}>
              <time dateTime={n.at}>{n.local}</time>
              {n.offset ? <span class="muted"> {n.offset}</span> : null}
              <span class="muted"> · {relativeTime(Date.parse(n.at))}</span>
              {n.dst ? (
                <span class="badge badge-warn" title={n.note}>
                  DST: {n.dst}
                </span>
              ) : null}
            </li>
          ))}
        </ol>
      ) : (
        <p class="muted">No upcoming runs.</p>
      )}
    </div>
  );
}
