/** The outcome of an execution group (one tick or run on one or more agents, with retries). */
import type { Execution, JobStatus } from './types.js';

/** Per agent the last attempt counts: a failure healed by a retry is a success. */
export function groupStatus(executions: Execution[]): JobStatus {
  const final = new Map<string, Execution>();
  for (const e of executions) {
    const cur = final.get(e.node_name);
    if (!cur || e.attempt > cur.attempt) final.set(e.node_name, e);
  }
  const results = [...final.values()].map((e) => e.success);
  if (results.every(Boolean)) return 'success';
  if (results.some(Boolean)) return 'partially_failed';
  return 'failed';
}
