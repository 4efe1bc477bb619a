/**
 * The workflow a job belongs to (every job linked to it by `depends_on` or `parent_job`, up and
 * down) and one run of it: which jobs ran, run, failed, wait, or cannot run because a parent
 * failed. A run is named by its key: the scheduled tick of the workflow's first jobs; a fan-in
 * job's own key is its window's start in that run (src/scheduler/window.ts), which its executions
 * carry as `scheduled_at`. A `parent_job` child (dkron's chain) has no key of its own: its run is
 * the first one that started after its parent's run finished.
 */
import type { Execution, Job } from '../job/types.js';
import type { Store } from '../store/types.js';
import { isFanIn, parentsOf } from '../job/parents.js';
import { groupStatus } from '../job/group-status.js';
import { iso } from '../job/time.js';
import { windowStart } from '../scheduler/window.js';

/** Most jobs a graph shows; a larger component is cut (and says so). */
const MAX_NODES = 200;
/** Recent executions of a job searched for a run's group. */
const SEARCH = 200;
/** Runs listed to choose from. */
const RUNS_LISTED = 20;

export type NodeState = 'succeeded' | 'failed' | 'running' | 'waiting' | 'blocked';

export interface WorkflowNode {
  job: string;
  /** How the job joins the run: its own ticks (a first job), fan-in, or dkron's chain. */
  kind: 'root' | 'fan_in' | 'chain';
  state: NodeState;
  /** The job's key in this run (null for a chain child). */
  key: string | null;
  group: number | null;
  executions: string[];
  started_at: string | null;
  finished_at: string | null;
}

export interface WorkflowGraph {
  /** The run shown: the key of the workflow's first jobs (null when nothing ran yet). */
  run: string | null;
  /** Recent runs, newest first. */
  runs: string[];
  nodes: WorkflowNode[];
  edges: { from: string; to: string; kind: 'fan_in' | 'chain' }[];
  truncated: boolean;
}

export async function workflowGraph(store: Store, start: Job, run?: string): Promise<WorkflowGraph> {
  const { jobs, truncated } = await component(store, start);
  const order = topological(jobs);
  const edges: WorkflowGraph['edges'] = [];
  for (const j of order) for (const p of parentsOf(j)) if (jobs.has(p)) edges.push({ from: p, to: j.name, kind: isFanIn(j) ? 'fan_in' : 'chain' });
  const roots = order.filter((j) => parentsOf(j).every((p) => !jobs.has(p)));
  const recent = new Map<string, Execution[]>();
  const executionsOf = async (name: string): Promise<Execution[]> => {
    let list = recent.get(name);
    if (!list) {
      list = (await store.listExecutions(name, { sort: 'started_at', order: 'desc', end: SEARCH })).items;
      recent.set(name, list);
    }
    return list;
  };
  const keys = new Set<string>();
  for (const r of roots) for (const e of await executionsOf(r.name)) keys.add(e.scheduled_at);
  const runs = [...keys].sort().reverse().slice(0, RUNS_LISTED);
  const chosen = run ?? runs[0] ?? null;
  const nodes = new Map<string, WorkflowNode>();
  for (const j of order) {
    const parents = parentsOf(j).map((p) => nodes.get(p)).filter((n): n is WorkflowNode => n !== undefined);
    const kind: WorkflowNode['kind'] = parents.length === 0 ? 'root' : isFanIn(j) ? 'fan_in' : 'chain';
    let key: string | null = null;
    if (chosen !== null) {
      if (kind === 'root') key = chosen;
      else if (kind === 'fan_in') {
        const parentKeys = parents.map((p) => p.key).filter((k): k is string => k !== null);
        const latest = parentKeys.sort().at(-1);
        if (latest !== undefined) key = iso(windowStart(j, Date.parse(latest)));
      }
    }
    const executions = await executionsOf(j.name);
    let members: Execution[] = [];
    if (key !== null) members = executions.filter((e) => e.scheduled_at === key);
    else if (kind === 'chain') {
      // dkron's chain: the first run after the parent's run finished.
      const done = parents[0]?.finished_at;
      if (done) {
        const after = executions.filter((e) => e.trigger === 'parent' && e.started_at >= done);
        const group = after.at(-1)?.group;
        members = after.filter((e) => e.group === group);
      }
    }
    // One group (the newest if several carry the key, e.g. manual runs).
    const group = members[0]?.group ?? null;
    members = members.filter((e) => e.group === group);
    nodes.set(j.name, {
      job: j.name,
      kind,
      key,
      group,
      state: stateOf(members, parents),
      executions: members.map((e) => e.id),
      started_at: members.map((e) => e.started_at).sort()[0] ?? null,
      finished_at: members.every((e) => e.finished_at !== null) ? (members.map((e) => e.finished_at as string).sort().at(-1) ?? null) : null,
    });
  }
  return { run: chosen, runs, nodes: order.map((j) => nodes.get(j.name) as WorkflowNode), edges, truncated };
}

function stateOf(members: Execution[], parents: WorkflowNode[]): NodeState {
  if (members.length > 0) {
    if (members.some((e) => e.finished_at === null)) return 'running';
    return groupStatus(members) === 'success' ? 'succeeded' : 'failed';
  }
  return parents.some((p) => p.state === 'failed' || p.state === 'blocked') ? 'blocked' : 'waiting';
}

/** Every job linked to `start`, both ways, up to MAX_NODES. */
async function component(store: Store, start: Job): Promise<{ jobs: Map<string, Job>; truncated: boolean }> {
  const jobs = new Map<string, Job>([[start.name, start]]);
  const queue = [start];
  let truncated = false;
  while (queue.length > 0) {
    const j = queue.shift() as Job;
    for (const n of [...parentsOf(j), ...(j.dependent_jobs ?? [])]) {
      if (jobs.has(n)) continue;
      if (jobs.size >= MAX_NODES) {
        truncated = true;
        continue;
      }
      const linked = await store.getJob(n);
      if (!linked) continue;
      jobs.set(n, linked);
      queue.push(linked);
    }
  }
  return { jobs, truncated };
}

/** Parents before children (Kahn's order; names break ties so the answer is stable). */
function topological(jobs: Map<string, Job>): Job[] {
  const indegree = new Map<string, number>();
  for (const j of jobs.values()) indegree.set(j.name, parentsOf(j).filter((p) => jobs.has(p)).length);
  const ready = [...jobs.values()].filter((j) => indegree.get(j.name) === 0).map((j) => j.name).sort();
  const out: Job[] = [];
  while (ready.length > 0) {
    const name = ready.shift() as string;
    const j = jobs.get(name) as Job;
    out.push(j);
    for (const c of [...(j.dependent_jobs ?? [])].sort()) {
      const n = indegree.get(c);
      if (n === undefined) continue;
      indegree.set(c, n - 1);
      if (n - 1 === 0) ready.push(c);
    }
  }
  // A cycle can't be saved; should one be stored anyway, its jobs come last rather than vanish.
  for (const j of jobs.values()) if (!out.includes(j)) out.push(j);
  return out;
}
