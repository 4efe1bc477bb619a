/**
 * `npm run bench`: runs the scenarios one after another (never two at once:
 * they would compete for the cores), prints a markdown summary and writes
 * bench/results/latest.json. See BENCHMARKS.md for what each figure means.
 *
 * Environment:
 *   BENCH_SECONDS        lateness run length per side (default 60)
 *   BENCH_LATENESS_JOBS  jobs in the lateness scenario (default 20)
 *   BENCH_JOBS           job definitions in the memory scenario (default 100000)
 *   BENCH_API_SAMPLE     jobs created through the API first (default 5000)
 *   BENCH_API_BUDGET     seconds the API may take for all jobs before the rest is seeded (default 300)
 *   BENCH_FAILOVERS      leader kills in each cluster scenario, etcd and zookeeper (default 5)
 *   BENCH_APPLY_JOBS     job definitions applied by `kairos apply` in the apply scenario (default 100000)
 *   BENCH_UI_JOBS        jobs stored for the ui scenario (default 100000)
 *   BENCH_UI_SAMPLES     page loads measured per page in the ui scenario (default 5)
 *   BENCH_STARTUP_SAMPLES  agent starts measured in the startup scenario (default 10)
 *   BENCH_CRON_MINUTES   minute boundaries measured in the cron scenario, both sides together (default 6)
 *   BENCH_SCALE          comma list of job counts in the scale scenario (default 1000,10000,100000,1000000)
 *   BENCH_SCALE_CHUNK    jobs per POST /v1/jobs/bulk in the scale scenario (default 50000)
 *   BENCH_SCALE_IDLE     seconds idle after loading, before RSS is read, in the scale scenario (default 3)
 *   BENCH_SCENARIOS      comma list of lateness, etcd, zookeeper, memory, reaction, apply, ui, startup, cron, scale (default all;
 *                        they always run in that order, so the cluster scenarios (etcd, zookeeper) reuse the
 *                        lateness scenario's reference, or without it zookeeper reuses etcd's)
 *   BENCH_REACTION_SAMPLES  samples of each reaction (timeout kill, shutdown, etcd lost; default 5)
 *   BENCH_QUIET_WAIT     seconds to wait, before each measured phase, for the machine to be
 *                        nearly idle (default 0: just record how busy it was)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentError, ROOT } from './lib/agent.js';
import { cleanupAll, installCleanupHandlers } from './lib/cleanup.js';
import { writeCharts } from './lib/charts.js';
import { load1, machineInfo, waitForQuiet, type MachineInfo, type PhaseConditions } from './lib/system.js';
import { round, type Summary } from './lib/stats.js';
import { runLateness, type LatenessResult, type Ratios, type RunFigures } from './scenarios/lateness.js';
import { runMemory, type MemoryResult } from './scenarios/memory.js';
import {
  backendName,
  CLUSTER_BACKENDS,
  runCluster,
  type ClusterResult,
  type SharedReference,
} from './scenarios/cluster.js';
import { runReaction, type ReactionResult } from './scenarios/reaction.js';
import { runUi, type UiResult } from './scenarios/ui.js';
import { runApply, type ApplyResult } from './scenarios/apply.js';
import { runStartup, type StartupResult } from './scenarios/startup.js';
import { runCronPeer, type CronPeerResult, type CronPeerSide } from './scenarios/cron-peer.js';
import { runScale, type ScalePoint, type ScaleResult } from './scenarios/scale.js';

const SCENARIOS = ['lateness', 'etcd', 'zookeeper', 'memory', 'reaction', 'apply', 'ui', 'startup', 'cron', 'scale'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Results {
  machine: MachineInfo;
  config: Record<string, number | string>;
  lateness?: LatenessResult;
  etcd?: ClusterResult;
  zookeeper?: ClusterResult;
  memory?: MemoryResult;
  reaction?: ReactionResult;
  ui?: UiResult;
  apply?: ApplyResult;
  startup?: StartupResult;
  cron?: CronPeerResult;
  scale?: ScaleResult;
  durationSeconds?: number;
}

/** A comma list of integers >= 1 (e.g. BENCH_SCALE=1000,10000). */
function envIntList(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const values = raw.split(',').map((v) => v.trim()).filter((v) => v !== '').map(Number);
  if (values.length === 0 || !values.every((v) => Number.isInteger(v) && v >= 1)) {
    process.stderr.write(`bench: ${name} must be a comma list of integers >= 1, got "${raw}"\n`);
    process.exit(2);
  }
  return values;
}

