/**
 * The jobs list: one page of rows fetched and rendered at a time (fast at 100k jobs), sorted,
 * searched and filtered server-side; the view lives in the hash. Bulk actions on the selection.
 */
import './jobs.css';
import type { JSX } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, jobPath, type Job } from '../api.js';
import { ErrorPanel } from '../components/common.js';
import { flash } from '../flash.js';
import { useLoad, useStore } from '../hooks.js';
import { href } from '../router.js';
import { session } from '../session.js';
import { apiQuery, isFiltered, parseView, viewHash, writeHash, type JobsView } from './jobs-query.js';
import { JobsFilters } from './jobs-filters.js';
import { JobsTable } from './jobs-table.js';
import { JobsPager } from './jobs-pager.js';
import { BulkBar } from './jobs-bulk-bar.js';
import { ConfirmDialog } from './jobs-confirm.js';
import { useExecutorNames } from './jobs-executors.js';

const POLL_MS = 5000;

export function JobsPage({ query }: { query: URLSearchParams }): JSX.Element {
  useStore(session);
  const [view, setView] = useState<JobsView>(() => parseView(query));
  // Back/forward (or a link to #/jobs?...) hands a new query: take it unless it is what we show.
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const next = parseView(query);
    if (viewHash(next) !== viewHash(view)) {
      setView(next);
      setGeneration((g) => g + 1);
    }
  }, [query]);
  useEffect(() => {
    document.title = 'Jobs · Kairos';
  }, []);

  const change = useCallback((patch: Partial<JobsView>, push: boolean) => {
    setView((v) => {
      const next = { ...v, ...patch };
      writeHash(next, push);
      return next;
    });
  }, []);
  const sort = (key: string): void => change({ sort: key, order: view.sort === key && view.order === 'ASC' ? 'DESC' : 'ASC', page: 1 }, true);

  const q = apiQuery(view);
  const key = JSON.stringify(q);
  const list = useLoad((signal) => api<Job[]>('GET', 'jobs', { query: q, signal }), [key], POLL_MS);
  const jobs = list.data?.data ?? [];
  const total = list.data?.total ?? jobs.length;
  const pages = Math.max(1, Math.ceil(total / view.per));
  // A page past the end (jobs deleted meanwhile, an old link): go to the last one.
  useEffect(() => {
    if (list.data && jobs.length === 0 && total > 0 && view.page > pages) change({ page: pages }, false);
  }, [list.data]);

  const executors = useExecutorNames();
  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const select = useCallback((names: string[], on: boolean) => {
    setSelected((s) => {
      const next = new Set(s);
      for (const n of names) {
        if (on) next.add(n);
        else next.delete(n);
      }
      return next;
    });
  }, []);

  const [deleting, setDeleting] = useState<Job | null>(null);
  const busy = useRef(false);
  const act = async (action: 'run' | 'toggle' | 'delete', job: Job): Promise<void> => {
    if (action === 'delete') {
      setDeleting(job);
      return;
    }
    if (busy.current) return;
    busy.current = true;
    try {
      if (action === 'run') {
        await api('POST', jobPath(job.name));
        flash.show(`Run of "${job.name}" requested.`);
      } else {
        const after = (await api<Job>('POST', jobPath(job.name, '/toggle'))).data;
        flash.show(`"${job.name}" is now ${after.disabled ? 'disabled' : 'enabled'}.`);
      }
      list.reload();
    } catch (err) {
      flash.show(`${action === 'run' ? 'Run' : 'Toggle'} "${job.name}" failed: ${(err as Error).message}`, 'error');
    } finally {
      busy.current = false;
    }
  };
  const confirmDelete = async (job: Job): Promise<void> => {
    setDeleting(null);
    try {
      await api('DELETE', jobPath(job.name));
      flash.show(`Deleted "${job.name}".`);
      select([job.name], false);
    } catch (err) {
      flash.show(`Delete "${job.name}" failed: ${(err as Error).message}`, 'error');
    }
    list.reload();
  };

  const start = (view.page - 1) * view.per;
  const filtered = isFiltered(view);
  const summary = useMemo(() => {
    if (!list.data) return list.loading ? 'Loading…' : '';
    if (total === 0) return filtered ? 'No jobs match the filters.' : 'No jobs yet.';
    return `Showing ${start + 1}–${start + jobs.length} of ${total} jobs`;
  }, [list.data, list.loading, total, start, jobs.length, filtered]);

  const operate = session.can('operate');
  const admin = session.can('admin');
  return (
    <div class="jobs-page">
      <div class="title-row">
        <h1>Jobs</h1>
        {admin ? (
          <a class="button primary" href={href.newJob()}>
            New job
          </a>
        ) : null}
      </div>
      <JobsFilters key={generation} view={view} executors={executors} change={change} />
      <div class="list-head">
        <p class="muted" id="jobs-summary" aria-live="polite">
          {summary}
        </p>
        {filtered ? (
          <button type="button" class="link" onClick={() => {
            change({ q: '', status: '', disabled: '', tags: '', owner: '', executor: '', page: 1 }, true);
            setGeneration((g) => g + 1);
          }}>
            Clear filters
          </button>
        ) : null}
      </div>
      {operate && selected.size > 0 ? <BulkBar selected={selected} admin={admin} clear={() => setSelected(new Set())} done={() => list.reload()} /> : null}
      <ErrorPanel error={list.error} />
      {list.data ? (
        <JobsTable
          jobs={jobs}
          view={view}
          selected={selected}
          select={select}
          sort={sort}
          act={(a, j) => void act(a, j)}
          operate={operate}
          admin={admin}
          empty={filtered ? 'No jobs match the filters.' : 'No jobs yet.'}
        />
      ) : null}
      <JobsPager view={view} pages={pages} change={change} />
      {deleting ? (
        <ConfirmDialog title={`Delete "${deleting.name}"?`} confirmLabel="Delete" danger onConfirm={() => void confirmDelete(deleting)} onCancel={() => setDeleting(null)}>
          <p>The job and all its executions are removed. This cannot be undone.</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
