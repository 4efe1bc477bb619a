/**
 * A job's parents, whichever form names them: dkron's one `parent_job` (the child runs after every
 * successful run of it) or Kairos' `depends_on` (the child runs once per window in which every
 * parent succeeded). Link bookkeeping (the parents' `dependent_jobs`), cycle checks and deletes
 * treat both the same; only what a parent's success triggers differs (src/cluster/fan-in.ts).
 */
import type { Job } from './types.js';

export function parentsOf(job: Pick<Job, 'parent_job' | 'depends_on'>): string[] {
  if (job.depends_on && job.depends_on.length > 0) return job.depends_on;
  return job.parent_job ? [job.parent_job] : [];
}

/** True for a fan-in job: its parents' successes, not its schedule, start it. */
export function isFanIn(job: Pick<Job, 'depends_on'>): boolean {
  return (job.depends_on?.length ?? 0) > 0;
}

/** The field a parent link problem is reported on. */
export function parentField(job: Pick<Job, 'depends_on'>): 'depends_on' | 'parent_job' {
  return isFanIn(job) ? 'depends_on' : 'parent_job';
}

/** Most parents one job may list. */
export const MAX_PARENTS = 32;

/**
 * The cycle a job's parent links would close, as a path `name -> … -> name`, or null. `parentsFn`
 * answers the parents of any other job as they will be after the change (undefined: not a job).
 */
export async function findCycle(
  name: string,
  parents: string[],
  parentsFn: (job: string) => Promise<string[] | undefined> | string[] | undefined,
): Promise<string[] | null> {
  // Depth-first up the parent links; `done` holds jobs whose ancestry is known to be free of `name`.
  const done = new Set<string>();
  const walk = async (path: string[], ps: string[]): Promise<string[] | null> => {
    for (const p of ps) {
      if (p === name) return [...path, p];
      if (done.has(p) || path.includes(p)) continue;
      const up = (await parentsFn(p)) ?? [];
      const found = await walk([...path, p], up);
      if (found) return found;
      done.add(p);
    }
    return null;
  };
  return walk([name], parents);
}
