/** What to do with the selected jobs: asks first (naming the count), then reports per job. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { flash } from '../flash.js';
import { BULK_LABEL, runBulk, type BulkAction, type BulkOutcome } from './jobs-bulk.js';
import { ConfirmDialog } from './jobs-confirm.js';

const plural = (n: number): string => `${n} job${n === 1 ? '' : 's'}`;

const EXPLAIN: Record<BulkAction, string> = {
  enable: 'They will run on their schedules again.',
  disable: 'They will not run on their schedules until enabled (a manual run still works).',
  run: 'Each runs once now, on the agents its tags select.',
  delete: 'The jobs and all their executions are removed. This cannot be undone.',
};

export function BulkBar({ selected, admin, clear, done }: { selected: Set<string>; admin: boolean; clear: () => void; done: () => void }): JSX.Element {
  const [asking, setAsking] = useState<BulkAction | null>(null);
  const [working, setWorking] = useState<BulkAction | null>(null);
  const [failures, setFailures] = useState<BulkOutcome[]>([]);
  const names = [...selected].sort();
  const n = names.length;
  const actions: BulkAction[] = admin ? ['enable', 'disable', 'run', 'delete'] : ['enable', 'disable', 'run'];

  const go = async (action: BulkAction): Promise<void> => {
    setAsking(null);
    setWorking(action);
    setFailures([]);
    const outcomes = await runBulk(action, names);
    setWorking(null);
    const bad = outcomes.filter((o) => !o.ok);
    const good = outcomes.length - bad.length;
    setFailures(bad);
    flash.show(`${BULK_LABEL[action]}: ${plural(good)} done${bad.length ? `, ${bad.length} failed` : ''}.`, bad.length ? 'error' : 'ok');
    // Keep the failed ones selected to retry; the rest are done.
    if (bad.length === 0) clear();
    done();
  };

  return (
    <div class="bulk-bar card" role="region" aria-label="Selected jobs">
      <strong id="bulk-count">{plural(n)} selected</strong>
      <div class="actions">
        {actions.map((a) => (
          <button key={a} type="button" class={a === 'delete' ? 'danger' : undefined} disabled={working !== null} onClick={() => setAsking(a)}>
            {BULK_LABEL[a]}
          </button>
        ))}
        <button type="button" class="link" onClick={clear} disabled={working !== null}>
          Clear selection
        </button>
      </div>
      {working ? (
        <p class="muted" role="status">
          {BULK_LABEL[working]}: working on {plural(n)}…
        </p>
      ) : null}
      {failures.length ? (
        <div class="error" role="alert">
          <strong>{plural(failures.length)} failed:</strong>
          <ul class="bulk-failures">
            {failures.map((f) => (
              <li key={f.name} data-job={f.name}>
                <strong>{f.name}</strong>: {f.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {asking ? (
        <ConfirmDialog
          title={`${BULK_LABEL[asking]} ${plural(n)}?`}
          confirmLabel={`${BULK_LABEL[asking]} ${plural(n)}`}
          danger={asking === 'delete'}
          onConfirm={() => void go(asking)}
          onCancel={() => setAsking(null)}
        >
          <p>{EXPLAIN[asking]}</p>
          <p class="muted small">{names.length <= 10 ? names.join(', ') : `${names.slice(0, 10).join(', ')} and ${n - 10} more`}</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