function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) {
    process.stderr.write(`bench: ${name} must be an integer >= ${min}, got "${raw}"\n`);
    process.exit(2);
  }
  return v;
}

const log = (msg: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
const cond = (c: PhaseConditions): string => `${Math.round(c.cpuBusy * 100)}% CPU busy, load ${c.load1}`;
/** Above this much CPU taken by others during a side, lateness tails mostly measure them. */
const NOISY_CORES = 0.2;
// A ratio over a sub-millisecond reference says nothing; the table shows n/a there.
const x = (v: number | null): string => (v === null ? 'n/a' : `${v.toFixed(2)}×`);
/** p50 / p99 / max, in ms or as ratios. */
const three = (v: Summary): string => `${ms(v.p50)} / ${ms(v.p99)} / ${ms(v.max)}`;
const q = (v: Ratios): string => `${x(v.p50)} / ${x(v.p99)} / ${x(v.max)}`;
const during = (f: RunFigures): string => `${cond(f.before)} before, other processes used ${f.otherCoresDuring} cores during`;
/** A table row of min / p50 / max (ms). */
const minP50Max = (what: string, v: Summary): string => `| ${what} | ${ms(v.min)} / ${ms(v.p50)} / ${ms(v.max)} |`;

function latenessTable(r: LatenessResult): string {
  return [
    `### Scheduling lateness — ${r.jobs} jobs \`@every 1s\`, ${r.seconds} s each side`,
    '',
    '| lateness (ms) | Kairos p50 / p99 / max | reference p50 / p99 / max | Kairos ÷ reference |',
    '|---|---|---|---|',
    `| **process start**: \`date\` in the job − scheduled | ${three(r.kairos.start)} | ${three(r.reference.start)} | ${q(r.ratio.start)} |`,
    `| dispatch: Kairos \`started_at\`; reference timer callback | ${three(r.kairos.dispatch)} | ${three(r.reference.dispatch)} | ${q(r.ratio.dispatch)} |`,
    `| reference \`spawn()\` call (after the tick's earlier spawns) | — | ${three(r.reference.spawnCall)} | — |`,
    '',
    `Runs seen: Kairos ${r.kairos.observed}/${r.kairos.expected} probe lines, ${r.kairos.executionsRecorded} execution records, ` +
      `${r.kairos.missedTicksLogged} missed-tick, skipped-run or failed-dispatch log lines; reference ${r.reference.observed}/${r.reference.expected} probe lines, ` +
      `${r.reference.failed} failed.`,
    `Machine: Kairos side ${during(r.kairos)}; reference side ${during(r.reference)}.`,
    ...(Math.max(r.kairos.otherCoresDuring, r.reference.otherCoresDuring) > NOISY_CORES
      ? ['', `**Noisy run**: other processes used more than ${NOISY_CORES} cores during a side; the ratios are not comparable with a quiet run.`]
      : []),
  ].join('\n');
}

function applyTable(a: ApplyResult): string {
  return [
    `### kairos apply — ${a.jobs} jobs in ${a.files} files, embedded store`,
    '',
    '| step (seconds) | create all (one bulk request, one transaction) | again: nothing changes |',
    '|---|---|---|',
    `| \`kairos apply -f DIR\`, YAML files | ${a.yaml.createSeconds} | ${a.yaml.unchangedSeconds} |`,
    `| \`kairos apply -f DIR\`, the same jobs as JSON files | ${a.json.createSeconds} | ${a.json.unchangedSeconds} |`,
    `| the bulk endpoint alone: one POST of the same body | ${a.endpoint.createSeconds} | ${a.endpoint.unchangedSeconds} |`,
    `| reference: bare better-sqlite3, same rows, one transaction | ${a.referenceSeconds} | — |`,
  ].join('\n');
}

function uiTable(u: UiResult): string {
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;
  return [
    `### Web UI — ${u.jobs} jobs stored (bulk, ${u.seedSeconds} s), a job with ${u.executions} executions; Chromium, 1400×900`,
    '',
    `Bundle, gzipped: ${kb(u.bundle.jsGzipBytes)} JS loaded by every page + ${kb(u.bundle.chunksGzipBytes)} loaded with the first chart + ${kb(u.bundle.cssGzipBytes)} CSS (budget ${kb(u.bundle.budgetGzipBytes)} for all).`,
    '',
    '| navigation start → rows rendered (ms) | min / p50 / max |',
    '|---|---|',
    minP50Max('jobs page, first 25 rows', u.jobsPage),
    minP50Max('job page, executions listed', u.jobPage),
    minP50Max('reference: bare page, 25 rows from the same agent', u.reference),
  ].join('\n');
}

function startupTable(r: StartupResult): string {
  return [
    `### Start-up of a single-node agent, empty embedded store — ${r.samples} samples`,
    '',
    '| spawn → (ms) | min / p50 / max |',
    '|---|---|',
    minP50Max('`api: HTTP server listening`', r.listeningMs),
    minP50Max('`scheduler: started`', r.schedulerStartedMs),
    minP50Max('reference: bare Node listening on HTTP', r.referenceMs),
  ].join('\n');
}

function cronTable(r: CronPeerResult): string {
  const mb = (v: number | null): string => (v === null ? 'n/a' : `${v}`);
  const row = (what: string, cell: (s: CronPeerSide) => string): string => `| ${what} | ${cell(r.cron)} | ${cell(r.kairos)} |`;
  return [
    `### Debian cron beside Kairos — ${r.entries} entries each, alternate minutes, ${r.minutes} minute boundaries`,
    '',
    `| figure | Debian cron ${r.cronVersion} (\`cron -f\`, /etc/cron.d) | Kairos (one agent, embedded store) |`,
    '|---|---|---|',
    row('schedule', (s) => `\`${s.schedule}\` (${s.minutes} minutes)`),
    row('runs seen / expected (boundaries); missing, duplicated, off-schedule', (s) => `${s.observed}/${s.expected} (${s.boundaries}); ${s.missing}, ${s.duplicates}, ${s.offSchedule}`),
    row('**lateness after the minute boundary** p50 / p99 / max (ms)', (s) => `**${three(s.lateness)}**`),
    row('earliest run after its boundary (ms)', (s) => ms(s.lateness.min)),
    row('**RSS of the scheduler process**, max sampled during the window (MiB)', (s) => `**${mb(s.rss.maxMiB)}**`),
    row('RSS when the window opened (MiB)', (s) => mb(s.rss.atStartMiB)),
    '',
    `Lateness: \`date +%s%N\` in the job's shell − the minute boundary. RSS: VmRSS of cron's daemon and of the agent's node process ` +
      `(job shells, and cron's per-job child, not counted), sampled every second from ${r.window.first.slice(11, 16)} to ${r.window.last.slice(11, 16)} UTC; ` +
      `reference: a bare \`node\` process ${mb(r.bareNodeMiB)} MiB.`,
    `Machine: ${cond(r.before)} before, other processes used ${r.otherCoresDuring} cores during.`,
    ...(r.otherCoresDuring > NOISY_CORES ? ['', `**Noisy run**: other processes used more than ${NOISY_CORES} cores during the window.`] : []),
  ].join('\n');
}

/** The issue's targets for one agent at N jobs, each with whether this run met it. */
function scaleTargets(p: ScalePoint): string {
  const check = (ok: boolean | null): string => (ok === null ? ' (n/a)' : ok ? ' ✓' : ' ✗');
  const le = (v: number | null, max: number): boolean | null => (v === null ? null : v <= max);
  const t: string[] = [];
  if (p.jobs === 100_000) {
    t.push(`RSS ≤ 200 MiB${check(le(p.idleRssMiB, 200))}`, `loaded ≤ 2 s${check(le(p.schedulerStartedMs, 2000))}`);
  }
  if (p.jobs === 1_000_000) {
    t.push(
      `RSS ≤ 1 GiB${check(le(p.idleRssMiB, 1024))}`,
      `loaded ≤ 20 s${check(le(p.schedulerStartedMs, 20_000))}`,
      `page p99 ≤ 20 ms${check(le(p.listP99Ms, 20))}`,
      `get p99 ≤ 20 ms${check(le(p.getP99Ms, 20))}`,
    );
  }
  if (p.jobs >= 100_000) t.push(`≤ 10 s/100k${check(le(p.createSecondsPer100k, 10))}`);
  return t.length > 0 ? t.join(', ') : '—';
}

function scaleTable(r: ScaleResult): string {
  const v = (n: number | null): string => (n === null ? 'n/a' : `${n}`);
  const two = (a: number | null, b: number | null): string => `${ms(a ?? Number.NaN)} / ${ms(b ?? Number.NaN)}`;
  const first = r.points[0];
  return [
    `### Scale curve, one agent, embedded store — ${r.points.map((p) => p.jobs).join(', ')} jobs`,
    '',
    '| jobs | creation, bulk (s; s per 100k) | RSS after creation (MiB) | store on disk (MiB) | restart → listening (ms) | ' +
      '**restart → scheduler loaded** (ms) | **RSS idle** / peak (MiB) | GET /v1/jobs page p50 / p99 (ms) | ' +
      'GET /v1/jobs/NAME p50 / p99 (ms) | filtered list `q=` p50 / max (ms) | target (issue) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.points.map(
      (p) =>
        `| ${p.jobs} | ${p.createSeconds}; ${p.createSecondsPer100k} | ${p.rssAfterCreateMiB} | ${p.storeMiB} | ${p.listeningMs} | ` +
          `**${p.schedulerStartedMs}** | **${p.idleRssMiB}** / ${p.peakRssMiB} | ${two(p.listP50Ms, p.listP99Ms)} | ` +
          `${two(p.getP50Ms, p.getP99Ms)} | ${two(p.filteredP50Ms, p.filteredMaxMs)} | ${scaleTargets(p)} |`,
    ),
    '',
    `Each N on a fresh data dir: jobs created through \`POST /v1/jobs/bulk\`, ${r.chunk} per request, one request after another ` +
      `(first / last chunk: ${r.points.map((p) => `${v(p.firstChunkSeconds)} / ${v(p.lastChunkSeconds)} s`).join('; ')}); ` +
      `store = every file in the data dir after a clean stop; RSS ${r.idleSeconds} s after \`scheduler: started\`, peak = VmHWM then; ` +
      `latency after one warm-up: ${first?.listRequests ?? 0} page requests (50 jobs), ${first?.getRequests ?? 0} by-name requests; ` +
      `${first?.filteredRequests ?? 0} filtered requests \`q=${first?.filteredQuery ?? ''}\` (${r.points.map((p) => p.filteredMatches).join(', ')} matches; ` +
      `reads every job). RSS after all requests (peak): ${r.points.map((p) => `${p.rssAfterQueriesMiB} (${p.peakAfterQueriesMiB})`).join(', ')} MiB. ` +
      `Reference: a bare \`node\` process ${r.bareNodeMiB} MiB.`,
    '',
    `At the start: ${cond(r.before)}.`,
  ].join('\n');
}

