import { readFile, readdir } from 'node:fs/promises';

/**
 * The shell executor's `mem_limit`: parsing the size, measuring a run's
 * process tree from /proc, and the periodic check that kills it.
 */

type Problem = { field: string; message: string };

// Binary multiples, as dkron (`1KB` = 1024 bytes). Upper-cased before lookup.
const UNIT_BYTES: Record<string, number> = {
  '': 1,
  B: 1,
  BYTES: 1,
  K: 1024,
  KB: 1024,
  M: 1024 ** 2,
  MB: 1024 ** 2,
  G: 1024 ** 3,
  GB: 1024 ** 3,
  T: 1024 ** 4,
  TB: 1024 ** 4,
};

const FIELD = 'executor_config.mem_limit';

/**
 * Bytes, null for "no limit", or the validation problem. Accepts what dkron
 * accepts: a byte count or a (decimal) number followed by a unit, any case,
 * no space between them.
 */
export function parseMemoryLimit(raw: string | undefined): number | null | Problem {
  if (raw === undefined || raw.trim() === '') return null;
  const problem = (why: string): Problem => ({
    field: FIELD,
    message: `Error parsing job memory limit value: ${why}`,
  });
  const match = /^(\d+(?:\.\d*)?|\.\d+)([A-Za-z]*)$/.exec(raw.trim());
  if (!match) {
    return problem(`"${raw}" is not a size: use bytes or a number with a unit (B, K, KB, M, MB, G, GB, T, TB)`);
  }
  const value = Number(match[1]);
  const unit = (match[2] ?? '').toUpperCase();
  const multiplier = UNIT_BYTES[unit];
  if (multiplier === undefined) {
    return problem(`unsupported unit "${match[2] ?? ''}" in "${raw}" (supported: B, K, KB, M, MB, G, GB, T, TB)`);
  }
  const bytes = Math.floor(value * multiplier);
  if (!(bytes >= 1)) return problem(`memory limit must be at least 1 byte, got "${raw}"`);
  if (!Number.isSafeInteger(bytes)) return problem(`memory limit "${raw}" is too large`);
  return bytes;
}

const SIZE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

/** "210 MB", "1.5 GB": binary multiples to match how limits are written. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = value >= 100 || unit === 0 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
  return `${shown} ${SIZE_UNITS[unit] as string}`;
}

/** The line put in the output when a run is killed for its memory use. */
export function memoryExceededNote(used: number, limit: number): string {
  let usedText = formatBytes(used);
  let limitText = formatBytes(limit);
  // Rounding can make "100 MB used > 100 MB limit"; exact bytes read less oddly.
  if (usedText === limitText) {
    usedText = `${used} bytes`;
    limitText = `${limit} bytes`;
  }
  return `memory limit exceeded: ${usedText} used > ${limitText} limit. Job was killed.`;
}

interface ProcEntry {
  pid: number;
  ppid: number;
  pgrp: number;
}

/** Fields of /proc/<pid>/stat, or null when the process is gone or unreadable. */
async function readStat(pid: number): Promise<ProcEntry | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name is parenthesised and may itself contain spaces or ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(rest[1]);
  const pgrp = Number(rest[2]);
  if (!Number.isInteger(ppid) || !Number.isInteger(pgrp)) return null;
  return { pid, ppid, pgrp };
}

/** Resident bytes of one process; 0 for zombies, kernel threads and vanished pids. */
async function readRss(pid: number): Promise<number> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return 0;
  }
  // VmRSS is in kB whatever the page size, unlike the page counts in stat/statm.
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return match ? Number(match[1]) * 1024 : 0;
}

/**
 * Sum of resident memory over a run's process tree: everything in its process
 * group, plus descendants of its root that moved to another group (setsid,
 * job-control shells) as long as their parent chain still leads to the root.
 * Returns 0 where /proc is unavailable, so the limit then never fires.
 */
export async function processTreeRss(rootPid: number): Promise<number> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return 0;
  }
  const pids = names.filter((n) => /^\d+$/.test(n)).map(Number);
  const stats = await Promise.all(pids.map(readStat));
  const children = new Map<number, number[]>();
  const members = new Set<number>();
  for (const s of stats) {
    if (!s) continue;
    if (s.pgrp === rootPid) members.add(s.pid);
    const list = children.get(s.ppid);
    if (list) list.push(s.pid);
    else children.set(s.ppid, [s.pid]);
  }
  if (stats.some((s) => s?.pid === rootPid)) members.add(rootPid);
  const queue = [...members];
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    for (const child of children.get(pid) ?? []) {
      if (!members.has(child)) {
        members.add(child);
        queue.push(child);
      }
    }
  }
  const sizes = await Promise.all([...members].map(readRss));
  return sizes.reduce((a, b) => a + b, 0);
}

export interface MemoryWatch {
  stop(): void;
}

/**
 * Measures the tree every `intervalMs` (first check after one interval, as
 * dkron's ticker) and calls `onExceeded` once when it is over `limitBytes`.
 * Checks never overlap: the next one is scheduled when the previous finishes,
 * so a slow /proc scan on a busy host cannot pile up.
 */
export function watchMemory(
  rootPid: number,
  limitBytes: number,
  intervalMs: number,
  onExceeded: (usedBytes: number) => void,
): MemoryWatch {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async (): Promise<void> => {
    const used = await processTreeRss(rootPid);
    if (stopped) return;
    if (used > limitBytes) {
      stopped = true;
      onExceeded(used);
      return;
    }
    timer = setTimeout(tick, intervalMs);
  };
  const tick = (): void => {
    // processTreeRss never rejects; the catch only keeps a bug from becoming an unhandled rejection.
    check().catch(() => undefined);
  };
  timer = setTimeout(tick, intervalMs);
  return {
    stop(): void {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
