/**
 * Create or edit a job (#/new, #/jobs/NAME/edit; admin only): a guided form and a JSON tab over
 * one draft. Server validation errors land on the field (or JSON line) they name; a non-shell
 * command with shell operators is caught before save. Saved: a flash and the job's page.
 */
import './editor.css';
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, jobPath, type Job } from '../api.js';
import { ErrorPanel } from '../components/common.js';
import { flash } from '../flash.js';
import { useLoad, useStore } from '../hooks.js';
import { href, router } from '../router.js';
import { session } from '../session.js';
import { ErrorContext } from './editor-field.js';
import { EditorForm } from './editor-form.js';
import { JsonEditor, type JsonError } from './editor-json.js';
import { jsonLineOf, parseErrorLine, patchDraft, shellProblem, str, TEMPLATE, toDraft, type Draft, type FieldError } from './editor-model.js';
import { usePluginNames } from './jobs-executors.js';

type Tab = 'form' | 'json';

const pretty = (d: Draft): string => JSON.stringify(d, null, 2);

function parseDraft(text: string): { draft: Draft } | { error: JsonError } {
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return { error: { message: 'the job must be a JSON object', field: '', line: null } };
    return { draft: v as Draft };
  } catch (err) {
    const message = `not valid JSON: ${(err as Error).message}`;
    return { error: { message, field: '', line: parseErrorLine(text, (err as Error).message) } };
  }
}

export function EditorPage({ name }: { name: string | null }): JSX.Element {
  useStore(session);
  const title = name ? `Edit ${name}` : 'New job';
  useEffect(() => {
    document.title = `${title} · Kairos`;
  }, [title]);
  if (!session.identity && !session.settled) {
    // Who is signed in is not known yet (a reload asks /v1/auth/whoami).
    return (
      <div>
        <h1>{title}</h1>
        <p class="muted">Loading…</p>
      </div>
    );
  }
  if (!session.can('admin')) {
    return (
      <div>
        <h1>{title}</h1>
        <div class="error" role="alert">
          Creating and editing jobs needs an admin token; you are signed in as {session.identity?.name} ({session.identity?.role}).
        </div>
      </div>
    );
  }
  return <Editor name={name} title={title} />;
}