function reactionTable(r: ReactionResult): string {
  return [
    `### Reactions — ${r.samples} samples each`,
    '',
    '| reaction (ms) | min / p50 / max |',
    '|---|---|',
    minP50Max('job `timeout: 300ms` on `sleep 30` → run recorded finished (finished_at − started_at)', r.timeoutKill),
    minP50Max('SIGINT, one run in progress, `--shutdown-timeout 500ms` → agent exited', r.shutdown),
    minP50Max('etcd SIGKILLed → store call rejected "etcd unavailable" (deadline 2 s)', r.etcdDown),
  ].join('\n');
}

/** The cluster scenarios side by side: one column per backend that ran, and the shared reference. */
function clusterComparisonTable(rs: ClusterResult[]): string {
  const two = (v: Summary): string => `${round(v.p50, 0)} / ${round(v.max, 0)}`;
  const ref = rs[0]?.lateness;
  const sameReference = rs.every((r) => r.lateness.reference === ref?.reference);
  const refCell = (cell: string): string => (sameReference ? cell : 'see each backend');
  const row = (what: string, cell: (r: ClusterResult) => string, reference: string): string =>
    `| ${what} | ${rs.map(cell).join(' | ')} | ${reference} |`;
  const fo = (r: ClusterResult): string => `${r.failover.kills.length} kills`;
  return [
    `### Cluster backends side by side — ${rs.map((r) => backendName(r.backend)).join(' vs ')}`,
    '',
    `Each: ${rs[0]?.servers.members ?? 3} servers of the backend on loopback, agents ${rs[0]?.agents.servers.join(', ') ?? ''} + worker ${rs[0]?.agents.worker ?? ''}, ` +
      `lease TTL ${rs[0]?.agents.leaseTtlSeconds ?? ''} s; lateness: ${ref?.jobs ?? ''} jobs \`@every 1s\` on the worker for ${ref?.seconds ?? ''} s.`,
    '',
    `| figure | ${rs.map((r) => `${backendName(r.backend)} ${r.servers.version}`).join(' | ')} | reference |`,
    `|---|${rs.map(() => '---|').join('')}---|`,
    row('**process start** lateness p50 / p99 / max (ms)', (r) => three(r.lateness.cluster.start), ref ? refCell(three(ref.reference.start)) : ''),
    row('process start ÷ reference p50 / p99 / max', (r) => `**${q(r.lateness.ratio.start)}**`, '—'),
    row('dispatch (`started_at`) p50 / p99 / max (ms); reference: timer callback', (r) => three(r.lateness.cluster.dispatch), ref ? refCell(three(ref.reference.dispatch)) : ''),
    row('runs seen (probe lines / expected); missed-tick lines', (r) => `${r.lateness.cluster.observed}/${r.lateness.cluster.expected}; ${r.lateness.cluster.missedTicksLogged}`, '—'),
    row('failover: kill → new leader p50 / max (ms)', (r) => `${two(r.failover.election)} (${fo(r)})`, '—'),
    row('failover: **kill → next dispatch** p50 / max (ms)', (r) => `**${two(r.failover.dispatch)}** (${fo(r)})`, '—'),
    row(
      'ticks duplicated / lost (ticks checked)',
      (r) => `**${r.failover.ticks.duplicates} / ${r.failover.ticks.lost}** (${r.failover.ticks.ticks})`,
      '—',
    ),
    row('other processes\' cores during lateness / kills', (r) => `${r.lateness.cluster.otherCoresDuring} / ${r.failover.otherCoresDuring}`, '—'),
    '',
    `Reference: ${sameReference ? (ref ? referenceText(ref.referenceFrom) : '') : 'not the same for every backend; see each one below.'}`,
  ].join('\n');
}

