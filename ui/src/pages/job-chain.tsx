/**
 * The chain graph: the job's parent chain above it, its dependents (and theirs) below, drawn as
 * simple layered SVG (a chain is a tree: every job has at most one parent, so rows suffice, no
 * layout library). Every other node links to its job page.
 */
import type { JSX } from 'preact';
import { api, jobPath, type Job } from '../api.js';
import { ErrorPanel, Section } from '../components/common.js';
import { useLoad } from '../hooks.js';
import { href } from '../router.js';

interface ChainNode {
  name: string;
  level: number;
  parent: string | null;
  status: string;
  disabled: boolean;
  missing: boolean;
}

const MAX_UP = 8;
const MAX_DOWN_LEVELS = 3;
const MAX_NODES = 40;
const NODE_W = 150;
const NODE_H = 34;
const COL_W = 170;
const ROW_H = 66;

async function fetchJob(name: string, signal: AbortSignal): Promise<Job | null> {
  try {
    return (await api<Job>('GET', jobPath(name), { signal })).data;
  } catch (err) {
    if ((err as { status?: number }).status === 404) return null;
    throw err;
  }
}

const nodeOf = (name: string, level: number, parent: string | null, j: Job | null): ChainNode => ({
  name,
  level,
  parent,
  status: j?.status || 'untriggered',
  disabled: j?.disabled ?? false,
  missing: j === null,
});

async function loadChain(job: Job, signal: AbortSignal): Promise<ChainNode[]> {
  const nodes: ChainNode[] = [nodeOf(job.name, 0, job.parent_job || null, job)];
  const seen = new Set([job.name]);
  // Up: the parent chain (a cycle can't be stored, but a bounded walk costs nothing).
  let parent = job.parent_job;
  for (let level = -1; parent && level >= -MAX_UP && !seen.has(parent); level--) {
    seen.add(parent);
    const p = await fetchJob(parent, signal);
    nodes.push(nodeOf(parent, level, p?.parent_job || null, p));
    parent = p?.parent_job ?? '';
  }
  // Down: dependents, breadth first, a few levels.
  let frontier: Array<{ name: string; parent: string }> = (job.dependent_jobs ?? []).map((d) => ({ name: d, parent: job.name }));
  for (let level = 1; level <= MAX_DOWN_LEVELS && frontier.length && nodes.length < MAX_NODES; level++) {
    const batch = frontier.filter((f) => !seen.has(f.name)).slice(0, MAX_NODES - nodes.length);
    batch.forEach((f) => seen.add(f.name));
    const jobs = await Promise.all(batch.map((f) => fetchJob(f.name, signal)));
    frontier = [];
    batch.forEach((f, i) => {
      const j = jobs[i] ?? null;
      nodes.push(nodeOf(f.name, level, f.parent, j));
      for (const d of j?.dependent_jobs ?? []) frontier.push({ name: d, parent: f.name });
    });
  }
  return nodes;
}

const short = (name: string): string => (name.length > 18 ? `${name.slice(0, 17)}…` : name);

function Graph({ nodes, current }: { nodes: ChainNode[]; current: string }): JSX.Element {
  const levels = [...new Set(nodes.map((n) => n.level))].sort((a, b) => a - b);
  const rows = levels.map((l) => nodes.filter((n) => n.level === l));
  const widest = Math.max(...rows.map((r) => r.length));
  const width = Math.max(widest * COL_W, COL_W);
  const height = rows.length * ROW_H - (ROW_H - NODE_H) + 4;
  const pos = new Map<string, { x: number; y: number }>();
  rows.forEach((row, r) => {
    row.forEach((n, i) => pos.set(n.name, { x: (width / row.length) * (i + 0.5), y: r * ROW_H + 2 }));
  });
  return (
    <svg class="chain-graph" viewBox={`0 0 ${width} ${height}`} style={{ maxWidth: `${width}px` }} role="group" aria-label={`Chain of ${current}`}>
      <defs>
        <marker id="chain-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0 0 L10 5 L0 10 z" class="chain-arrowhead" />
        </marker>
      </defs>
      {nodes.map((n) => {
        const from = n.parent ? pos.get(n.parent) : undefined;
        const to = pos.get(n.name);
        if (!from || !to) return null;
        const y1 = from.y + NODE_H;
        const y2 = to.y - 1;
        const mid = (y1 + y2) / 2;
        return <path key={`e-${n.name}`} class="chain-edge" d={`M${from.x} ${y1} C${from.x} ${mid} ${to.x} ${mid} ${to.x} ${y2}`} marker-end="url(#chain-arrow)" />;
      })}
      {nodes.map((n) => {
        const p = pos.get(n.name) as { x: number; y: number };
        const cls = `chain-node status-${n.missing ? 'missing' : n.status}${n.disabled ? ' disabled' : ''}${n.name === current ? ' current' : ''}`;
        const box = (
          <>
            <title>{`${n.name}: ${n.missing ? 'not found' : n.status.replace(/_/g, ' ')}${n.disabled ? ', disabled' : ''}`}</title>
            <rect x={p.x - NODE_W / 2} y={p.y} width={NODE_W} height={NODE_H} rx="6" />
            <text x={p.x} y={p.y + NODE_H / 2} dominant-baseline="central" text-anchor="middle">
              {short(n.name)}
            </text>
          </>
        );
        if (n.name === current) {
          return (
            <g key={n.name} class={cls} aria-current="page" aria-label={`${n.name} (this job)`} role="img">
              {box}
            </g>
          );
        }
        return (
          <a key={n.name} class={cls} href={href.job(n.name)} aria-label={n.name}>
            {box}
          </a>
        );
      })}
    </svg>
  );
}

export function ChainGraph({ job }: { job: Job }): JSX.Element | null {
  const deps = (job.dependent_jobs ?? []).join(',');
  const inChain = job.parent_job !== '' || deps !== '';
  const chain = useLoad((signal) => (inChain ? loadChain(job, signal) : Promise.resolve([])), [job.name, job.parent_job, deps, job.status]);
  if (!inChain) return null;
  return (
    <Section title="Chain" id="chain">
      {chain.error ? <ErrorPanel error={chain.error} /> : null}
      {chain.data ? (
        <figure class="chain">
          <Graph nodes={chain.data} current={job.name} />
          <figcaption class="small muted">Parents above, dependents below: a job runs after its parent succeeds.</figcaption>
        </figure>
      ) : (
        <p class="muted">Loading…</p>
      )}
    </Section>
  );
}
