/**
 * The last runs as coloured squares, oldest left: executions link to their record on this page,
 * skipped ticks show their reason on hover/focus. One glance answers "has it been healthy".
 */
import type { JSX } from 'preact';
import type { Execution, SkipRecord } from '../api.js';
import { duration } from '../components/common.js';
import { href } from '../router.js';
import type { Recent } from './job.js';
import { isRunning, runMs } from './job-util.js';

type Cell = { at: number; kind: 'exec'; e: Execution } | { at: number; kind: 'skip'; s: SkipRecord };

const SHOWN = 50;

function when(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function RunStrip({ job, recent }: { job: string; recent: Recent | null }): JSX.Element | null {
  if (!recent) return null;
  const cells: Cell[] = [
    ...recent.executions.map((e): Cell => ({ at: Date.parse(e.started_at), kind: 'exec', e })),
    ...recent.skips.map((s): Cell => ({ at: Date.parse(s.scheduled_at), kind: 'skip', s })),
  ]
    .sort((a, b) => a.at - b.at)
    .slice(-SHOWN);
  if (cells.length === 0) return <p class="muted">No runs yet.</p>;
  const counts = { ok: 0, bad: 0, run: 0, skip: 0 };
  const squares = cells.map((c) => {
    if (c.kind === 'skip') {
      counts.skip++;
      const label = `skipped ${when(c.at)}${c.s.count > 1 ? ` (${c.s.count} ticks)` : ''}: ${c.s.reason}`;
      return <span key={`s${c.s.id}`} class="skip" tabIndex={0} role="img" aria-label={label} title={label} data-skip={c.s.id} />;
    }
    const e = c.e;
    const state = isRunning(e) ? 'run' : e.success ? 'ok' : 'bad';
    counts[state]++;
    const word = state === 'run' ? 'running' : state === 'ok' ? 'succeeded' : 'failed';
    const label = `${word} ${when(c.at)}${state === 'run' ? '' : `, ${duration(runMs(e))}`}${e.attempt > 1 ? `, attempt ${e.attempt}` : ''}`;
    return <a key={e.id} class={state} href={`${href.job(job)}?exec=${encodeURIComponent(e.id)}`} aria-label={label} title={label} data-execution={e.id} />;
  });
  return (
    <div class="run-strip">
      <div class="strip" role="group" aria-label={`Last ${cells.length} runs, oldest first`}>
        {squares}
      </div>
      <p class="small muted strip-legend">
        <span class="key ok" /> {counts.ok} succeeded <span class="key bad" /> {counts.bad} failed <span class="key skip" /> {counts.skip} skipped
        {counts.run ? (
          <>
            {' '}
            <span class="key run" /> {counts.run} running
          </>
        ) : null}
      </p>
    </div>
  );
}
