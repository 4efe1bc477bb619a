/**
 * The workflow graph, live: every job linked to this one by `depends_on` (fan-in) or
 * `parent_job` (dkron's chain), up and down, and the state of one run of it (GET
 * /v1/jobs/NAME/workflow, polled every 2 s while the page is open). Drawn as layered SVG, no
 * layout library: a job's layer is the longest path to it from a first job, and within a layer
 * jobs sit under the mean position of their parents (fewer crossings). Fan-in edges are solid,
 * chain edges dashed; every other job links to its page (to its execution of the run shown).
 * A select picks the run: "latest" follows new runs, an older one stays put.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, jobPath, type Job } from '../api.js';
import { ErrorPanel, relativeTime, Section } from '../components/common.js';
import { useLoad } from '../hooks.js';
import { href } from '../router.js';
import type { NodeState, WorkflowGraph, WorkflowNode } from '../../../src/core/workflow.js';

const POLL_MS = 2000;
const NODE_W = 150;
const NODE_H = 44;
const COL_W = 172;
const ROW_H = 84;
const PAD = 4;

const STATES: NodeState[] = ['succeeded', 'failed', 'running', 'waiting', 'blocked'];
/** A glyph beside the word, so the state never rests on colour alone. */
const GLYPH: Record<NodeState, string> = { succeeded: '✓', failed: '✗', running: '◔', waiting: '○', blocked: '⊘' };
const KIND_TEXT: Record<WorkflowNode['kind'], string> = {
  root: 'first job (its own schedule)',
  fan_in: 'fan-in: runs once per window in which all its parents succeeded',
  chain: 'chain: runs after its parent succeeds',
};

/** Whether the job is in a workflow at all (else the section is left out). */
export const linked = (job: Job): boolean => job.parent_job !== '' || (job.depends_on?.length ?? 0) > 0 || (job.dependent_jobs?.length ?? 0) > 0;