function referenceText(from: ClusterResult['lateness']['referenceFrom']): string {
  return from === 'lateness scenario' ? 'the lateness scenario\'s, from this run.' : `measured by the ${from} after its cluster was stopped.`;
}

function clusterTable(r: ClusterResult): string {
  const name = backendName(r.backend);
  const l = r.lateness;
  const embedded = (v: Summary | undefined): string => (v ? three(v) : 'not run');
  const f = r.failover;
  const t = f.ticks;
  const mmm = (v: Summary): string => `${round(v.min, 0)} / ${round(v.p50, 0)} / ${round(v.max, 0)}`;
  const ticksOk = t.duplicates === 0 && t.lost === 0 && t.offPhase === 0;
  return [
    `### ${name} cluster — ${r.servers.members} ${name} members (${name} ${r.servers.version}), servers ${r.agents.servers.join(', ')} + worker ${r.agents.worker}, lease TTL ${r.agents.leaseTtlSeconds} s`,
    '',
    `#### Lateness — ${l.jobs} jobs \`@every 1s\` on the worker, ${l.seconds} s`,
    '',
    `| lateness (ms) | ${name} cluster p50 / p99 / max | embedded agent (scenario 1) | reference | cluster ÷ reference |`,
    '|---|---|---|---|---|',
    `| **process start**: \`date\` in the job − scheduled | ${three(l.cluster.start)} | ${embedded(l.embedded?.start)} | ${three(l.reference.start)} | ${q(l.ratio.start)} |`,
    `| dispatch: \`started_at\` (reference: timer callback) | ${three(l.cluster.dispatch)} | ${embedded(l.embedded?.dispatch)} | ${three(l.reference.dispatch)} | ${q(l.ratio.dispatch)} |`,
    '',
    `Runs seen: ${l.cluster.observed}/${l.cluster.expected} probe lines, ${l.cluster.executionsRecorded} execution records, ` +
      `${l.cluster.missedTicksLogged} missed-tick, skipped-run or failed-dispatch log lines. ` +
      (l.referenceFrom === `${r.backend} scenario`
        ? 'Reference: measured after the cluster was stopped.'
        : `Reference: ${referenceText(l.referenceFrom)}`),
    `Machine: cluster side ${during(l.cluster)}.`,
    ...(l.cluster.otherCoresDuring > NOISY_CORES
      ? ['', `**Noisy run**: other processes used more than ${NOISY_CORES} cores during the cluster side.`]
      : []),
    '',
    `#### Failover — leader SIGKILLed ${f.kills.length} times, \`@every 1s\` job (catch_up \`all\`) on the worker`,
    '',
    '| gap (ms) | min / p50 / max |',
    '|---|---|',
    `| kill → new leader (first \`/v1/leader\` answer from a survivor naming another agent; each survivor polled every ${f.pollMs.leader} ms) | ${mmm(f.election)} |`,
    `| **kill → next dispatch** (\`started_at\` of the first tick the dead leader could not have dispatched: due more than the 500 ms dispatch lead after the kill) | ${mmm(f.dispatch)} |`,
    '',
    '| kill | killed → new leader | kill at (ms into the second) | new leader | next dispatch | first tick run as | rejoin |',
    '|---|---|---|---|---|---|---|',
    ...f.kills.map(
      (k, i) =>
        `| ${i + 1} | ${k.killed} → ${k.newLeader} | ${k.killPhaseMs} | ${k.electionMs} | ${k.dispatchMs} | ${k.firstTickTrigger} | ${k.rejoinMs} |`,
    ),
    '',
    `Ticks in the execution history (history_limit ${t.historyLimit}): ${t.ticks} from ${t.first} to ${t.last}; ` +
      `**${t.duplicates} duplicated, ${t.lost} lost**, ${t.offPhase} off the whole second; ${t.catchup} run through catch-up, ` +
      `${t.failed} failed, ${t.notOnWorker} not on the worker.`,
    ...(ticksOk ? [] : ['', '**FAILED**: a tick was duplicated, lost or off its phase.']),
    `Machine: ${cond(f.before)} before the kills, other processes used ${f.otherCoresDuring} cores during them.`,
    ...(f.otherCoresDuring > NOISY_CORES
      ? ['', `**Noisy run**: other processes used more than ${NOISY_CORES} cores during the kills.`]
      : []),
  ].join('\n');
}

