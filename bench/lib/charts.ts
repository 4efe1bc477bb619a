/**
 * The bench's charts, from a results object (bench/results/latest.json or a recorded copy): one
 * SVG per figure whose scenario ran. `npm run bench` writes them next to latest.json;
 * `npm run bench:charts [results.json] [outdir]` renders a recorded run's (docs/bench/ for BENCHMARKS.md).
 * Values read from JSON may be null where the bench had NaN (no samples): drawn as "n/a".
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Summary } from './stats.js';
import type { ApplyResult } from '../scenarios/apply.js';
import { backendName, type ClusterResult } from '../scenarios/cluster.js';
import type { LatenessResult } from '../scenarios/lateness.js';
import type { MemoryResult } from '../scenarios/memory.js';
import type { StartupResult } from '../scenarios/startup.js';
import type { CronPeerResult } from '../scenarios/cron-peer.js';
import type { ScalePoint, ScaleResult } from '../scenarios/scale.js';
import { barChart, lineChart, PALETTE, REFERENCE_COLOR, type LineSeries, type Series } from './svg.js';

/** What the charts read; run.ts's Results fits it. */
export interface ChartInput {
  machine?: { date: string; nproc: number; cpuModel: string; node: string };
  lateness?: LatenessResult;
  etcd?: ClusterResult;
  zookeeper?: ClusterResult;
  memory?: MemoryResult;
  apply?: ApplyResult;
  startup?: StartupResult;
  cron?: CronPeerResult;
  scale?: ScaleResult;
}

export interface Chart {
  /** File name without ".svg". */
  name: string;
  svg: string;
}

const machineLine = (r: ChartInput): string =>
  r.machine ? `${r.machine.nproc} × ${r.machine.cpuModel}, Node ${r.machine.node}, run of ${r.machine.date.slice(0, 10)}` : '';
const withMachine = (r: ChartInput, s: string): string => [s, machineLine(r)].filter(Boolean).join(' — ');
const three = (v: Summary | null | undefined): (number | undefined)[] => [v?.p50, v?.p99, v?.max];
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const clustersOf = (r: ChartInput): ClusterResult[] => [r.etcd, r.zookeeper].filter((c): c is ClusterResult => c !== undefined);

/** (1) Process-start lateness p50 / p99 / max: single agent, each cluster, the bare-Node reference. */
function latenessChart(r: ChartInput): Chart | null {
  const clusters = clustersOf(r);
  const rows: { series: Series; start: Summary }[] = [];
  // A cluster's `embedded` figures are the lateness scenario's, present only when it ran too.
  if (r.lateness) rows.push({ series: { name: 'Kairos, single agent (embedded store)', color: PALETTE[0] }, start: r.lateness.kairos.start });
  if (r.etcd) rows.push({ series: { name: 'Kairos, etcd cluster', color: PALETTE[1] }, start: r.etcd.lateness.cluster.start });
  if (r.zookeeper) rows.push({ series: { name: 'Kairos, ZooKeeper cluster', color: PALETTE[2] }, start: r.zookeeper.lateness.cluster.start });
  if (rows.length === 0) return null;
  const refs = r.lateness ? [r.lateness.reference] : clusters.map((c) => c.lateness.reference);
  if (refs.every((ref) => same(ref.start, refs[0]?.start))) {
    if (refs[0]) rows.push({ series: { name: 'reference: bare Node timer + spawn', color: REFERENCE_COLOR }, start: refs[0].start });
  } else {
    clusters.forEach((c) =>
      rows.push({ series: { name: `reference, measured with ${backendName(c.backend)}`, color: REFERENCE_COLOR }, start: c.lateness.reference.start }),
    );
  }
  const l = r.lateness ?? clusters[0]?.lateness;
  return {
    name: 'lateness',
    svg: barChart({
      title: 'Process-start lateness: when the job\'s process ran − when it was scheduled',
      subtitle: withMachine(r, l ? `${l.jobs} jobs @every 1s, ${l.seconds} s each` : ''),
      axisLabel: 'lateness (ms), lower is better',
      unit: ' ms',
      series: rows.map((x) => x.series),
      groups: ['p50', 'p99', 'max'].map((label, i) => ({ label, values: rows.map((x) => three(x.start)[i]) })),
    }),
  };
}