function when(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export interface Placed {
  node: WorkflowNode;
  layer: number;
  x: number;
  y: number;
}

/** Layers (longest path from a first job) and positions; `nodes` come parents first. */
export function layout(graph: Pick<WorkflowGraph, 'nodes' | 'edges'>): { placed: Map<string, Placed>; width: number; height: number } {
  const parents = new Map<string, string[]>();
  for (const e of graph.edges) parents.set(e.to, [...(parents.get(e.to) ?? []), e.from]);
  const layer = new Map<string, number>();
  // Topological order: one pass settles every layer (a parent stored in a cycle is skipped, not looped on).
  for (const n of graph.nodes) {
    const ls = (parents.get(n.job) ?? []).map((p) => layer.get(p)).filter((l): l is number => l !== undefined);
    layer.set(n.job, ls.length ? Math.max(...ls) + 1 : 0);
  }
  const rows: WorkflowNode[][] = [];
  for (const n of graph.nodes) (rows[layer.get(n.job) as number] ??= []).push(n);
  // Within a row: by the mean slot of the parents above (barycentre), stable otherwise.
  const slot = new Map<string, number>();
  rows.forEach((row, r) => {
    const score = (n: WorkflowNode, i: number): number => {
      const ps = (parents.get(n.job) ?? []).map((p) => slot.get(p)).filter((s): s is number => s !== undefined);
      return r === 0 || ps.length === 0 ? i : ps.reduce((a, b) => a + b, 0) / ps.length;
    };
    const sorted = row.map((n, i) => ({ n, s: score(n, i), i })).sort((a, b) => a.s - b.s || a.i - b.i);
    sorted.forEach(({ n }, i) => slot.set(n.job, (i + 0.5) / sorted.length));
    rows[r] = sorted.map((s) => s.n);
  });
  const widest = Math.max(1, ...rows.map((r) => r.length));
  const width = widest * COL_W;
  const height = Math.max(1, rows.length) * ROW_H - (ROW_H - NODE_H) + 2 * PAD;
  const placed = new Map<string, Placed>();
  rows.forEach((row, r) => row.forEach((n, i) => placed.set(n.job, { node: n, layer: r, x: (width / row.length) * (i + 0.5), y: r * ROW_H + PAD })));
  return { placed, width, height };
}

const short = (name: string): string => (name.length > 18 ? `${name.slice(0, 17)}…` : name);

function nodeTitle(n: WorkflowNode, parents: string[]): string {
  const lines = [`${n.job}: ${n.state}`, KIND_TEXT[n.kind]];
  if (parents.length) lines.push(`after ${parents.join(', ')}`);
  if (n.started_at) lines.push(`started ${when(n.started_at)}`);
  if (n.finished_at) lines.push(`finished ${when(n.finished_at)}`);
  if (n.executions.length > 1) lines.push(`${n.executions.length} executions`);
  return lines.join('\n');
}

function Graph({ graph, current }: { graph: WorkflowGraph; current: string }): JSX.Element {
  const { placed, width, height } = layout(graph);
  const parentsOf = (job: string): string[] => graph.edges.filter((e) => e.to === job).map((e) => e.from);
  return (
    <svg
      class="wf-graph"
      viewBox={`0 0 ${width} ${height}`}
      style={{ maxWidth: `${width}px` }}
      role="group"
      aria-label={`Workflow of ${current}`}
      data-run={graph.run ?? ''}
    >
      <defs>
        <marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0 0 L10 5 L0 10 z" class="wf-arrowhead" />
        </marker>
      </defs>
      {graph.edges.map((e) => {
        const from = placed.get(e.from);
        const to = placed.get(e.to);
        if (!from || !to) return null;
        const y1 = from.y + NODE_H;
        const y2 = to.y - 1;
        const mid = (y1 + y2) / 2;
        return (
          <path
            key={`${e.from}>${e.to}`}
            class={`wf-edge wf-edge-${e.kind}`}
            data-edge={`${e.from}>${e.to}`}
            data-kind={e.kind}
            d={`M${from.x} ${y1} C${from.x} ${mid} ${to.x} ${mid} ${to.x} ${y2}`}
            marker-end="url(#wf-arrow)"
          />
        );
      })}
      {graph.nodes.map((n) => {
        const p = placed.get(n.job) as Placed;
        const isCurrent = n.job === current;
        const label = `${n.job}: ${n.state}`;
        const attrs = { class: `wf-node wf-${n.state}${isCurrent ? ' current' : ''}`, 'data-job': n.job, 'data-state': n.state, 'aria-label': label };
        const box = (
          <>
            <title>{nodeTitle(n, parentsOf(n.job))}</title>
            <rect x={p.x - NODE_W / 2} y={p.y} width={NODE_W} height={NODE_H} rx="6" />
            <text class="wf-name" x={p.x} y={p.y + 16} text-anchor="middle" aria-hidden="true">
              {short(n.job)}
            </text>
            <text class="wf-state" x={p.x} y={p.y + 34} text-anchor="middle" aria-hidden="true">
              {GLYPH[n.state]} {n.state}
            </text>
          </>
        );
        if (isCurrent) {
          return (
            <g key={n.job} {...attrs} role="img" aria-current="page">
              {box}
            </g>
          );
        }
        const exec = n.executions[0];
        return (
          <a key={n.job} {...attrs} href={exec ? `${href.job(n.job)}?exec=${encodeURIComponent(exec)}` : href.job(n.job)}>
            {box}
          </a>
        );
      })}
    </svg>
  );
}

function Summary({ graph }: { graph: WorkflowGraph }): JSX.Element {
  const counts = STATES.map((s) => [s, graph.nodes.filter((n) => n.state === s).length] as const).filter(([, c]) => c > 0);
  return (
    <p class="small wf-summary" id="workflow-summary">
      {graph.run ? (
        <>
          Run of <time dateTime={graph.run}>{when(graph.run)}</time>:{' '}
        </>
      ) : (
        <>No run yet: </>
      )}
      {counts.map(([s, c], i) => (
        <span key={s} class={`wf-count wf-${s}`}>
          {i ? ', ' : ''}
          {c} {s}
        </span>
      ))}
      {graph.truncated ? <span class="muted"> (a large workflow: not every job is shown)</span> : null}
    </p>
  );
}

function RunSelect({ graph, pinned, pick }: { graph: WorkflowGraph | null; pinned: string | null; pick: (run: string | null) => void }): JSX.Element {
  const runs = graph?.runs ?? [];
  const options = pinned !== null && !runs.includes(pinned) ? [...runs, pinned] : runs;
  return (
    <span class="wf-run">
      <label for="workflow-run">Run</label>
      <select id="workflow-run" value={pinned ?? ''} onChange={(ev) => pick(ev.currentTarget.value || null)}>
        <option value="">Latest (follows new runs)</option>
        {options.map((r) => (
          <option key={r} value={r}>
            {when(r)} · {relativeTime(Date.parse(r))}
          </option>
        ))}
      </select>
    </span>
  );
}

function WorkflowView({ job }: { job: Job }): JSX.Element {
  const [pinned, setPinned] = useState<string | null>(null);
  const wf = useLoad(
    (signal) => api<WorkflowGraph>('GET', jobPath(job.name, '/workflow'), { signal, query: { run: pinned } }).then((r) => r.data),
    [job.name, pinned],
    POLL_MS,
  );
  const graph = wf.data;
  return (
    <Section title="Workflow" id="workflow" actions={<RunSelect graph={graph} pinned={pinned} pick={setPinned} />}>
      {wf.error ? <ErrorPanel error={wf.error} /> : null}
      {graph ? (
        <figure class="wf">
          <Summary graph={graph} />
          <Graph graph={graph} current={job.name} />
          <figcaption class="small muted wf-legend">
            {STATES.map((s) => (
              <span key={s} class={`wf-key wf-${s}`}>
                <span class="swatch" aria-hidden="true" /> {GLYPH[s]} {s}
              </span>
            ))}
            <span class="wf-key">
              <svg class="line" viewBox="0 0 24 6" aria-hidden="true">
                <line class="wf-edge wf-edge-fan_in" x1="0" y1="3" x2="24" y2="3" />
              </svg>{' '}
              fan-in (<code>depends_on</code>)
            </span>
            <span class="wf-key">
              <svg class="line" viewBox="0 0 24 6" aria-hidden="true">
                <line class="wf-edge wf-edge-chain" x1="0" y1="3" x2="24" y2="3" />
              </svg>{' '}
              chain (<code>parent_job</code>)
            </span>
          </figcaption>
        </figure>
      ) : wf.error ? null : (
        <p class="muted">Loading…</p>
      )}
    </Section>
  );
}

export function JobWorkflow({ job }: { job: Job }): JSX.Element | null {
  return linked(job) ? <WorkflowView job={job} /> : null;
}
