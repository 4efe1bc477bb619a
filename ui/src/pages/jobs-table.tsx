/** One page of jobs: sortable headings, a checkbox per row (and one for the page), row actions. */
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { Job } from '../api.js';
import { Badge, StatusBadge, Tags, Time } from '../components/common.js';
import { href } from '../router.js';
import type { JobsView } from './jobs-query.js';

const SORTABLE: Record<string, string> = {
  name: 'Name',
  schedule: 'Schedule',
  status: 'Status',
  executor: 'Executor',
  owner: 'Owner',
  success_count: 'Success',
  error_count: 'Errors',
  last_success: 'Last success',
  last_error: 'Last error',
  next: 'Next',
};

export interface TableProps {
  jobs: Job[];
  view: JobsView;
  selected: Set<string>;
  select: (names: string[], on: boolean) => void;
  sort: (key: string) => void;
  act: (action: 'run' | 'toggle' | 'delete', job: Job) => void;
  operate: boolean;
  admin: boolean;
  empty: string;
}

function SortHeading({ k, view, sort }: { k: string; view: JobsView; sort: (key: string) => void }): JSX.Element {
  const active = view.sort === k;
  const label = SORTABLE[k] ?? k;
  return (
    <th scope="col" aria-sort={active ? (view.order === 'ASC' ? 'ascending' : 'descending') : undefined}>
      <button type="button" class="sort" aria-label={`Sort by ${label.toLowerCase()}`} onClick={() => sort(k)}>
        {label}
        <span aria-hidden="true">{active ? (view.order === 'ASC' ? ' ▲' : ' ▼') : ''}</span>
      </button>
    </th>
  );
}

/** A child job runs when its parent finishes, not on a schedule: say so. */
function Schedule({ job }: { job: Job }): JSX.Element {
  if (job.parent_job) {
    return (
      <span class="after">
        after <a href={href.job(job.parent_job)}>{job.parent_job}</a>
      </span>
    );
  }
  return <code>{job.schedule}</code>;
}

export function JobsTable({ jobs, view, selected, select, sort, act, operate, admin, empty }: TableProps): JSX.Element {
  const names = jobs.map((j) => j.name);
  const picked = names.filter((n) => selected.has(n)).length;
  const all = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (all.current) all.current.indeterminate = picked > 0 && picked < names.length;
  });
  const bulk = operate;
  const cols = 11 + (bulk ? 1 : 0);
  return (
    <table class="responsive jobs-table" aria-label="Jobs">
      <thead>
        <tr>
          {bulk ? (
            <th scope="col" class="pick">
              <input ref={all} type="checkbox" aria-label="Select all jobs on this page" checked={names.length > 0 && picked === names.length} disabled={names.length === 0} onChange={(ev) => select(names, ev.currentTarget.checked)} />
            </th>
          ) : null}
          <SortHeading k="name" view={view} sort={sort} />
          <SortHeading k="schedule" view={view} sort={sort} />
          <SortHeading k="status" view={view} sort={sort} />
          <SortHeading k="executor" view={view} sort={sort} />
          <SortHeading k="owner" view={view} sort={sort} />
          <SortHeading k="success_count" view={view} sort={sort} />
          <SortHeading k="error_count" view={view} sort={sort} />
          <SortHeading k="last_success" view={view} sort={sort} />
          <SortHeading k="last_error" view={view} sort={sort} />
          <SortHeading k="next" view={view} sort={sort} />
          <th scope="col">
            <span class="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {jobs.length === 0 ? (
          <tr>
            <td colSpan={cols} class="empty" data-label="">
              {empty}
            </td>
          </tr>
        ) : (
          jobs.map((j) => (
            <tr key={j.name} data-job={j.name} class={selected.has(j.name) ? 'picked' : undefined}>
              {bulk ? (
                <td class="pick" data-label="Select">
                  <input type="checkbox" aria-label={`Select ${j.name}`} checked={selected.has(j.name)} onChange={(ev) => select([j.name], ev.currentTarget.checked)} />
                </td>
              ) : null}
              <td data-label="Name" class="name">
                <div>
                  <a href={href.job(j.name)}>{j.name}</a>
                  {j.displayname ? <div class="muted small">{j.displayname}</div> : null}
                  <Tags tags={j.tags} />
                </div>
              </td>
              <td data-label="Schedule">
                <div>
                  <Schedule job={j} />
                  {j.timezone ? <div class="muted small">{j.timezone}</div> : null}
                </div>
              </td>
              <td data-label="Status" class="status">
                <StatusBadge status={j.status} /> {j.disabled ? <Badge kind="disabled">disabled</Badge> : null}
              </td>
              <td data-label="Executor">{j.executor}</td>
              <td data-label="Owner">{j.owner || <span class="muted">—</span>}</td>
              <td data-label="Success" class="num">
                {j.success_count}
              </td>
              <td data-label="Errors" class="num">
                {j.error_count}
              </td>
              <td data-label="Last success">
                <Time iso={j.last_success} zone={j.timezone} />
              </td>
              <td data-label="Last error">
                <Time iso={j.last_error} zone={j.timezone} />
              </td>
              <td data-label="Next">{j.disabled ? <span class="muted">—</span> : j.parent_job && !j.next ? <span class="muted">after parent</span> : <Time iso={j.next} zone={j.timezone} />}</td>
              <td data-label="" class="row-actions">
                {operate ? (
                  <>
                    <button type="button" aria-label={`Run ${j.name}`} onClick={() => act('run', j)}>
                      Run
                    </button>
                    <button type="button" aria-label={`${j.disabled ? 'Enable' : 'Disable'} ${j.name}`} title={j.disabled ? 'Enable' : 'Disable'} onClick={() => act('toggle', j)}>
                      {j.disabled ? 'Enable' : 'Disable'}
                    </button>
                  </>
                ) : null}
                {admin ? (
                  <button type="button" class="danger" aria-label={`Delete ${j.name}`} onClick={() => act('delete', j)}>
                    Delete
                  </button>
                ) : null}
              </td>
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}
