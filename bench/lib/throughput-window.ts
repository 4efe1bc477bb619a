/**
 * The measurement window of the throughput scenario (scenario 10): jobs created to tick through it,
 * the machine watched while it runs, and what the execution history says about it afterwards.
 */
import { cpus } from 'node:os';
import { apiOk } from './agent.js';
import { summarize, type Summary } from './stats.js';
import { machineCpu, otherCores, procMemory, sleep, treeRssKiB } from './system.js';

/** What the execution history holds for the window [t0, t0 + seconds): ticks t0, t0 + 1 s, … */
export interface HistoryFigures {
  jobs: number;
  /** Which timestamp of a finished execution must fall in the window for it to count. */
  countedBy: 'finished_at' | 'started_at';
  /** Finished executions counted, of which failed. */
  executions: number;
  failed: number;
  /** executions ÷ seconds. */
  rate: number;
  /** jobs × seconds. */
  ticksExpected: number;
  /** Distinct (job, scheduled_at) in the window with at least one record. */
  ticksRecorded: number;
  /** Records beyond one per (job, tick), over all ticks. */
  duplicates: number;
  /** Records with a tick in the window that had not finished when read. */
  unfinished: number;
  /** started_at − scheduled_at of the counted executions (ms): how far behind the agents fell. */
  startLag: Summary;
  /** The jobs' skip_count, summed. */
  skipped: number;
  /** Missed-tick, skipped-run and failed-dispatch log lines. */
  missedTicksLogged: number;
}


export interface ExecutionRecord {
  id: string;
  attempt: number;
  output: string;
  scheduled_at: string;
  started_at: string;
  finished_at: string | null;
  success: boolean;
  trigger: string;
  node_name: string;
}

/** Creates the jobs in one bulk request, their window starting on the whole second `leadMs` ahead (t0, returned). */
export async function createJobs(url: string, defs: (t0: number) => Record<string, unknown>[], leadMs: number): Promise<number> {
  const t0 = Math.ceil((Date.now() + leadMs) / 1000) * 1000;
  const jobs = defs(t0);
  const r = await apiOk<{ created: string[] }>(url, 'POST', '/v1/jobs/bulk', { jobs, prune: null, dry_run: false, detail: 'diff' }, 200);
  if (r.body.created.length !== jobs.length) throw new Error(`bulk creation created ${r.body.created.length} of ${jobs.length} jobs`);
  if (Date.now() > t0 - 500) throw new Error(`creating ${jobs.length} jobs took longer than the ${leadMs} ms lead time`);
  return t0;
}

/**
 * Job i of n ticks i/n of a second after the whole seconds: a steady stream of runs, like the
 * reference's, rather than n at once on each whole second, which measures a burst (and makes the
 * scheduler drop whole seconds of ticks once it falls more than its 1 s grace behind).
 */
export const phaseMs = (i: number, n: number): number => Math.floor((i * 1000) / n);

/** The window's timing fields of an `@every 1s` job: ticks t0 + phase, + 1 s, … up to seconds ticks, all in [t0, t0 + seconds). */
export const windowed = (t0: number, seconds: number, phase: number): Record<string, unknown> => ({
  schedule: '@every 1s',
  concurrency: 'allow',
  starts_at: new Date(t0 + phase).toISOString(),
  // expires_at is inclusive: the job's last tick is its last one inside the window.
  expires_at: new Date(t0 + phase + (seconds - 1) * 1000).toISOString(),
  // The default (100) unless the window has more ticks: a pruned record would not be counted.
  ...(seconds + 10 > 100 ? { history_limit: seconds + 10 } : {}),
});

export interface WindowFigures {
  otherCoresDuring: number;
  /** Per pid: max VmRSS of the process, and of its whole tree (helper processes and running jobs), KiB. */
  rssMaxKiB: number[];
  treeRssMaxKiB: number[];
}

/** Sleeps through the window, sampling each pid's RSS every second; CPU of others over the window. */
export async function throughWindow(t0: number, seconds: number, pids: number[], ownTicks: () => number): Promise<WindowFigures> {
  await sleep(t0 - Date.now());
  const cpuFrom = machineCpu();
  const ownFrom = ownTicks();
  const rssMaxKiB = pids.map(() => 0);
  const treeRssMaxKiB = pids.map(() => 0);
  const end = t0 + seconds * 1000;
  while (Date.now() < end) {
    pids.forEach((pid, i) => {
      let rss: number;
      try {
        rss = procMemory(pid).rssKiB;
      } catch {
        throw new Error(`agent process ${pid} exited during the window`);
      }
      rssMaxKiB[i] = Math.max(rssMaxKiB[i] ?? 0, rss);
      treeRssMaxKiB[i] = Math.max(treeRssMaxKiB[i] ?? 0, treeRssKiB(pid));
    });
    await sleep(Math.min(1000, end - Date.now()));
  }
  return { otherCoresDuring: otherCores(cpuFrom, machineCpu(), ownTicks() - ownFrom, cpus().length), rssMaxKiB, treeRssMaxKiB };
}

/** Figures from each job's records (retries left out: none are configured). */
export function historyFigures(
  records: Map<string, ExecutionRecord[]>,
  t0: number,
  seconds: number,
  countedBy: HistoryFigures['countedBy'],
): Omit<HistoryFigures, 'skipped' | 'missedTicksLogged'> & { counted: ExecutionRecord[] } {
  const end = t0 + seconds * 1000;
  const inWindow = (iso: string | null): boolean => iso !== null && Date.parse(iso) >= t0 && Date.parse(iso) < end;
  const counted: ExecutionRecord[] = [];
  let ticksRecorded = 0;
  let duplicates = 0;
  let unfinished = 0;
  for (const list of records.values()) {
    const runs = list.filter((e) => e.trigger !== 'retry');
    const ticks = new Set(runs.map((e) => Date.parse(e.scheduled_at)));
    duplicates += runs.length - ticks.size;
    ticksRecorded += [...ticks].filter((t) => t >= t0 && t < end).length;
    for (const e of runs) {
      if (e.finished_at === null) unfinished += inWindow(e.scheduled_at) ? 1 : 0;
      else if (inWindow(countedBy === 'finished_at' ? e.finished_at : e.started_at)) counted.push(e);
    }
  }
  return {
    jobs: records.size,
    countedBy,
    executions: counted.length,
    failed: counted.filter((e) => !e.success).length,
    rate: Math.round((counted.length / seconds) * 10) / 10,
    ticksExpected: records.size * seconds,
    ticksRecorded,
    duplicates,
    unfinished,
    startLag: summarize(counted.map((e) => Date.parse(e.started_at) - Date.parse(e.scheduled_at))),
    counted,
  };
}


/** Each job's whole history through one agent's API, a few requests in flight. */
export async function readHistories(url: string, names: readonly string[]): Promise<Map<string, ExecutionRecord[]>> {
  const out = new Map<string, ExecutionRecord[]>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const name = names[next++] as string;
      const r = await apiOk<ExecutionRecord[]>(url, 'GET', `/v1/jobs/${name}/executions?offset=0&limit=100000`, undefined, 200);
      out.set(name, r.body);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return new Map(names.map((n) => [n, out.get(n) ?? []]));
}

