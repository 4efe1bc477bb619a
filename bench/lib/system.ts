/** What the figures were measured on, and process memory from /proc. */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { createInterface } from 'node:readline';
import { trackProcess } from './cleanup.js';

export interface MachineInfo {
  date: string;
  nproc: number;
  cpuModel: string;
  memTotalMiB: number;
  node: string;
  platform: string;
  kernel: string;
}

export function machineInfo(): MachineInfo {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) cpuModel = line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // Not Linux: os.cpus() is the fallback.
  }
  let kernel = 'unknown';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // Not Linux.
  }
  return {
    date: new Date().toISOString(),
    nproc: cpus().length,
    cpuModel,
    memTotalMiB: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    kernel,
  };
}

export interface ProcMemory {
  /** Resident set now, KiB. */
  rssKiB: number;
  /** Peak resident set since start, KiB. */
  hwmKiB: number;
}

export function procMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(m[1]);
  };
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

/** KiB → MiB, one decimal. */
export const mib = (kib: number): number => Math.round((kib / 1024) * 10) / 10;

/** The memory of a bare `node` process that does nothing, 1 s after it started: what any Node program costs. */
export async function bareNodeRss(): Promise<ProcMemory> {
  const proc = trackProcess(
    spawn(process.execPath, ['-e', 'process.stdout.write("ready\\n"); setInterval(() => {}, 1 << 30);'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('bare node process did not start within 10 s')), 10_000);
      createInterface({ input: proc.stdout }).once('line', () => {
        clearTimeout(timer);
        resolve();
      });
      proc.once('exit', (code) => reject(new Error(`bare node process exited (${code})`)));
    });
    // Same settling as the agent gets, so lazy startup work is done in both.
    await sleep(1000);
    if (proc.pid === undefined) throw new Error('bare node process has no pid');
    return procMemory(proc.pid);
  } finally {
    proc.kill('SIGKILL');
  }
}

/**
 * The 1-minute load average, recorded before each measured phase: on a shared 2-core machine
 * anything else running skews lateness, and the figures are only comparable with this beside them.
 */
export function load1(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}

function cpuTimes(): { idle: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // user..steal only: guest and guest_nice are already counted inside user and nice.
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  // idle + iowait count as idle: a disk flush elsewhere does not take a core from us.
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { idle, total: fields.reduce((a, b) => a + b, 0) };
}

/** Share of all cores busy over `sampleMs` (0..1), from /proc/stat. */
export async function cpuBusy(sampleMs = 2000): Promise<number> {
  const a = cpuTimes();
  await sleep(sampleMs);
  const b = cpuTimes();
  const total = b.total - a.total;
  return total > 0 ? 1 - (b.idle - a.idle) / total : 0;
}

/**
 * Waits up to `maxWaitMs` for the machine to be nearly idle (two consecutive samples under
 * `threshold`), so a measured phase does not start in the middle of someone else's test run.
 * Returns the last busy share seen; never fails, the caller records what it got.
 */
export async function waitForQuiet(maxWaitMs: number, threshold = 0.2, log?: (msg: string) => void): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  let quietSamples = 0;
  let logged = false;
  let busy = await cpuBusy();
  for (;;) {
    quietSamples = busy < threshold ? quietSamples + 1 : 0;
    if (quietSamples >= 2 || Date.now() >= deadline) break;
    if (!logged && quietSamples === 0) {
      log?.(`waiting up to ${Math.round(maxWaitMs / 1000)} s for a quiet machine (${Math.round(busy * 100)}% CPU busy)`);
      logged = true;
    }
    busy = await cpuBusy();
  }
  return Math.round(busy * 100) / 100;
}

/** What else was going on when a phase started. */
export interface PhaseConditions {
  /** Share of all cores busy over the 2 s just before (0..1). */
  cpuBusy: number;
  load1: number;
}

/**
 * CPU time, in clock ticks, of a process and of the children it has reaped (utime, stime,
 * cutime, cstime of /proc/PID/stat). For an agent that covers every job shell it ran.
 */
export function procCpuTicks(pid: number | 'self', withChildren = true): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name, which may itself contain spaces or ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  // rest[0] is field 3 (state); utime is field 14.
  const [utime = 0, stime = 0, cutime = 0, cstime = 0] = rest.slice(11, 15);
  return utime + stime + (withChildren ? cutime + cstime : 0);
}

export interface ChildProcessInfo {
  pid: number;
  /** The kernel's short command name (`/proc/PID/comm`), e.g. `etcd` or `node`. */
  comm: string;
  /** argv, empty for a zombie. */
  argv: string[];
}

/**
 * This process's direct children, from /proc: also those started by code that keeps its handles
 * to itself (the etcd helper), whose CPU time and cleanup the bench still has to account for.
 */
export function childProcesses(): ChildProcessInfo[] {
  const out: ChildProcessInfo[] = [];
  for (const { pid, ppid } of processes()) {
    if (ppid !== process.pid) continue;
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
      out.push({ pid, comm, argv });
    } catch {
      // Exited between the listing and the read: not ours to count any more.
    }
  }
  return out;
}

/** Every process with its parent, from /proc (those that exit while it is read are left out). */
function processes(): { pid: number; ppid: number }[] {
  const out: { pid: number; ppid: number }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // After the parenthesised command name (which may hold spaces): field 3 (state), field 4 (ppid).
      out.push({ pid: Number(entry), ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) });
    } catch {
      // Exited between the listing and the read.
    }
  }
  return out;
}

/**
 * CPU ticks of this process and everything under it (agents, and the helper processes they keep,
 * such as their spawners), each with what it reaped. A process killed between two readings thus
 * moves from its own term into its parent's reaped time whole, and differences stay right.
 */
export function ownTreeCpuTicks(): number {
  return treeCpuTicks(process.pid);
}

export interface CpuSnapshot {
  busy: number;
  total: number;
}

export function machineCpu(): CpuSnapshot {
  const { idle, total } = cpuTimes();
  return { busy: total - idle, total };
}

/**
 * Cores' worth of CPU that processes other than the measured ones used between two snapshots
 * (e.g. 0.3 = a third of one core on average): the noise a figure was taken under.
 */
export function otherCores(from: CpuSnapshot, to: CpuSnapshot, ownTicks: number, nproc: number): number {
  const elapsedPerCore = (to.total - from.total) / nproc;
  if (elapsedPerCore <= 0) return 0;
  return Math.round((Math.max(0, to.busy - from.busy - ownTicks) / elapsedPerCore) * 100) / 100;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `pid` and every process under it, from /proc: an agent with its helper processes (e.g. the
 * spawners that start job processes) and whatever they run at that moment.
 */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of processes()) {
    const list = children.get(p.ppid) ?? [];
    list.push(p.pid);
    children.set(p.ppid, list);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] ?? -1) ?? []));
  return tree;
}

/** Sum of VmRSS over `pid`'s process tree, KiB (pages shared between them are counted in each). */
export function treeRssKiB(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      total += procMemory(p).rssKiB;
    } catch {
      // Exited meanwhile, or a zombie (no VmRSS): nothing resident.
    }
  }
  return total;
}

/**
 * CPU ticks of `pid` and every live process under it, each with what it reaped: grandchildren
 * too (an agent's helper processes), so their work is not counted as other processes'.
 */
export function treeCpuTicks(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      ticks += procCpuTicks(p);
    } catch {
      // Exited meanwhile: its parent's cutime has it once reaped.
    }
  }
  return ticks;
}