/** (2) Failover: leader SIGKILLed → new leader and → next dispatch, per cluster backend. */
function failoverChart(r: ChartInput): Chart | null {
  const clusters = clustersOf(r);
  if (clusters.length === 0) return null;
  const kills = clusters.map((c) => `${backendName(c.backend)} ${c.failover.kills.length} kills`).join(', ');
  return {
    name: 'failover',
    svg: barChart({
      title: 'Failover: leader SIGKILLed → new leader, → next dispatch',
      subtitle: withMachine(r, `${kills}, lease TTL ${clusters[0]?.agents.leaseTtlSeconds ?? '?'} s`),
      axisLabel: 'gap after the kill (ms), lower is better',
      unit: ' ms',
      series: clusters.map((c, i) => ({ name: `${backendName(c.backend)} ${c.servers.version}`, color: PALETTE[i + 1] })),
      groups: [
        { label: 'kill → new leader, p50', values: clusters.map((c) => c.failover.election.p50) },
        { label: 'kill → new leader, max', values: clusters.map((c) => c.failover.election.max) },
        { label: 'kill → next dispatch, p50', values: clusters.map((c) => c.failover.dispatch.p50) },
        { label: 'kill → next dispatch, max', values: clusters.map((c) => c.failover.dispatch.max) },
      ],
    }),
  };
}

/** (3) `kairos apply`: create everything, then apply again with nothing changed. */
function applyChart(r: ChartInput): Chart | null {
  const a = r.apply;
  if (!a) return null;
  return {
    name: 'apply',
    svg: barChart({
      title: `kairos apply: ${a.jobs.toLocaleString('en-US')} jobs in ${a.files} files, embedded store`,
      subtitle: withMachine(r, ''),
      axisLabel: 'seconds, lower is better',
      unit: ' s',
      missing: '—',
      series: [
        { name: 'create all (one bulk request, one transaction)', color: PALETTE[0] },
        { name: 'again: nothing changes', color: PALETTE[4] },
      ],
      groups: [
        { label: 'kairos apply, YAML files', values: [a.yaml.createSeconds, a.yaml.unchangedSeconds] },
        { label: 'kairos apply, JSON files', values: [a.json.createSeconds, a.json.unchangedSeconds] },
        { label: 'bulk endpoint alone', values: [a.endpoint.createSeconds, a.endpoint.unchangedSeconds] },
        { label: 'reference: bare better-sqlite3', values: [a.referenceSeconds, null] },
      ],
    }),
  };
}

/** (4) Start-up of a single-node agent, empty store, against a bare Node HTTP server. */
function startupChart(r: ChartInput): Chart | null {
  const s = r.startup;
  if (!s) return null;
  return {
    name: 'startup',
    svg: barChart({
      title: 'Start-up: spawn → ready, p50',
      subtitle: withMachine(r, `${s.samples} samples, empty embedded store`),
      axisLabel: 'ms after spawn (p50), lower is better',
      unit: ' ms',
      series: [{ name: 'p50', color: PALETTE[0] }],
      groups: [
        { label: 'agent: HTTP server listening', values: [s.listeningMs.p50] },
        { label: 'agent: scheduler started', values: [s.schedulerStartedMs.p50] },
        { label: 'reference: bare Node listening', values: [s.referenceMs.p50], color: REFERENCE_COLOR },
      ],
    }),
  };
}

/** Scenario 8: lateness after the minute boundary, Debian cron and Kairos in the same run. */
function cronChart(r: ChartInput): Chart | null {
  const c = r.cron;
  if (!c) return null;
  return {
    name: 'cron',
    svg: barChart({
      title: 'Debian cron beside Kairos: lateness after the minute boundary',
      subtitle: withMachine(r, `${c.entries} entries each, alternate minutes, ${c.minutes} boundaries`),
      axisLabel: 'lateness (ms), lower is better',
      unit: ' ms',
      series: [
        { name: `Debian cron ${c.cronVersion}`, color: PALETTE[3] },
        { name: 'Kairos, single agent', color: PALETTE[0] },
      ],
      groups: ['p50', 'p99', 'max'].map((label, i) => ({ label, values: [three(c.cron.lateness)[i], three(c.kairos.lateness)[i]] })),
    }),
  };
}

