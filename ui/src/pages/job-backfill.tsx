/**
 * Backfill on the job page: re-run every tick of the job's schedule in [from, to], at most
 * `parallelism` at a time (POST /v1/jobs/NAME/backfill). The form takes From and To in UTC (the
 * hint shows what is sent, and the time in the job's zone), previews the ticks (dry_run) and starts
 * the backfill (operate role; the server's field errors sit under the field they name). Below, the
 * job's backfills, newest first, each with a progress bar (succeeded / failed / skipped / running
 * out of its ticks), polled every 2 s while one runs; running ones can be cancelled. Shown only
 * for jobs with a schedule of their own (no parent_job, no depends_on, not @manually).
 */
import './job-backfill.css';
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, jobPath, type Job } from '../api.js';
import { Badge, ErrorPanel, Section, Time } from '../components/common.js';
import { flash } from '../flash.js';
import { useLoad, useStore } from '../hooks.js';
import { session } from '../session.js';
import type { BackfillView, DryRun } from '../../../src/core/backfills.js';
import { plural, utcText } from './job-util.js';
import { ErrorMessage } from './editor-field.js';

const POLL_MS = 2000;
/** Ticks listed at each end of a preview. */
const PREVIEW_ENDS = 3;
const FIELDS = ['from', 'to', 'parallelism'] as const;
type FormField = (typeof FIELDS)[number];
type FieldErrors = Partial<Record<FormField, string>>;

/** Whether the job has ticks of its own to backfill (else the section is left out). */
export const backfillable = (job: Job): boolean => {
  const schedule = job.schedule.trim();
  return schedule !== '' && schedule !== '@manually' && !job.parent_job && (job.depends_on?.length ?? 0) === 0;
};

/** A datetime-local value ("2026-11-29T03:00", read as UTC) → "2026-11-29T03:00:00Z"; null if it is no real time. */
export function utcIso(value: string): string | null {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?$/.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return null;
  return date.toISOString().replace('.000Z', 'Z');
}

const isUtc = (tz: string): boolean => tz === '' || tz === 'UTC' || tz === 'Etc/UTC' || tz === 'GMT';

/** The time in the job's zone, when that is not UTC ("29 Nov 2026, 04:00"). */
function inZone(iso: string, tz: string): string | null {
  if (isUtc(tz)) return null;
  try {
    return new Date(iso).toLocaleString(undefined, { timeZone: tz, dateStyle: 'medium', timeStyle: 'short' });
  } catch {
    return null;
  }
}

/** "18/24 done · 3 running · 1 failed": done counts every finished tick, whatever its outcome. */
export function progressText(b: BackfillView): string {
  const done = b.succeeded + b.failed + b.skipped;
  const parts = [`${done}/${b.ticks} done`];
  if (b.running) parts.push(`${b.running} running`);
  if (b.failed) parts.push(`${b.failed} failed`);
  if (b.skipped) parts.push(`${b.skipped} skipped`);
  if (b.state === 'cancelled') {
    const notRun = b.ticks - Math.max(b.dispatched, done + b.running);
    if (notRun > 0) parts.push(`${notRun} not run`);
  }
  return parts.join(' · ');
}

const STATE_KIND: Record<BackfillView['state'], string> = { running: 'running', done: 'success', cancelled: 'disabled' };

function StateBadge({ b }: { b: BackfillView }): JSX.Element {
  const kind = b.state === 'done' && b.failed > 0 ? 'partially_failed' : STATE_KIND[b.state];
  return <Badge kind={kind}>{b.state}</Badge>;
}