function Editor({ name, title }: { name: string | null; title: string }): JSX.Element {
  const loaded = useLoad((signal) => (name ? api<Job>('GET', jobPath(name), { signal }).then((r) => toDraft(r.data)) : Promise.resolve({ ...TEMPLATE })), [name]);
  const executors = usePluginNames('executor');
  const processors = usePluginNames('processor');
  const [draft, setDraft] = useState<Draft | null>(null);
  const [tab, setTab] = useState<Tab>('form');
  const [text, setText] = useState('');
  const [formKey, setFormKey] = useState(0);
  const [fieldError, setFieldError] = useState<FieldError | null>(null);
  const [jsonError, setJsonError] = useState<JsonError | null>(null);
  const [saving, setSaving] = useState(false);
  const summary = useRef<HTMLDivElement>(null);
  const formRef = useRef<HTMLFormElement>(null);

  // The first load only: a poll or a reconnect must not overwrite edits.
  useEffect(() => {
    if (draft === null && loaded.data) setDraft(loaded.data);
  }, [loaded.data]);

  // After a failed save, focus the field in error (or the summary when no field shows it).
  const [focusTick, setFocusTick] = useState(0);
  useEffect(() => {
    if (!focusTick || tab !== 'form') return;
    const bad = formRef.current?.querySelector<HTMLElement>('.editor-form [aria-invalid="true"]');
    if (bad) {
      bad.focus();
      bad.scrollIntoView({ block: 'center' });
    } else summary.current?.focus();
  }, [focusTick]);

  if (!draft) {
    return (
      <div>
        <h1>{title}</h1>
        {loaded.error ? <ErrorPanel error={loaded.error} /> : <p class="muted">Loading…</p>}
      </div>
    );
  }

  const update = (patch: Draft): void => {
    setDraft((d) => patchDraft(d ?? {}, patch));
    // The error stays until that field is edited (or the next save).
    if (fieldError && Object.keys(patch).some((k) => fieldError.field === k || fieldError.field.startsWith(`${k}.`))) setFieldError(null);
  };

  const switchTab = (next: Tab): void => {
    if (next === tab) return;
    if (next === 'json') {
      setText(pretty(draft));
      setJsonError(fieldError ? { ...fieldError, line: jsonLineOf(pretty(draft), fieldError.field) } : null);
      setTab('json');
      return;
    }
    const parsed = parseDraft(text);
    if ('error' in parsed) {
      setJsonError(parsed.error);
      return;
    }
    setDraft(parsed.draft);
    setFormKey((k) => k + 1);
    setJsonError(null);
    setTab('form');
  };

  const fail = (err: FieldError, sourceText: string | null): void => {
    setFieldError(err);
    if (sourceText !== null) setJsonError({ ...err, line: jsonLineOf(sourceText, err.field) });
    setFocusTick((t) => t + 1);
  };

  const save = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    let body = draft;
    let sourceText: string | null = null;
    if (tab === 'json') {
      const parsed = parseDraft(text);
      if ('error' in parsed) {
        setJsonError(parsed.error);
        return;
      }
      body = parsed.draft;
      sourceText = text;
      setDraft(body);
    }
    setFieldError(null);
    setJsonError(null);
    const problem = shellProblem(body);
    if (problem) {
      fail(problem, sourceText);
      return;
    }
    setSaving(true);
    try {
      const saved = (await api<Job>('POST', 'jobs', { body })).data;
      const savedName = saved && typeof saved === 'object' && saved.name ? saved.name : str(body.name);
      flash.show(`Saved "${savedName}".`);
      router.go(href.job(savedName));
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, (err as Error).message);
      fail({ field: e.field, message: e.message }, sourceText);
    } finally {
      setSaving(false);
    }
  };

  return (
    <div class="editor-page">
      {name ? (
        <p class="crumbs">
          <a href={href.jobs()}>Jobs</a> / <a href={href.job(name)}>{name}</a> / edit
        </p>
      ) : null}
      <h1>{title}</h1>
      <form ref={formRef} aria-label={name ? `Edit job ${name}` : 'Create a job'} noValidate onSubmit={(ev) => void save(ev)}>
        <div class="tabs" role="tablist" aria-label="Editor">
          {(['form', 'json'] as const).map((t) => (
            <button
              key={t}
              type="button"
              role="tab"
              id={`tab-${t}`}
              aria-selected={tab === t}
              aria-controls={`panel-${t}`}
              tabIndex={tab === t ? 0 : -1}
              onClick={() => switchTab(t)}
              onKeyDown={(ev) => {
                if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
                  const other = t === 'form' ? 'json' : 'form';
                  switchTab(other);
                  document.getElementById(`tab-${other}`)?.focus();
                }
              }}
            >
              {t === 'form' ? 'Form' : 'JSON'}
            </button>
          ))}
        </div>
        {fieldError && tab === 'form' ? (
          <div class="error" role="alert" id="form-error" tabIndex={-1} ref={summary}>
            <strong>Not saved:</strong> {fieldError.message}
            {fieldError.field ? (
              <>
                {' '}
                (field <code class="field-name">{fieldError.field}</code>)
              </>
            ) : null}
          </div>
        ) : null}
        <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
          {tab === 'form' ? (
            <ErrorContext.Provider value={fieldError}>
              <EditorForm key={formKey} draft={draft} update={update} executors={executors} processors={processors} editing={name} />
            </ErrorContext.Provider>
          ) : (
            <JsonEditor
              text={text}
              setText={setText}
              error={jsonError}
            />
          )}
        </div>
        <div class="actions editor-actions">
          <button type="submit" class="primary" disabled={saving}>
            {saving ? 'Saving…' : 'Save'}
          </button>
          {tab === 'json' ? (
            <button
              type="button"
              onClick={() => {
                const parsed = parseDraft(text);
                if ('error' in parsed) setJsonError(parsed.error);
                else {
                  setText(pretty(parsed.draft));
                  setJsonError(null);
                }
              }}
            >
              Format
            </button>
          ) : null}
          <a class="button" href={name ? href.job(name) : href.jobs()}>
            Cancel
          </a>
        </div>
      </form>
    </div>
  );
}