function memoryTable(r: MemoryResult): string {
  const c = r.creation;
  const creation =
    c.method === 'api'
      ? `${round(c.apiJobsPerSecond, 0)} jobs/s (${c.apiJobs} jobs in ${c.apiSeconds.toFixed(1)} s, ${c.concurrency} concurrent; first ${c.apiSampleJobs}: ${round(c.apiSampleJobsPerSecond, 0)} jobs/s)`
      : `${round(c.apiJobsPerSecond, 0)} jobs/s on a ${c.apiJobs}-job sample (${c.concurrency} concurrent); ${c.seededJobs} seeded with putJobs in ${c.seedSeconds?.toFixed(1)} s`;
  const rows: [string, string][] = [
    ['job creation through POST /v1/jobs', creation],
    ['restart → `api: HTTP server listening`', `${r.startup.listeningMs} ms`],
    ['restart → `scheduler: started` (all jobs loaded)', `${r.startup.schedulerStartedMs} ms (${r.startup.jobsLoaded} jobs)`],
    ['RSS, bare `node` process', `${r.rss.bareNodeMiB} MiB`],
    ['RSS, agent with 0 jobs (idle)', `${r.rss.agentEmptyMiB} MiB`],
    ...(r.rss.agentAfterApiCreateMiB === null
      ? []
      : ([['RSS, agent right after creating them through the API', `${r.rss.agentAfterApiCreateMiB} MiB`]] as [string, string][])),
    [`RSS, agent with ${r.jobs} jobs loaded (idle)`, `${r.rss.agentLoadedIdleMiB} MiB (peak ${r.rss.agentLoadedPeakMiB} MiB) ≈ ${r.rss.perJobKiB} KiB/job over empty`],
    ['RSS, agent after the listings below', `${r.rss.agentAfterListingMiB} MiB`],
    [
      'GET /v1/jobs?_start=0&_end=50',
      `first ${ms(r.listFirstPage.firstMs)} ms; next ${r.listFirstPage.ms.n}: p50 ${ms(r.listFirstPage.ms.p50)} ms, max ${ms(r.listFirstPage.ms.max)} ms (X-Total-Count ${r.listFirstPage.total})`,
    ],
  ];
  return [
    `### ${r.jobs} jobs defined — memory and startup`,
    '',
    '| measure | value |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
    `At the start: ${cond(r.before)}.`,
  ].join('\n');
}