function Progress({ b }: { b: BackfillView }): JSX.Element {
  const text = progressText(b);
  const done = b.succeeded + b.failed + b.skipped;
  const pct = (n: number): string => `${b.ticks > 0 ? Math.min(100, (n / b.ticks) * 100) : 0}%`;
  const segments: Array<[string, number]> = [
    ['ok', b.succeeded],
    ['bad', b.failed],
    ['skip', b.skipped],
    ['run', b.running],
  ];
  return (
    <div class="bf-progress-wrap">
      <div
        class="bf-progress"
        role="progressbar"
        aria-label={`Progress of backfill ${b.id}`}
        aria-valuemin={0}
        aria-valuemax={b.ticks}
        aria-valuenow={done}
        aria-valuetext={text}
        data-done={done}
      >
        {segments.map(([cls, n]) => (n > 0 ? <span key={cls} class={`bf-seg bf-${cls}`} style={{ width: pct(n) }} /> : null))}
      </div>
      <div class="small bf-progress-text" aria-hidden="true">
        {b.ticks === 0 ? 'no ticks in the range' : text}
      </div>
    </div>
  );
}

function Preview({ dry, timezone }: { dry: DryRun; timezone: string }): JSX.Element {
  const n = dry.ticks.length;
  const shown = n <= PREVIEW_ENDS * 2 ? dry.ticks : [...dry.ticks.slice(0, PREVIEW_ENDS), null, ...dry.ticks.slice(-PREVIEW_ENDS)];
  return (
    <div class="bf-preview" id="backfill-preview" data-ticks={n}>
      <p>
        <strong>{plural(n, 'tick')}</strong> from {utcText(dry.from)} to {utcText(dry.to)}
        {n > 0 ? `, ${dry.parallelism} at a time` : ': nothing to run'}.
      </p>
      {n > 0 ? (
        <ol class="bf-ticks small" aria-label="Ticks to run">
          {shown.map((t, i) =>
            t === null ? (
              <li key="gap" class="muted bf-gap">
                … {n - PREVIEW_ENDS * 2} more …
              </li>
            ) : (
              <li key={t} value={i > PREVIEW_ENDS ? n - (shown.length - 1 - i) : i + 1}>
                <time dateTime={t}>{utcText(t)}</time>
                {inZone(t, timezone) ? <span class="muted"> · {inZone(t, timezone)} {timezone}</span> : null}
              </li>
            ),
          )}
        </ol>
      ) : null}
    </div>
  );
}

function TimeField({
  field,
  label,
  value,
  set,
  error,
  timezone,
}: {
  field: 'from' | 'to';
  label: string;
  value: string;
  set: (v: string) => void;
  error?: string;
  timezone: string;
}): JSX.Element {
  const id = `bf-${field}`;
  const iso = utcIso(value);
  const zoned = iso ? inZone(iso, timezone) : null;
  return (
    <div class="bf-field" data-field={field}>
      <label for={id}>{label} (UTC)</label>
      <input
        id={id}
        type="datetime-local"
        value={value}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={`${error ? `${id}-error ` : ''}${id}-hint`}
        onInput={(ev) => set(ev.currentTarget.value)}
      />
      <ErrorMessage id={id} message={error} />
      <div class="hint" id={`${id}-hint`}>
        {iso ? (
          <>
            Sent as <code>{iso}</code>
            {zoned ? ` · ${zoned} in ${timezone}, the job's zone` : ''}
          </>
        ) : (
          'In UTC, not your local time.'
        )}
      </div>
    </div>
  );
}

