/**
 * The command both Kairos and the reference spawner run, and how its output is
 * read. `date` runs inside the spawned shell, so the recorded time is when the
 * job's own code got going — what a cron user sees — not when the parent
 * called spawn().
 */
export function probeCommand(outFile: string): string {
  // One short append per run: O_APPEND writes this small land whole even from 20 shells at once.
  return `echo "$(date +%s%N) $KAIROS_SCHEDULED_AT $KAIROS_JOB_NAME" >> ${shellQuote(outFile)}`;
}

/** `s` as one single-quoted word for sh. */
export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface ProbeLine {
  job: string;
  scheduledMs: number;
  /** Wall-clock ms (µs precision) at which `date` ran. */
  startedMs: number;
  latenessMs: number;
}

export function parseProbeLines(text: string): { lines: ProbeLine[]; malformed: number } {
  const lines: ProbeLine[] = [];
  let malformed = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    const [ns, scheduled, job] = raw.trim().split(/\s+/);
    const scheduledMs = scheduled === undefined ? Number.NaN : Date.parse(scheduled);
    if (ns === undefined || !/^\d+$/.test(ns) || Number.isNaN(scheduledMs) || job === undefined) {
      malformed++;
      continue;
    }
    // BigInt first: epoch nanoseconds exceed 2^53, so a plain Number would round them.
    const startedMs = Number(BigInt(ns) / 1000n) / 1000;
    lines.push({ job, scheduledMs, startedMs, latenessMs: startedMs - scheduledMs });
  }
  return { lines, malformed };
}

/** The ticks a run is judged on: k = 1..seconds after the aligned start t0. */
export function inWindow(scheduledMs: number, t0: number, seconds: number): boolean {
  return scheduledMs > t0 && scheduledMs <= t0 + seconds * 1000 && (scheduledMs - t0) % 1000 === 0;
}
