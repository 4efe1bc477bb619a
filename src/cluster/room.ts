/**
 * Which agents have room for a run of a job that declares `resources`: those where it fits beside
 * the runs in flight there (the store's running executions and their jobs' resources). The
 * dispatcher calls this under its placement lock, so each placement sees the ones before it.
 */
import type { Job } from '../job/types.js';
import type { SkipCode, Store } from '../store/types.js';
import type { Member } from './types.js';
import { add, describeNeeds, emptyCapacity, everFits, misfit, needsOf, type Capacity } from '../job/resources.js';
import { describeTags, tagMatches } from './targets.js';

export type Room = { members: Member[] } | { queued: string } | { skipped: string; skipCode: SkipCode };

export async function withRoom(store: Store, job: Job, members: Member[]): Promise<Room> {
  const want = needsOf(job.resources);
  if (!want) return { members };
  const matching = tagMatches(job.tags, members);
  const able = matching.filter((m) => !m.capacity || everFits(m.capacity, want));
  if (matching.length > 0 && able.length === 0) {
    return { skipped: `no agent matching the job's tags (${describeTags(job.tags) || 'none'}) can ever hold ${describeNeeds(want)}`, skipCode: 'no_capacity' };
  }
  const used = await usage(store);
  const why: string[] = [];
  const fitting = members.filter((m) => {
    if (!m.capacity) return true; // an agent older than capacity: as before
    const no = misfit(m.capacity, used.get(m.Name) ?? emptyCapacity(), want);
    if (no !== null && able.includes(m)) why.push(`${m.Name}: ${no}`);
    return no === null;
  });
  if (able.length > 0 && !fitting.some((m) => able.includes(m))) {
    return { queued: `no agent has room for ${describeNeeds(want)} (${why.join('; ')})` };
  }
  return { members: fitting };
}

/** What the runs in flight use, by agent: the resources their jobs declare. */
async function usage(store: Store): Promise<Map<string, Capacity>> {
  const running = await store.listRunning();
  const needs = new Map<string, Capacity | null>();
  const used = new Map<string, Capacity>();
  for (const e of running) {
    if (!needs.has(e.job_name)) needs.set(e.job_name, needsOf((await store.getJob(e.job_name))?.resources));
    const n = needs.get(e.job_name);
    if (!n) continue;
    const u = used.get(e.node_name) ?? emptyCapacity();
    add(u, n);
    used.set(e.node_name, u);
  }
  return used;
}