/** The 100k-jobs memory figures: RSS of the agent at each step against a bare Node process. */
function memoryChart(r: ChartInput): Chart | null {
  const m = r.memory;
  if (!m) return null;
  const rows: [string, number | null][] = [
    ['agent, 0 jobs, idle', m.rss.agentEmptyMiB],
    ...(m.rss.agentAfterApiCreateMiB === null ? [] : ([['agent, right after API creation', m.rss.agentAfterApiCreateMiB]] as [string, number][])),
    [`agent, ${m.jobs} jobs loaded, idle`, m.rss.agentLoadedIdleMiB],
    [`agent, ${m.jobs} jobs, peak`, m.rss.agentLoadedPeakMiB],
    ['agent, after the listings', m.rss.agentAfterListingMiB],
  ];
  return {
    name: 'memory',
    svg: barChart({
      title: `Memory: resident set size with ${m.jobs.toLocaleString('en-US')} jobs defined`,
      subtitle: withMachine(r, `≈ ${m.rss.perJobKiB} KiB per job over the empty agent`),
      axisLabel: 'RSS (MiB), lower is better',
      unit: ' MiB',
      series: [{ name: 'RSS', color: PALETTE[0] }],
      groups: [
        ...rows.map(([label, v]) => ({ label, values: [v] })),
        { label: 'reference: bare node process', values: [m.rss.bareNodeMiB], color: REFERENCE_COLOR },
      ],
    }),
  };
}

/**
 * Scenario 9: the scale curve on one agent, against the number of jobs (log scale): RSS (scale),
 * start-up and creation (scale-startup), request latency (scale-latency).
 */
function scaleCharts(r: ChartInput): Chart[] {
  const s = r.scale;
  if (!s || s.points.length === 0) return [];
  const line = (name: string, color: string, y: (p: ScalePoint) => number | null): LineSeries => ({
    name,
    color,
    points: s.points.map((p) => ({ x: p.jobs, y: y(p) })),
  });
  const sizes = s.points.map((p) => p.jobs.toLocaleString('en-US')).join(', ');
  const seconds = (v: number | null): number | null => (v === null ? null : v / 1000);
  return [
    {
      name: 'scale',
      svg: lineChart({
        title: 'Scale: resident set size of one agent holding N jobs (embedded store)',
        subtitle: withMachine(r, `${sizes} jobs; targets ≤ 200 MiB at 100k, ≤ 1 GiB at 1M`),
        xLabel: 'jobs defined',
        yLabel: 'RSS (MiB), lower is better',
        unit: ' MiB',
        logX: true,
        series: [
          line(`idle, ${s.idleSeconds} s after all jobs loaded`, PALETTE[0], (p) => p.idleRssMiB),
          line('peak (VmHWM) of the restart and load', PALETTE[1], (p) => p.peakRssMiB),
          line('reference: bare node process', REFERENCE_COLOR, () => s.bareNodeMiB),
        ],
      }),
    },
    {
      name: 'scale-startup',
      svg: lineChart({
        title: 'Scale: restart → scheduler loaded, and creation through the bulk endpoint',
        subtitle: withMachine(r, `targets: loaded ≤ 2 s at 100k, ≤ 20 s at 1M; creation ≤ 10 s per 100k`),
        xLabel: 'jobs defined',
        yLabel: 'seconds, lower is better',
        unit: ' s',
        logX: true,
        logY: true,
        series: [
          line('restart → scheduler started (all jobs loaded)', PALETTE[0], (p) => seconds(p.schedulerStartedMs)),
          line(`creation, s per 100k jobs (${s.chunk} per request)`, PALETTE[1], (p) => p.createSecondsPer100k),
          line('restart → HTTP server listening', PALETTE[2], (p) => seconds(p.listeningMs)),
        ],
      }),
    },
    {
      name: 'scale-latency',
      svg: lineChart({
        title: 'Scale: API latency with N jobs stored',
        subtitle: withMachine(r, 'target: p99 ≤ 20 ms at 1M for a page and for one job'),
        xLabel: 'jobs defined',
        yLabel: 'ms, lower is better',
        unit: ' ms',
        logX: true,
        logY: true,
        series: [
          line('GET /v1/jobs page of 50, p99', PALETTE[0], (p) => p.listP99Ms),
          line('GET /v1/jobs/NAME, p99', PALETTE[2], (p) => p.getP99Ms),
          line(`GET /v1/jobs?q=… (reads every job), p50`, PALETTE[5], (p) => p.filteredP50Ms),
        ],
      }),
    },
  ];
}

/** Every chart whose scenario is in the results, in a fixed order. */
export function renderCharts(r: ChartInput): Chart[] {
  return [latenessChart(r), failoverChart(r), applyChart(r), startupChart(r), memoryChart(r), cronChart(r), ...scaleCharts(r)].filter(
    (x): x is Chart => x !== null,
  );
}

/** Writes `NAME.svg` for each chart into `dir`; returns the paths written. */
export function writeCharts(r: ChartInput, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return renderCharts(r).map(({ name, svg }) => {
    const file = join(dir, `${name}.svg`);
    writeFileSync(file, svg);
    return file;
  });
}