function BackfillForm({ job, started }: { job: Job; started: () => void }): JSX.Element {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [parallelism, setParallelism] = useState('1');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [other, setOther] = useState<ApiError | null>(null);
  const [preview, setPreview] = useState<DryRun | null>(null);
  const [busy, setBusy] = useState(false);
  const name = job.name;

  // A field the server (or the check below) refused takes the focus, its message read with it.
  useEffect(() => {
    const first = FIELDS.find((f) => errors[f]);
    if (first) document.getElementById(`bf-${first}`)?.focus();
  }, [errors]);

  const edit =
    (set: (v: string) => void, field: FormField) =>
    (v: string): void => {
      set(v);
      setPreview(null);
      if (errors[field]) setErrors((e) => ({ ...e, [field]: undefined }));
    };

  /** The request body, or null (with the problems shown) when From or To is not a time. */
  const body = (dryRun: boolean): Record<string, unknown> | null => {
    const f = utcIso(from);
    const t = utcIso(to);
    const problems: FieldErrors = {};
    if (!f) problems.from = from ? `“${from}” is not a date and time` : 'Pick the first time of the range.';
    if (!t) problems.to = to ? `“${to}” is not a date and time` : 'Pick the last time of the range.';
    if (!f || !t) {
      setErrors(problems);
      return null;
    }
    const p = parallelism.trim() === '' ? undefined : Number(parallelism);
    return { from: f, to: t, ...(p === undefined ? {} : { parallelism: p }), ...(dryRun ? { dry_run: true } : {}) };
  };

  /** A refusal: under its field when it names one of the form's, else above the buttons. */
  const refused = (err: unknown): ApiError => {
    const e = err instanceof ApiError ? err : new ApiError(0, (err as Error).message);
    if ((FIELDS as readonly string[]).includes(e.field)) setErrors({ [e.field]: e.message });
    else setOther(e);
    return e;
  };

  const send = async (dryRun: boolean): Promise<void> => {
    setErrors({});
    setOther(null);
    const b = body(dryRun);
    if (!b) return;
    setBusy(true);
    try {
      if (dryRun) {
        setPreview((await api<DryRun>('POST', jobPath(name, '/backfill'), { body: b })).data);
      } else {
        const { data } = await api<BackfillView>('POST', jobPath(name, '/backfill'), { body: b });
        setPreview(null);
        flash.show(`Backfill ${data.id} of “${name}” started: ${plural(data.ticks, 'tick')}, ${data.parallelism} at a time.`);
        started();
      }
    } catch (err) {
      const e = refused(err);
      if (!dryRun) flash.show(`Backfill of “${name}” failed: ${e.message}`, 'error');
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      class="bf-form"
      aria-label={`Backfill ${name}`}
      noValidate
      onSubmit={(ev) => {
        ev.preventDefault();
        void send(true);
      }}
    >
      <p class="hint bf-intro">
        Runs every tick of <code>{job.schedule}</code> ({job.timezone || 'UTC'}) from From to To, both included, once each. Times are <strong>UTC</strong>.
      </p>
      <div class="bf-fields">
        <TimeField field="from" label="From" value={from} set={edit(setFrom, 'from')} error={errors.from} timezone={job.timezone} />
        <TimeField field="to" label="To" value={to} set={edit(setTo, 'to')} error={errors.to} timezone={job.timezone} />
        <div class="bf-field bf-parallelism" data-field="parallelism">
          <label for="bf-parallelism">Parallelism</label>
          <input
            id="bf-parallelism"
            type="number"
            min={1}
            max={100}
            step={1}
            inputMode="numeric"
            value={parallelism}
            aria-invalid={errors.parallelism ? 'true' : undefined}
            aria-describedby={`${errors.parallelism ? 'bf-parallelism-error ' : ''}bf-parallelism-hint`}
            onInput={(ev) => edit(setParallelism, 'parallelism')(ev.currentTarget.value)}
          />
          {errors.parallelism ? (
            <div class="field-error" id="bf-parallelism-error">
              {errors.parallelism}
            </div>
          ) : null}
          <div class="hint" id="bf-parallelism-hint">
            Runs at a time, 1–100.
          </div>
        </div>
      </div>
      <ErrorPanel error={other} />
      <div class="actions">
        <button type="submit" disabled={busy}>
          Preview ticks
        </button>
        <button type="button" class="primary" disabled={busy} onClick={() => void send(false)}>
          Start backfill
        </button>
      </div>
      <div role="status" class="bf-preview-slot">
        {preview ? <Preview dry={preview} timezone={job.timezone} /> : null}
      </div>
    </form>
  );
}

function BackfillRows({ job, items, operate, changed }: { job: string; items: BackfillView[]; operate: boolean; changed: () => void }): JSX.Element {
  const [cancelling, setCancelling] = useState<string | null>(null);
  const cancel = async (b: BackfillView): Promise<void> => {
    setCancelling(b.id);
    try {
      await api<BackfillView>('DELETE', jobPath(job, `/backfills/${encodeURIComponent(b.id)}`));
      flash.show(`Backfill ${b.id} of “${job}” cancelled: runs under way finish, no new ticks start.`);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, (err as Error).message);
      flash.show(e.code === 'KAIROS_BACKFILL_NOT_RUNNING' ? `Backfill ${b.id} of “${job}” had already ended.` : `Cancel backfill ${b.id} of “${job}” failed: ${e.message}`, 'error');
    } finally {
      setCancelling(null);
      changed();
    }
  };
  return (
    <table class="responsive backfills" aria-label="Backfills">
      <thead>
        <tr>
          <th scope="col">Backfill</th>
          <th scope="col">Range (UTC)</th>
          <th scope="col">Progress</th>
          <th scope="col">State</th>
          <th scope="col">Parallelism</th>
          <th scope="col">Created by</th>
          {operate ? (
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          ) : null}
        </tr>
      </thead>
      <tbody>
        {items.map((b) => (
          <tr key={b.id} data-backfill={b.id} data-state={b.state}>
            <td data-label="Backfill">
              <span class="bf-id">
                <span class="mono">{b.id}</span>
                <span class="small muted">
                  {' '}
                  started <Time iso={b.created_at} />
                  {b.finished_at ? (
                    <>
                      , ended <Time iso={b.finished_at} />
                    </>
                  ) : null}
                </span>
              </span>
            </td>
            <td data-label="Range (UTC)">
              <span class="bf-range">
                <span>
                  {utcText(b.from, false)} → {utcText(b.to, false)}
                </span>
                <span class="small muted">
                  <code>{b.schedule}</code> {b.timezone || 'UTC'} · {plural(b.ticks, 'tick')}
                </span>
              </span>
            </td>
            <td data-label="Progress">
              <Progress b={b} />
            </td>
            <td data-label="State">
              <StateBadge b={b} />
            </td>
            <td data-label="Parallelism">{b.parallelism}</td>
            <td data-label="Created by">{b.created_by || <span class="muted">—</span>}</td>
            {operate ? (
              <td data-label="">
                {b.state === 'running' ? (
                  <button type="button" class="danger" disabled={cancelling === b.id} aria-label={`Cancel backfill ${b.id}`} onClick={() => void cancel(b)}>
                    Cancel
                  </button>
                ) : null}
              </td>
            ) : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function BackfillSection({ job }: { job: Job }): JSX.Element {
  const s = useStore(session);
  const operate = s.can('operate');
  const [polling, setPolling] = useState(false);
  // The job (polled by the page) changes when a backfill starts or ends anywhere: reload then too.
  const seen = (job.backfills ?? []).map((b) => `${b.id}:${b.state}`).join(',');
  const list = useLoad(
    (signal) => api<BackfillView[]>('GET', jobPath(job.name, '/backfills'), { signal }).then((r) => r.data),
    [job.name, seen],
    polling ? POLL_MS : undefined,
  );
  const items = list.data ?? [];
  const active = items.some((b) => b.state === 'running' || b.running > 0);
  useEffect(() => setPolling(active), [active]);

  return (
    <Section title="Backfill" id="backfill">
      {operate ? (
        <BackfillForm job={job} started={list.reload} />
      ) : (
        <p class="muted small" id="backfill-readonly">
          Starting or cancelling a backfill needs the operate role.
        </p>
      )}
      <h3 id="backfills-heading">Backfills</h3>
      {list.error ? <ErrorPanel error={list.error} /> : null}
      {items.length === 0 ? (
        <p class="muted">{list.data ? 'No backfills yet.' : list.error ? '' : 'Loading…'}</p>
      ) : (
        <BackfillRows job={job.name} items={items} operate={operate} changed={list.reload} />
      )}
    </Section>
  );
}

export function JobBackfill({ job }: { job: Job }): JSX.Element | null {
  return backfillable(job) ? <BackfillSection job={job} /> : null;
}
