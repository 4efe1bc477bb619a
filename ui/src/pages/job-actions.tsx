/** Run / Toggle / Edit / Delete of the job page, each shown only to a role that may use it. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, jobPath, type Job } from '../api.js';
import { flash } from '../flash.js';
import { useStore } from '../hooks.js';
import { href, router } from '../router.js';
import { session } from '../session.js';

export function JobActions({ job, changed }: { job: Job; changed: () => void }): JSX.Element | null {
  const s = useStore(session);
  const [busy, setBusy] = useState(false);
  const name = job.name;

  const act = async (what: string, fn: () => Promise<string | null>): Promise<void> => {
    setBusy(true);
    try {
      const message = await fn();
      if (message) flash.show(message);
    } catch (err) {
      flash.show(`${what} “${name}” failed: ${(err as Error).message}`, 'error');
    } finally {
      setBusy(false);
      // A refused run records a skipped tick: show it too.
      changed();
    }
  };

  const run = (): Promise<void> =>
    act('Run', async () => {
      await api('POST', jobPath(name, '/run'));
      return `Run of “${name}” requested.`;
    });
  const toggle = (): Promise<void> =>
    act('Toggle', async () => {
      const { data } = await api<Job>('POST', jobPath(name, '/toggle'));
      return `“${name}” is now ${data.disabled ? 'disabled' : 'enabled'}.`;
    });
  const remove = async (): Promise<void> => {
    if (!window.confirm(`Delete job “${name}” and all its executions?`)) return;
    setBusy(true);
    try {
      await api('DELETE', jobPath(name));
      flash.show(`Deleted “${name}”.`);
      router.go(href.jobs());
    } catch (err) {
      flash.show(`Delete “${name}” failed: ${(err as Error).message}`, 'error');
      setBusy(false);
    }
  };

  const operate = s.can('operate');
  const admin = s.can('admin');
  if (!operate && !admin) return null;
  return (
    <div class="actions job-actions">
      {operate ? (
        <button type="button" class="primary" disabled={busy} onClick={() => void run()}>
          Run
        </button>
      ) : null}
      {operate ? (
        <button type="button" disabled={busy} onClick={() => void toggle()} title={job.disabled ? 'Enable the job' : 'Disable the job'}>
          {job.disabled ? 'Enable' : 'Disable'}
        </button>
      ) : null}
      {admin ? (
        <a class="button" href={href.edit(name)}>
          Edit
        </a>
      ) : null}
      {admin ? (
        <button type="button" class="danger" disabled={busy} onClick={() => void remove()}>
          Delete
        </button>
      ) : null}
    </div>
  );
}
