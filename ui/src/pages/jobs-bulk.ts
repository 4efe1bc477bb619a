/**
 * Bulk actions on selected jobs, one API request per job (there is no bulk toggle/run/delete
 * route): a few at a time, each job's failure reported by name, never stopping the rest.
 */
import { api, jobPath, type Job } from '../api.js';

export type BulkAction = 'enable' | 'disable' | 'run' | 'delete';

export const BULK_LABEL: Record<BulkAction, string> = { enable: 'Enable', disable: 'Disable', run: 'Run', delete: 'Delete' };

export interface BulkOutcome {
  name: string;
  ok: boolean;
  /** What happened: "disabled", "already enabled", or the API's error. */
  message: string;
}

const PARALLEL = 4;

async function pool<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return out;
}

const failure = (name: string, err: unknown): BulkOutcome => ({ name, ok: false, message: err instanceof Error ? err.message : String(err) });

/** POST .../toggle only flips: read each job first and flip only those not already as wanted. */
async function setDisabled(name: string, disabled: boolean): Promise<BulkOutcome> {
  try {
    const job = (await api<Job>('GET', jobPath(name))).data;
    if (job.disabled === disabled) return { name, ok: true, message: `already ${disabled ? 'disabled' : 'enabled'}` };
    const after = (await api<Job>('POST', jobPath(name, '/toggle'))).data;
    // Someone else flipped it between our read and our toggle: flip back is theirs to decide; report it.
    if (after.disabled !== disabled) return { name, ok: false, message: 'changed concurrently; check it and try again' };
    return { name, ok: true, message: disabled ? 'disabled' : 'enabled' };
  } catch (err) {
    return failure(name, err);
  }
}

/**
 * The server refuses to delete a job whose dependents still exist: delete the deepest children
 * first, level by level, so selecting a whole chain works.
 */
async function deleteAll(names: string[]): Promise<BulkOutcome[]> {
  const parents = new Map<string, string>();
  const outcomes = new Map<string, BulkOutcome>();
  await pool(names, async (name) => {
    try {
      parents.set(name, (await api<Job>('GET', jobPath(name))).data.parent_job ?? '');
    } catch (err) {
      outcomes.set(name, failure(name, err));
    }
  });
  const depth = (name: string, seen = new Set<string>()): number => {
    const parent = parents.get(name);
    if (!parent || !parents.has(parent) || seen.has(parent)) return 0;
    seen.add(name);
    return 1 + depth(parent, seen);
  };
  const levels = new Map<number, string[]>();
  for (const name of parents.keys()) {
    const d = depth(name);
    levels.set(d, [...(levels.get(d) ?? []), name]);
  }
  for (const d of [...levels.keys()].sort((a, b) => b - a)) {
    await pool(levels.get(d) ?? [], async (name) => {
      try {
        await api('DELETE', jobPath(name));
        outcomes.set(name, { name, ok: true, message: 'deleted' });
      } catch (err) {
        outcomes.set(name, failure(name, err));
      }
    });
  }
  return names.map((n) => outcomes.get(n) ?? { name: n, ok: false, message: 'not attempted' });
}

export async function runBulk(action: BulkAction, names: string[]): Promise<BulkOutcome[]> {
  switch (action) {
    case 'enable':
      return pool(names, (n) => setDisabled(n, false));
    case 'disable':
      return pool(names, (n) => setDisabled(n, true));
    case 'run':
      return pool(names, async (name) => {
        try {
          await api('POST', jobPath(name));
          return { name, ok: true, message: 'run requested' };
        } catch (err) {
          return failure(name, err);
        }
      });
    case 'delete':
      return deleteAll(names);
  }
}
