/**
 * The etcd store's activity across all jobs (the dashboard). etcd has no index by time, so this
 * reads the small indexes first and only then the records in the window:
 *   groups/<job>/<group>/<id> = {s: started ms}  every finished execution, without its output;
 *   skips/<job>/<id>                             ids start with the tick in zero-padded ms.
 * Cost grows with the executions and skip records stored (keys and tiny values), not with
 * their outputs; the API caches the answer for a few seconds.
 */
import type { Execution } from '../../job/types.js';
import type { Activity, ActivityQuery, SkipRecord } from '../../store/types.js';
import { ActivityCounter, skipIdMs } from '../../store/activity.js';
import { EXECUTIONS, GROUPS, SKIPS } from './keys.js';
import { groupEntryStartedMs } from '../../store/kv-shared.js';

/** What the store lends this module: reads relative to its keyspace, within one call's budget. */
export interface ActivityReader {
  /** Every key (relative) and value under a relative prefix. */
  scan(relPrefix: string, keysOnly: boolean): Promise<Array<{ key: string; value: string }>>;
  /** The values of these relative keys that exist (batched). */
  read(keys: string[]): Promise<string[]>;
}

export async function etcdActivity(query: ActivityQuery, r: ActivityReader): Promise<Activity> {
  const c = new ActivityCounter(query);
  const [groups, skipKeys] = await Promise.all([r.scan(GROUPS, false), r.scan(SKIPS, true)]);

  const inWindow: string[] = [];
  for (const { key, value } of groups) {
    // groups/<job>/<group>/<id>: job names hold no '/', ids may.
    const parts = key.slice(GROUPS.length).split('/');
    const job = parts[0] ?? '';
    const id = parts.slice(2).join('/');
    if (id && c.wants(job) && c.covers(groupEntryStartedMs(value))) inWindow.push(`${EXECUTIONS}${job}/${id}`);
  }
  for (const body of await r.read(inWindow)) c.countExecution(JSON.parse(body) as Execution);

  const skipsInWindow: string[] = [];
  for (const { key } of skipKeys) {
    const rest = key.slice(SKIPS.length);
    const slash = rest.indexOf('/');
    if (slash >= 0 && c.wants(rest.slice(0, slash)) && c.covers(skipIdMs(rest.slice(slash + 1)))) skipsInWindow.push(key);
  }
  for (const body of await r.read(skipsInWindow)) c.countSkip(JSON.parse(body) as SkipRecord);
  return c.result();
}