async function main(): Promise<void> {
  installCleanupHandlers();
  const seconds = envInt('BENCH_SECONDS', 60);
  const latenessJobs = envInt('BENCH_LATENESS_JOBS', 20);
  const jobs = envInt('BENCH_JOBS', 100_000);
  const apiSample = envInt('BENCH_API_SAMPLE', 5000);
  const apiBudget = envInt('BENCH_API_BUDGET', 300, 0);
  const quietWait = envInt('BENCH_QUIET_WAIT', 0, 0);
  const failovers = envInt('BENCH_FAILOVERS', 5);
  const reactionSamples = envInt('BENCH_REACTION_SAMPLES', 5);
  const startupSamples = envInt('BENCH_STARTUP_SAMPLES', 10);
  const cronMinutes = envInt('BENCH_CRON_MINUTES', 6);
  const scaleSizes = envIntList('BENCH_SCALE', [1000, 10_000, 100_000, 1_000_000]);
  const scaleChunk = envInt('BENCH_SCALE_CHUNK', 50_000);
  if (scaleChunk > 250_000) {
    // POST /v1/jobs/bulk takes at most 128 MiB of body: ~300k of these jobs.
    process.stderr.write(`bench: BENCH_SCALE_CHUNK must be at most 250000 (the bulk endpoint's body limit), got ${scaleChunk}\n`);
    process.exit(2);
  }
  const scaleIdle = envInt('BENCH_SCALE_IDLE', 3, 0);
  const settle = async (): Promise<PhaseConditions> => ({
    cpuBusy: await waitForQuiet(quietWait * 1000, 0.2, log),
    load1: load1(),
  });
  const scenarios = new Set<Scenario>();
  for (const raw of (process.env.BENCH_SCENARIOS || SCENARIOS.join(',')).split(',')) {
    const s = raw.trim();
    if (s === '') continue;
    if (!SCENARIOS.some((known) => known === s)) {
      process.stderr.write(`bench: unknown scenario "${s}" (use ${SCENARIOS.join(', ')})\n`);
      process.exit(2);
    }
    scenarios.add(s as Scenario);
  }
  if (scenarios.size === 0) {
    process.stderr.write('bench: BENCH_SCENARIOS names no scenario\n');
    process.exit(2);
  }

  // Every wait inside is bounded too; this is the backstop for anything that isn't.
  // etcd, zookeeper: ~30 s of bounded steps per kill in the worst case, several times over; one
  // reference side between them unless the lateness scenario ran (zookeeper reuses etcd's);
  // ZooKeeper's JVMs may take up to 120 s to serve on a busy machine.
  const clusterScenarios = CLUSTER_BACKENDS.filter((b) => scenarios.has(b));
  const clusterReference = clusterScenarios.length > 0 && !scenarios.has('lateness');
  const phases =
    (scenarios.has('lateness') ? 2 : 0) +
    (scenarios.has('memory') ? 1 : 0) +
    (scenarios.has('scale') ? 1 : 0) +
    clusterScenarios.length * 2 +
    (clusterReference ? 1 : 0);
  const budgetSeconds =
    phases * (quietWait + 10) +
    (scenarios.has('lateness') ? 2 * seconds + 180 : 0) +
    (scenarios.has('memory') ? apiBudget + 900 : 0) +
    clusterScenarios.length * (seconds + 400 + failovers * 200) +
    (scenarios.has('zookeeper') ? 120 : 0) +
    (clusterReference ? seconds + 90 : 0) +
    // reaction: three bounded loops of short runs (30 s waits at most each).
    (scenarios.has('reaction') ? 120 + reactionSamples * 3 * 30 : 0) +
    (scenarios.has('ui') ? 900 : 0) +
    (scenarios.has('apply') ? 900 : 0) +
    (scenarios.has('startup') ? 20 * startupSamples : 0) +
    // cron: apt-get install (bounded 2 × 180 s + update), up to a minute to the first boundary, 30 s grace.
    (scenarios.has('cron') ? cronMinutes * 60 + 660 + quietWait : 0) +
    // scale, per N: two starts and stops, idle, requests (~120 s), and creation, load and the
    // filtered listings, which grow with N: 300 s per 100k jobs is several times the targets.
    (scenarios.has('scale') ? 30 + scaleSizes.reduce((s, n) => s + 120 + scaleIdle + Math.ceil((n / 100_000) * 300), 0) : 0);
  const watchdog = setTimeout(() => {
    log(`watchdog: the bench ran longer than ${budgetSeconds} s; stopping`);
    cleanupAll();
    process.exit(1);
  }, budgetSeconds * 1000);
  watchdog.unref();

  const started = performance.now();
  const results: Results = {
    machine: machineInfo(),
    config: {
      seconds,
      latenessJobs,
      jobs,
      apiSample,
      apiBudget,
      quietWait,
      failovers,
      scenarios: SCENARIOS.filter((s) => scenarios.has(s)).join(','),
      ...(scenarios.has('scale') ? { scale: scaleSizes.join(','), scaleChunk, scaleIdle } : {}),
    },
  };
  log(`machine: ${results.machine.nproc} × ${results.machine.cpuModel}, ${results.machine.memTotalMiB} MiB, node ${results.machine.node}`);

  if (scenarios.has('lateness')) {
    results.lateness = await runLateness({ jobs: latenessJobs, seconds, log, settle });
  }
  // Without the lateness scenario, the first cluster scenario measures the reference and the next reuses it.
  let sharedReference: SharedReference | undefined;
  for (const backend of clusterScenarios) {
    const r = await runCluster({ backend, jobs: latenessJobs, seconds, failovers, log, settle, lateness: results.lateness, reference: sharedReference });
    results[backend] = r;
    sharedReference ??= { jobs: r.lateness.jobs, seconds: r.lateness.seconds, figures: r.lateness.reference, from: r.lateness.referenceFrom };
  }
  const clusters = CLUSTER_BACKENDS.flatMap((b) => results[b] ?? []);
  if (scenarios.has('memory')) {
    results.memory = await runMemory({ jobs, apiSample, apiBudgetSeconds: apiBudget, concurrency: 8, idleSeconds: 5, log, settle });
  }
  if (scenarios.has('reaction')) {
    results.reaction = await runReaction({ samples: reactionSamples, log });
  }
  if (scenarios.has('apply')) {
    results.apply = await runApply({ jobs: envInt('BENCH_APPLY_JOBS', 100_000), log });
  }
  if (scenarios.has('ui')) {
    results.ui = await runUi({ jobs: envInt('BENCH_UI_JOBS', 100_000), executions: 100, samples: envInt('BENCH_UI_SAMPLES', 5), log });
  }
  if (scenarios.has('startup')) {
    results.startup = await runStartup({ samples: startupSamples, log });
  }
  if (scenarios.has('cron')) {
    results.cron = await runCronPeer({ entries: 100, minutes: cronMinutes, log, settle });
  }
  if (scenarios.has('scale')) {
    results.scale = await runScale({ sizes: scaleSizes, chunk: scaleChunk, idleSeconds: scaleIdle, log, settle });
  }
  results.durationSeconds = Math.round((performance.now() - started) / 1000);

  const m = results.machine;
  const out = [
    `## Kairos bench — ${m.date.slice(0, 10)}`,
    '',
    `${m.nproc} × ${m.cpuModel}, ${m.memTotalMiB} MiB RAM, Node ${m.node}, ${m.platform}, kernel ${m.kernel}; took ${results.durationSeconds} s.`,
    '',
    ...(results.lateness ? [latenessTable(results.lateness), ''] : []),
    ...(clusters.length > 0 ? [clusterComparisonTable(clusters), ''] : []),
    ...clusters.flatMap((c) => [clusterTable(c), '']),
    ...(results.memory ? [memoryTable(results.memory), ''] : []),
    ...(results.reaction ? [reactionTable(results.reaction), ''] : []),
    ...(results.apply ? [applyTable(results.apply), ''] : []),
    ...(results.ui ? [uiTable(results.ui), ''] : []),
    ...(results.startup ? [startupTable(results.startup), ''] : []),
    ...(results.cron ? [cronTable(results.cron), ''] : []),
    ...(results.scale ? [scaleTable(results.scale), ''] : []),
  ].join('\n');
  process.stdout.write(`${out}\n`);

  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  log(`results written to ${join(dir, 'latest.json')}`);
  log(`charts written: ${writeCharts(results, dir).map((f) => f.slice(dir.length + 1)).join(', ') || 'none'}`);
  clearTimeout(watchdog);
  const failed = clusters.filter(({ failover: { ticks: t } }) => t.duplicates > 0 || t.lost > 0 || t.offPhase > 0);
  if (failed.length > 0) {
    throw new Error(
      failed
        .map(({ backend, failover: { ticks: t } }) => `${backend} failover: ${t.duplicates} duplicated, ${t.lost} lost, ${t.offPhase} off-phase ticks (expected none)`)
        .join('; '),
    );
  }
}

main().then(
  () => {
    cleanupAll();
    process.exit(0);
  },
  (err: unknown) => {
    if (err instanceof AgentError) {
      process.stderr.write(`bench: ${err.message}\n--- agent log ---\n${err.logs.join('\n')}\n--- end of agent log ---\n`);
    } else {
      process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    cleanupAll();
    process.exit(1);
  },
);
