/**
 * The jobs list's filters: search, tags, owner (typed: applied 300 ms after the last key),
 * status, executor, enabled (applied at once). Filtering is server-side.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { badTagPair, type JobsView } from './jobs-query.js';

const DEBOUNCE_MS = 300;

type Typed = 'q' | 'tags' | 'owner';

export interface FiltersProps {
  view: JobsView;
  executors: string[];
  /** `push`: a history entry (a choice made); typing replaces the current one. */
  change: (patch: Partial<JobsView>, push: boolean) => void;
}

export function JobsFilters({ view, executors, change }: FiltersProps): JSX.Element {
  const [typed, setTyped] = useState<Record<Typed, string>>({ q: view.q, tags: view.tags, owner: view.owner });
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);
  const type = (key: Typed, value: string): void => {
    const next = { ...typed, [key]: value };
    setTyped(next);
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => change({ q: next.q.trim(), tags: next.tags, owner: next.owner.trim(), page: 1 }, false), DEBOUNCE_MS);
  };
  const submit = (ev: Event): void => {
    ev.preventDefault();
    if (timer.current) clearTimeout(timer.current);
    change({ q: typed.q.trim(), tags: typed.tags, owner: typed.owner.trim(), page: 1 }, true);
  };
  const badTag = badTagPair(typed.tags);
  const select = (key: 'status' | 'executor' | 'disabled') => (ev: Event) => change({ [key]: (ev.currentTarget as HTMLSelectElement).value, page: 1 }, true);
  const knownExecutors = view.executor && !executors.includes(view.executor) ? [...executors, view.executor] : executors;
  return (
    <form class="jobs-filters" role="search" aria-label="Filter jobs" onSubmit={submit}>
      <div class="field grow">
        <label for="jobs-q">Search</label>
        <input type="search" id="jobs-q" name="q" value={typed.q} placeholder="name or display name" autoComplete="off" onInput={(ev) => type('q', ev.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="jobs-status">Status</label>
        <select id="jobs-status" name="status" value={view.status} onChange={select('status')}>
          <option value="">Any</option>
          <option value="success">Success</option>
          <option value="failed">Failed</option>
          <option value="partially_failed">Partially failed</option>
          <option value="untriggered">Untriggered</option>
        </select>
      </div>
      <div class="field">
        <label for="jobs-disabled">Enabled</label>
        <select id="jobs-disabled" name="disabled" value={view.disabled} onChange={select('disabled')}>
          <option value="">Any</option>
          <option value="false">Enabled</option>
          <option value="true">Disabled</option>
        </select>
      </div>
      <div class="field">
        <label for="jobs-executor">Executor</label>
        <select id="jobs-executor" name="executor" value={view.executor} onChange={select('executor')}>
          <option value="">Any</option>
          {knownExecutors.map((e) => (
            <option key={e} value={e}>
              {e}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="jobs-owner">Owner</label>
        <input id="jobs-owner" name="owner" value={typed.owner} autoComplete="off" onInput={(ev) => type('owner', ev.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="jobs-tags">Tags</label>
        <input
          id="jobs-tags"
          name="tags"
          value={typed.tags}
          placeholder="team=web, env=prod"
          autoComplete="off"
          aria-invalid={badTag ? 'true' : undefined}
          aria-describedby={badTag ? 'jobs-tags-error' : undefined}
          onInput={(ev) => type('tags', ev.currentTarget.value)}
        />
        {badTag ? (
          <div class="field-error" id="jobs-tags-error">
            "{badTag}" is not key=value
          </div>
        ) : null}
      </div>
      <button type="submit" class="sr-only-focusable">
        Search
      </button>
    </form>
  );
}
