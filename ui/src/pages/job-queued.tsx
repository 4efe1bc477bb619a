/**
 * The job page's notice while ticks of the job wait for an agent with room for its `resources`
 * (GET /v1/queue, polled; the leader holds them and starts them in order as runs end).
 */
import type { JSX } from 'preact';
import { useLoad } from '../hooks.js';
import { href } from '../router.js';
import { loadQueue, QUEUE_LIMIT } from '../capacity.js';

const POLL_MS = 3000;

export function QueuedNotice({ job, version }: { job: string; version: number }): JSX.Element | null {
  const queue = useLoad(loadQueue, [version], POLL_MS);
  const mine = (queue.data ?? []).filter((q) => q.job === job);
  const first = mine[0];
  // Nothing to say (or the queue can't be read: the rest of the page says enough about the job).
  if (!first) return <div id="job-queued" role="status" class="sr-only" />;
  // The API lists the first 20 of all jobs: a full list may hold back more of this job's.
  const n = queue.data && queue.data.length >= QUEUE_LIMIT ? `${mine.length}+` : String(mine.length);
  const runs = n === '1' ? 'run' : 'runs';
  return (
    <div id="job-queued" role="status" class="queued-notice">
      <strong>
        {n} {runs} waiting for an agent with room:
      </strong>{' '}
      <span class="queued-reason">{first.reason}</span>{' '}
      <a href={href.busy('queued')} class="small">
        All waiting runs
      </a>
    </div>
  );
}
