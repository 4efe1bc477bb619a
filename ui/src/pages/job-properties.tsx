/** The job's properties: schedule (and in words), zone, counters, executor, policies, resources, chain links. */
import type { ComponentChildren, JSX } from 'preact';
import type { Job } from '../api.js';
import { Section, StatusBadge, Tags, Time } from '../components/common.js';
import { href } from '../router.js';
import type { JobNext } from './job.js';
import { describeResources } from '../capacity.js';

function Fact({ label, children }: { label: string; children: ComponentChildren }): JSX.Element {
  const empty = children === '' || children === null || children === undefined;
  return (
    <>
      <dt>{label}</dt>
      <dd>{empty ? <span class="muted">—</span> : children}</dd>
    </>
  );
}

export function JobProperties({ job, next }: { job: Job; next: JobNext | null }): JSX.Element {
  const zone = job.timezone || `agent local${next?.timezone ? ` (${next.timezone})` : ''}`;
  const tags = Object.keys(job.tags ?? {}).length ? <Tags tags={job.tags} /> : null;
  return (
    <Section title="Properties" id="properties">
      <dl class="props">
        {job.displayname ? <Fact label="Name">{job.name}</Fact> : null}
        <Fact label="Schedule">
          {job.schedule ? <code>{job.schedule}</code> : null}
          {next?.description ? <div class="schedule-words">{next.description}</div> : null}
        </Fact>
        <Fact label="Time zone">{zone}</Fact>
        <Fact label="Status">
          <StatusBadge status={job.status} />
        </Fact>
        <Fact label="Enabled">{job.disabled ? 'no (disabled)' : 'yes'}</Fact>
        <Fact label="Next run">
          <Time iso={job.next} zone={job.timezone || undefined} />
        </Fact>
        <Fact label="Last success">
          <Time iso={job.last_success} />
        </Fact>
        <Fact label="Last error">
          <Time iso={job.last_error} />
        </Fact>
        <Fact label="Runs">
          {job.success_count} succeeded, {job.error_count} failed{job.skip_count ? `, ${job.skip_count} skipped` : ''}
        </Fact>
        <Fact label="Executor">{job.executor}</Fact>
        <Fact label="Concurrency">{job.concurrency}</Fact>
        {job.resources ? (
          <Fact label="Resources">
            <span id="job-resources" title="What one run needs of the agent it runs on">
              {describeResources(job.resources)}
            </span>
          </Fact>
        ) : null}
        <Fact label="Retries">{job.retries}</Fact>
        <Fact label="Start SLO">{job.max_start_delay ? `starts within ${job.max_start_delay} of its tick` : 'none'}</Fact>
        <Fact label="Catch-up">{job.catch_up}{job.starting_deadline ? ` (deadline ${job.starting_deadline})` : ''}</Fact>
        <Fact label="Notify on">
          {job.notify_on || 'agent default'}
          {job.notify_skip ? ', and skipped ticks' : ''}
        </Fact>
        {job.owner || job.owner_email ? <Fact label="Owner">{[job.owner, job.owner_email].filter(Boolean).join(' · ')}</Fact> : null}
        <Fact label="Tags">{tags}</Fact>
        {job.parent_job ? (
          <Fact label="Parent job">
            <a href={href.job(job.parent_job)}>{job.parent_job}</a>
          </Fact>
        ) : null}
        {job.depends_on?.length ? (
          <Fact label="Depends on">
            <JobLinks names={job.depends_on} />
          </Fact>
        ) : null}
        {job.dependent_jobs?.length ? (
          <Fact label="Dependent jobs">
            <JobLinks names={job.dependent_jobs} />
          </Fact>
        ) : null}
        {job.starts_at ? (
          <Fact label="Starts">
            <Time iso={job.starts_at} />
          </Fact>
        ) : null}
        {job.expires_at ? (
          <Fact label="Expires">
            <Time iso={job.expires_at} />
          </Fact>
        ) : null}
      </dl>
    </Section>
  );
}

/** Job names, comma separated, each linking to its page. */
function JobLinks({ names }: { names: string[] }): JSX.Element {
  return (
    <>
      {names.map((d, i) => (
        <span key={d}>
          {i ? ', ' : ''}
          <a href={href.job(d)}>{d}</a>
        </span>
      ))}
    </>
  );
}
