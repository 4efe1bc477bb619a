/**
 * The baseline for the lateness scenario: what a bare Node process achieves on
 * this machine when it spawns the same probe command for `jobs` jobs at every
 * whole second, with nothing else to do. Kairos' figures are read against this.
 *
 * Usage: node --import tsx bench/reference-spawner.ts --jobs 20 --seconds 60 --out FILE
 * Prints one JSON object (ReferenceReport) on stdout when every child has exited.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { probeCommand } from './lib/lateness-probe.js';
import { procCpuTicks } from './lib/system.js';

export interface ReferenceReport {
  t0: number;
  jobs: number;
  seconds: number;
  /** Timer callback − scheduled time, ms, one per run: when the reference decided to start it. */
  timerLatenessMs: number[];
  /** spawn() call − scheduled time, ms, one per run: includes the spawn() calls before it in that tick. */
  spawnCallLatenessMs: number[];
  spawned: number;
  failed: number;
  /** CPU clock ticks used by this process and its (reaped) children, for the noise estimate. */
  cpuTicks: number;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      jobs: { type: 'string', default: '20' },
      seconds: { type: 'string', default: '60' },
      out: { type: 'string' },
    },
  });
  const jobs = Number(values.jobs);
  const seconds = Number(values.seconds);
  const out = values.out;
  if (!out || !(jobs > 0) || !(seconds > 0)) {
    process.stderr.write('usage: reference-spawner.ts --jobs N --seconds S --out FILE\n');
    process.exit(2);
  }
  const command = probeCommand(out);
  // Same lead time as the Kairos run, so neither is measured while still warming up.
  const t0 = Math.ceil((Date.now() + 2000) / 1000) * 1000;
  const report: ReferenceReport = {
    t0,
    jobs,
    seconds,
    timerLatenessMs: [],
    spawnCallLatenessMs: [],
    spawned: 0,
    failed: 0,
    cpuTicks: 0,
  };
  let running = 0;
  let lastTickDone = false;

  const maybeFinish = (): void => {
    if (!lastTickDone || running > 0) return;
    report.cpuTicks = procCpuTicks('self');
    process.stdout.write(`${JSON.stringify(report)}\n`);
  };

  const spawnOne = (job: number, scheduledAt: number): void => {
    report.spawnCallLatenessMs.push(Date.now() - scheduledAt);
    // Mirrors the shell executor: own process group, full env copy plus the job variables, piped output.
    const child = spawn('/bin/sh', ['-c', command], {
      env: { ...process.env, KAIROS_SCHEDULED_AT: new Date(scheduledAt).toISOString(), KAIROS_JOB_NAME: `ref-${job}` },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    running++;
    report.spawned++;
    child.stdout.resume();
    child.stderr.resume();
    child.on('error', () => undefined);
    child.on('close', (code) => {
      running--;
      if (code !== 0) report.failed++;
      maybeFinish();
    });
  };

  const arm = (k: number): void => {
    const at = t0 + k * 1000;
    const fire = (): void => {
      // Timers run on the monotonic clock and may wake a hair before the wall-clock instant.
      if (Date.now() < at) {
        setTimeout(fire, at - Date.now());
        return;
      }
      const firedLate = Date.now() - at;
      for (let j = 0; j < jobs; j++) {
        report.timerLatenessMs.push(firedLate);
        spawnOne(j, at);
      }
      if (k < seconds) arm(k + 1);
      else {
        lastTickDone = true;
        maybeFinish();
      }
    };
    setTimeout(fire, Math.max(0, at - Date.now()));
  };
  arm(1);
}

main();
