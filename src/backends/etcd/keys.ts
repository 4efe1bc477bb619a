/**
 * The keyspace of the etcd store: where each record lives, and the pure helpers
 * that build and take apart its keys.
 *
 * Layout inside `<keyspace>/`:
 *   jobs/<name>                   job JSON
 *   executions/<job>/<id>         execution JSON
 *   running/<job>/<id>            {node, group}; index of executions with finished_at null,
 *                                 always written in the same txn as the execution
 *   groups/<job>/<group>/<id>     {s: started ms}; index of finished executions by group, written
 *                                 with the result, so per-group bookkeeping (listGroup, prune)
 *                                 never reads other executions' outputs. Running ones are found
 *                                 through running/, which keeps a tick at 3 ops per execution.
 *   assign/<node>/<job>/<id>      work queue of an agent; claimed by deleting it
 *                                 (<node> URI-encoded, so a '/' in a node name stays one segment)
 *   followups/<job>/<group>       {node, children}: dependents still to run for a successful
 *                                 group, written in the txn that decided the group's outcome
 *   ticks/<job>                   last dispatched tick (RFC 3339)
 *   settings/<key>                small cluster-wide settings
 *   tokens/<name>                 API tokens (hashed)
 *   skips/<job>/<id>              skipped-tick records (ids start with the tick, so keys sort by time)
 *   audit/all/<id>                audit entries (ids sort by time); one about a job is also
 *   audit/job/<job>/<id>          stored here, so a job's history is one range read
 */
export const JOBS = 'jobs/';
export const EXECUTIONS = 'executions/';
export const RUNNING = 'running/';
export const GROUPS = 'groups/';
export const FOLLOWUPS = 'followups/';
export const ASSIGN = 'assign/';
export const TICKS = 'ticks/';
export const SETTINGS = 'settings/';
export const TOKENS = 'tokens/';
export const SKIPS = 'skips/';
/** Each audit entry is stored twice, under audit/all/ and audit/job/<job>/, so a job's history is one range read. */
export const AUDIT_ALL = 'audit/all/';
export const AUDIT_JOB = 'audit/job/';

/** The group index entry of a finished execution (written by groupEntryValue in kv-shared.ts). */
export interface GroupEntry {
  /** started_at in epoch ms (0 when unparseable, as elsewhere). */
  s: number;
}

/** The running index value. Older versions stored the bare node name, which has no group. */
export interface RunningEntry {
  node: string;
  group: number;
}

export function parseRunning(value: Buffer): RunningEntry | null {
  try {
    const v = JSON.parse(value.toString()) as Partial<RunningEntry>;
    return typeof v === 'object' && v !== null && typeof v.group === 'number' ? (v as RunningEntry) : null;
  } catch {
    return null;
  }
}

export function groupKey(jobName: string, group: number, id: string): string {
  return `${GROUPS}${jobName}/${String(group)}/${id}`;
}

/** Job names are key segments: a '/' would make one job's prefix cover another's keys. */
export function assertName(name: string, what = 'job name'): void {
  if (typeof name !== 'string' || name === '' || name.includes('/')) {
    throw new Error(`etcd store: invalid ${what} "${String(name)}"`);
  }
}

export function assertId(id: string): void {
  if (typeof id !== 'string' || id === '') throw new Error(`etcd store: invalid execution id "${String(id)}"`);
}

/** Node names are free text; encoding keeps one node's queue prefix from covering another's. */
export function nodeSegment(node: string): string {
  return encodeURIComponent(node);
}

export function splitJobAndId(rest: string): { job: string; id: string } | null {
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return null;
  return { job: rest.slice(0, slash), id: rest.slice(slash + 1) };
}
