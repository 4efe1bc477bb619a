/**
 * Scenario: start-up of a single-node agent with an empty embedded store, spawn → `scheduler:
 * started`, sampled N times. What it shows: the cost of what the agent loads before it is useful
 * (a cluster backend's client must not be among it: etcd3 and its gRPC stack were ~430 ms here).
 * Reference: a bare Node process that loads nothing and listens on HTTP, spawn → its first line.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startAgent } from '../lib/agent.js';
import { removeDir, tempDir, trackProcess } from '../lib/cleanup.js';
import { summarize, type Summary } from '../lib/stats.js';

export interface StartupOptions {
  samples: number;
  log: (msg: string) => void;
}

export interface StartupResult {
  samples: number;
  /** spawn → `api: HTTP server listening`. */
  listeningMs: Summary;
  /** spawn → `scheduler: started` (leader, jobs loaded: none). */
  schedulerStartedMs: Summary;
  /** Bare Node: spawn → listening on HTTP. */
  referenceMs: Summary;
}

const BARE = "require('node:http').createServer((q, s) => s.end()).listen(0, '127.0.0.1', () => console.log('listening'))";

async function bareNode(): Promise<number> {
  const spawnedAt = performance.now();
  const proc = trackProcess(spawn(process.execPath, ['-e', BARE], { stdio: ['ignore', 'pipe', 'inherit'] }));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', () => resolve());
    proc.once('exit', (code) => reject(new Error(`bare node exited ${code}`)));
  });
  const ms = performance.now() - spawnedAt;
  proc.kill('SIGKILL');
  return ms;
}

export async function runStartup(o: StartupOptions): Promise<StartupResult> {
  const listening: number[] = [];
  const started: number[] = [];
  const reference: number[] = [];
  const dir = tempDir('kairos-bench-startup-');
  try {
    for (let i = 0; i < o.samples; i++) {
      // Alternated, so drift in the machine's load hits both sides alike.
      reference.push(await bareNode());
      const agent = await startAgent({ dataDir: join(dir, `data-${i}`) });
      const l = await agent.waitForLog(/api: HTTP server listening/, 10_000);
      const s = await agent.waitForLog(/scheduler: started/, 10_000);
      listening.push(l.at - agent.spawnedAt);
      started.push(s.at - agent.spawnedAt);
      await agent.stop();
    }
  } finally {
    removeDir(dir);
  }
  const result = { samples: o.samples, listeningMs: summarize(listening), schedulerStartedMs: summarize(started), referenceMs: summarize(reference) };
  o.log(`startup: scheduler started p50 ${Math.round(result.schedulerStartedMs.p50)} ms (bare Node listening p50 ${Math.round(result.referenceMs.p50)} ms)`);
  return result;
}
