/**
 * The markdown summary `npm run bench` prints on stdout: one section per scenario that ran, in the
 * scenarios' order. Every figure comes from the results object that also goes to latest.json.
 */
import type { MachineInfo, PhaseConditions } from './system.js';
import { round, type Summary } from './stats.js';
import type { LatenessResult, Ratios, RunFigures } from '../scenarios/lateness.js';
import type { MemoryResult } from '../scenarios/memory.js';
import { backendName, CLUSTER_BACKENDS, type ClusterResult } from '../scenarios/cluster.js';
import type { ReactionResult } from '../scenarios/reaction.js';
import type { UiResult } from '../scenarios/ui.js';
import type { ApplyResult } from '../scenarios/apply.js';
import type { StartupResult } from '../scenarios/startup.js';
import type { CronPeerResult, CronPeerSide } from '../scenarios/cron-peer.js';
import type { ScalePoint, ScaleResult } from '../scenarios/scale.js';
import type { ThroughputCluster, ThroughputResult } from '../scenarios/throughput.js';
import type { HistoryFigures } from './throughput-window.js';

/** What the summary reads; run.ts's Results fits it. */
export interface SummaryInput {
  machine: MachineInfo;
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
  throughput?: ThroughputResult;
  durationSeconds?: number;
}

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

export function renderSummary(results: SummaryInput): string {
  const clusters = CLUSTER_BACKENDS.flatMap((b) => results[b] ?? []);
  const m = results.machine;
  return [
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
    ...(results.throughput ? [throughputTable(results.throughput), ''] : []),
  ].join('\n');
}

function throughputTable(r: ThroughputResult): string {
  const ref = r.reference;
  const s = r.single;
  const c = r.cluster;
  const check = (ok: boolean): string => (ok ? '✓' : '✗');
  const onceOk = (h: ThroughputCluster): boolean => h.duplicates === 0 && h.requestMismatch === 0;
  const row = (what: string, reference: string, single: string, cluster: (h: ThroughputCluster) => string): string =>
    `| ${what} | ${reference} | ${single} |${c ? ` ${cluster(c)} |` : ''}`;
  const ticks = (h: HistoryFigures): string => `${h.ticksRecorded} / ${h.ticksExpected}; ${h.unfinished}`;
  const skipped = (h: HistoryFigures): string => `${h.skipped}; ${h.missedTicksLogged}`;
  const sides: [string, number][] = [['reference', ref.otherCoresDuring], ['single agent', s.otherCoresDuring], ...(c ? ([['cluster', c.otherCoresDuring]] as [string, number][]) : [])];
  const noisy = sides.filter(([, cores]) => cores > NOISY_CORES).map(([name]) => name);
  return [
    `### Throughput — executions per second with history stored, ${r.seconds} s windows`,
    '',
    `| figure | reference: bare Node spawning \`/bin/true\` | Kairos, one agent, embedded store, shell \`/bin/true\` |${c ? ` Kairos, etcd ${c.etcdVersion} (3 members), agents ${c.agents.join(', ')}, \`http\` executor |` : ''}`,
    `|---|---|---|${c ? '---|' : ''}`,
    row(
      '**executions / s**',
      `**${round(ref.rate, 1)}** (${ref.concurrency} in flight)`,
      `**${s.rate}** = **${x(s.ratio)}** the reference (target ≥ 0.9× ${s.ratio === null ? '(n/a)' : check(s.ratio >= 0.9)})`,
      (h) => `**${h.rate}** (target ≥ 500 with every execution recorded once ${check(h.rate >= 500 && onceOk(h))})`,
    ),
    row('offered', 'as fast as it goes', `${s.jobs} jobs \`@every 1s\` (phases spread over the second) = ${round(s.jobs / ref.rate, 2)} × the reference, \`--max-parallel ${s.maxParallel}\``, (h) => `${h.jobs} jobs \`@every 1s\` (phases spread over the second), a third pinned to each agent`),
    row('counted', `${ref.completed} exits in the window (${ref.failed} failed)`, `${s.executions} with \`finished_at\` in the window (${s.failed} failed)`, (h) => `${h.executions} finished with \`started_at\` in the window (${h.failed} failed)`),
    row('ticks recorded / expected; not finished when read', '—', ticks(s), ticks),
    row('records duplicated (same job and tick)', '—', `${s.duplicates}`, (h) => `**${h.duplicates}**`),
    row(
      'server requests − finished records (Σ per job; jobs off); all done after the window',
      '—',
      '—',
      (h) => `**${h.requestMismatch}** (${h.jobsMismatched}; ${h.requests} requests); ${h.drained ? `after ${h.drainSeconds} s` : `**not drained** after ${h.drainSeconds} s`}`,
    ),
    row('start lag (`started_at` − tick) p50 / p99 / max (ms)', '—', three(s.startLag), (h) => three(h.startLag)),
    row('skipped ticks (`skip_count`); missed-tick log lines', '—', skipped(s), skipped),
    row(
      'RSS (MiB): agent process max / at the end; with its helper processes and running jobs, max',
      '—',
      `${s.rssMaxMiB} / ${s.rssEndMiB}; ${s.treeRssMaxMiB}`,
      (h) => `max ${h.agents.map((n) => `${n} ${h.rssMaxMiB[n]}`).join(', ')}; ${h.agents.map((n) => `${n} ${h.treeRssMaxMiB[n]}`).join(', ')}`,
    ),
    row('executions per agent', '—', '—', (h) => Object.entries(h.perAgent).map(([n, v]) => `${n} ${v}`).join(', ')),
    '',
    `Reference: \`/bin/true\` spawned from one Node event loop, stdio ignored, the best in-flight limit of ` +
      `${ref.probes.map((p) => `${p.concurrency}: ${round(p.rate, 0)}/s`).join(', ')} (short probes), then measured over the window.`,
    `Machine: reference ${cond(ref.before)} before, other processes used ${ref.otherCoresDuring} cores during; single agent ${cond(s.before)} before, ${s.otherCoresDuring} during` +
      `${c ? `; cluster ${cond(c.before)} before, ${c.otherCoresDuring} during` : ''}.`,
    ...(noisy.length > 0 ? ['', `**Noisy run**: other processes used more than ${NOISY_CORES} cores during the ${noisy.join(', ')} window; the rates are not comparable with a quiet run.`] : []),
  ].join('\n');
}
