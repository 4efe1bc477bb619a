/**
 * The throughput scenario's reference, run as its own Node process: how many `/bin/true` a bare
 * Node event loop can spawn and reap per second on this machine, keeping up to C spawns in flight
 * (stdio ignored: nothing but fork/exec/wait). It first tries each C of `--probe` for
 * `--probe-seconds`, then measures `--seconds` with the best of them.
 *
 * Usage: node --import tsx bench/lib/spawn-rate.ts --seconds 60 --probe 2,4,8,16,32 --probe-seconds 2
 * Prints one JSON object (SpawnRateReport) on stdout.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { procCpuTicks } from './system.js';

export interface SpawnRateProbe {
  concurrency: number;
  /** Exits per second over the probe. */
  rate: number;
}

export interface SpawnRateReport {
  probes: SpawnRateProbe[];
  /** The best probe's, used for the measurement. */
  concurrency: number;
  seconds: number;
  /** Children that exited within the measured window. */
  completed: number;
  /** Exits other than 0, and spawn errors. */
  failed: number;
  rate: number;
  /** CPU clock ticks of this process and its reaped children, for the noise estimate. */
  cpuTicks: number;
}

/** Spawns `/bin/true` for `ms`, `concurrency` at a time; resolves with what exited inside the window once all have exited. */
function measure(concurrency: number, ms: number): Promise<{ completed: number; failed: number }> {
  return new Promise((resolve) => {
    const end = performance.now() + ms;
    let inFlight = 0;
    let completed = 0;
    let failed = 0;
    const one = (): void => {
      inFlight++;
      const child = spawn('/bin/true', [], { stdio: 'ignore' });
      let done = false;
      const exited = (ok: boolean): void => {
        if (done) return;
        done = true;
        inFlight--;
        const now = performance.now();
        if (now <= end) {
          completed++;
          if (!ok) failed++;
        }
        if (now < end) one();
        else if (inFlight === 0) resolve({ completed, failed });
      };
      child.once('error', () => exited(false));
      child.once('exit', (code) => exited(code === 0));
    };
    for (let i = 0; i < concurrency; i++) one();
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      probe: { type: 'string', default: '2,4,8,16,32' },
      'probe-seconds': { type: 'string', default: '2' },
    },
  });
  const seconds = Number(values.seconds);
  const probeSeconds = Number(values['probe-seconds']);
  const levels = (values.probe ?? '').split(',').map(Number);
  if (!(seconds > 0) || !(probeSeconds > 0) || levels.length === 0 || !levels.every((c) => Number.isInteger(c) && c >= 1)) {
    process.stderr.write('usage: spawn-rate.ts --seconds S --probe C1,C2,... --probe-seconds P\n');
    process.exit(2);
  }
  const probes: SpawnRateProbe[] = [];
  for (const concurrency of levels) {
    const { completed } = await measure(concurrency, probeSeconds * 1000);
    probes.push({ concurrency, rate: completed / probeSeconds });
  }
  const best = probes.reduce((a, b) => (b.rate > a.rate ? b : a));
  const { completed, failed } = await measure(best.concurrency, seconds * 1000);
  const report: SpawnRateReport = {
    probes,
    concurrency: best.concurrency,
    seconds,
    completed,
    failed,
    rate: completed / seconds,
    cpuTicks: procCpuTicks('self'),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

void main();
