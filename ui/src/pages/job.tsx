/**
 * The job page (#/jobs/NAME): header with actions by role, a notice while its ticks wait for an
 * agent with room (capacity), properties, the schedule in words with the next runs, live output of
 * a running execution, the run strip and duration chart, the live workflow graph (depends_on and
 * parent_job links), backfills (jobs with a schedule of their own), executions, skipped ticks,
 * notifications, change history. Sections load on their own (one failing shows its error alone); `version`
 * makes them all reload after an action or when a followed execution ends.
 */
import './job.css';
import type { JSX } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, jobPath, type Execution, type Job, type SkipRecord } from '../api.js';
import { ErrorPanel, Section, StatusBadge } from '../components/common.js';
import { useLoad } from '../hooks.js';
import { href } from '../router.js';
import type { SchedulePreview } from '../../../src/scheduler/preview.js';
import { JobActions } from './job-actions.js';
import { JobProperties } from './job-properties.js';
import { NextRuns } from './job-next.js';
import { LiveOutput } from './job-live.js';
import { RunStrip } from './job-strip.js';
import { DurationChart } from './job-duration.js';
import { JobWorkflow } from './job-workflow.js';
import { JobBackfill } from './job-backfill.js';
import { Executions, prefetchExecutions } from './job-executions.js';
import { Skips } from './job-skips.js';
import { Notifications } from './job-notifications.js';
import { History } from './job-history.js';
import { QueuedNotice } from './job-queued.js';

const POLL_MS = 3000;
/** How many recent executions and skips the strip, chart and notifications look at. */
export const RECENT = 50;

export type JobNext = SchedulePreview & { disabled?: boolean };

export interface Recent {
  executions: Execution[];
  skips: SkipRecord[];
}

export function JobPage({ name, query }: { name: string; query: URLSearchParams }): JSX.Element {
  // Once per page (JobPage is keyed by name): the executions table's first page loads beside the job.
  useState(() => prefetchExecutions(name));
  const [version, setVersion] = useState(0);
  const refresh = useCallback(() => setVersion((v) => v + 1), []);
  const job = useLoad((signal) => api<Job>('GET', jobPath(name), { signal }).then((r) => r.data), [name, version], POLL_MS);
  const recent = useLoad(
    async (signal): Promise<Recent> => {
      const [executions, skips] = await Promise.all([
        api<Execution[]>('GET', jobPath(name, '/executions'), { signal, query: { offset: 0, limit: RECENT, output_size_limit: 0 } }),
        api<SkipRecord[]>('GET', jobPath(name, '/skips'), { signal, query: { _start: 0, _end: RECENT } }).catch(() => ({ data: [] as SkipRecord[] })),
      ]);
      return { executions: executions.data, skips: skips.data };
    },
    [name, version],
    POLL_MS,
  );
  const j = job.data;
  const next = useLoad(
    (signal) => api<JobNext>('GET', jobPath(name, '/next'), { signal, query: { count: 10 } }).then((r) => r.data),
    [name, version, j?.updated_at, j?.next],
  );

  useEffect(() => {
    document.title = `${name} · Kairos`;
  }, [name]);

  if (!j) {
    if (job.error?.status === 404) {
      return (
        <div>
          <h1>{name}</h1>
          <div class="card" role="alert">
            Job “{name}” not found. <a href={href.jobs()}>Back to jobs</a>
          </div>
        </div>
      );
    }
    return (
      <div>
        <h1>{name}</h1>
        {job.error ? <ErrorPanel error={job.error} /> : <p class="muted">Loading…</p>}
      </div>
    );
  }

  const running = (recent.data?.executions ?? []).filter((e) => e.finished_at === null || e.finished_at.startsWith('0001-'));
  return (
    <div class="job-page">
      <p class="crumbs">
        <a href={href.jobs()}>Jobs</a> / {j.name}
      </p>
      <header class="job-head">
        <h1>
          {j.displayname || j.name} <StatusBadge status={j.status} />
          {j.disabled ? (
            <span class="badge badge-disabled" id="job-disabled">
              disabled
            </span>
          ) : null}
        </h1>
        <JobActions job={j} changed={refresh} />
      </header>
      {job.error ? <ErrorPanel error={job.error} /> : null}
      <QueuedNotice job={j.name} version={version} />

      <div class="grid job-top">
        <JobProperties job={j} next={next.data} />
        <NextRuns job={j} next={next.data} error={next.error} />
      </div>

      <LiveOutput job={j.name} running={running} ended={refresh} />

      <Section title="Recent runs" id="recent">
        {recent.error && !recent.data ? <ErrorPanel error={recent.error} /> : null}
        <RunStrip job={j.name} recent={recent.data} />
        <DurationChart recent={recent.data} />
      </Section>

      <JobWorkflow job={j} />
      <JobBackfill job={j} />

      <Executions job={j.name} version={version} selected={query.get('exec')} maxStartDelay={j.max_start_delay ?? ''} />
      <Skips job={j.name} version={version} total={j.skip_count} />
      <Notifications job={j.name} recent={recent.data} />
      <History job={j.name} version={version} />

      <Section title="Job JSON" id="json">
        <details>
          <summary>Show the stored definition</summary>
          <pre id="job-json-view" tabIndex={0}>
            {JSON.stringify(j, null, 2)}
          </pre>
        </details>
      </Section>
    </div>
  );
}
