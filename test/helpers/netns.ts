/**
 * Network namespaces for partition tests: one namespace per test host, joined
 * to the root namespace by a veth pair with link-local addresses
 * (169.254.X.(4n+1)/30 on the root side, .(4n+2)/30 inside; X random per lab
 * and unused on this machine). An agent started under `node.prefix` lives
 * inside; etcd (started by `startEtcdOn`) listens in the root namespace on
 * 127.0.0.1 and on every root-side address. `cut()` takes the root-side veth
 * down (packets are dropped both ways, open connections hang), `heal()` brings
 * it back. Only addresses on the pairs made here are ever used.
 *
 * Needs root and iproute2: `netnsUnavailable()` says why not, for test.skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './etcd.js';

export interface NetNode {
  /** Namespace name. */
  ns: string;
  /** Root-side interface and address (what the node reaches etcd on). */
  rootIf: string;
  rootAddr: string;
  /** Inside interface and address (what the node's API binds). */
  innerIf: string;
  innerAddr: string;
  /** Command prefix that runs a program inside the namespace (it execs in place). */
  prefix: string[];
  cut(): void;
  heal(): void;
  isCut(): boolean;
}

export interface NetLab {
  nodes: NetNode[];
  /** Delete every pair and namespace (idempotent; also run at process exit). */
  remove(): void;
}

function ip(args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.error) throw new Error(`ip ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Null when namespaces can be made here; otherwise the reason (for a loud skip). */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add); not running as root';
  const probe = `kairos-probe-${randomBytes(3).toString('hex')}`;
  try {
    ip(['netns', 'add', probe]);
  } catch (err) {
    return `cannot create a network namespace (iproute2 missing or not permitted): ${(err as Error).message}`;
  }
  try {
    ip(['netns', 'del', probe]);
  } catch {
    // best effort
  }
  return null;
}

/** A third octet for 169.254.X.0/24 that no interface here uses yet. */
function freeOctet(): number {
  const used = ip(['-4', '-o', 'addr', 'show']);
  for (let i = 0; i < 50; i++) {
    const x = 100 + (randomBytes(1)[0] as number) % 150;
    if (!used.includes(`169.254.${x}.`)) return x;
  }
  throw new Error('no free 169.254.X.0/24 block found');
}

const labs = new Set<NetLab>();
process.once('exit', () => {
  for (const lab of labs) lab.remove();
});

export function createNetLab(count: number): NetLab {
  if (count < 1 || count > 60) throw new Error('createNetLab: 1..60 nodes');
  const suffix = randomBytes(3).toString('hex');
  const octet = freeOctet();
  const nodes: NetNode[] = [];
  const made: { ns: string; rootIf: string }[] = [];
  const lab: NetLab = {
    nodes,
    remove() {
      for (const m of made.splice(0)) {
        spawnSync('ip', ['link', 'del', m.rootIf], { timeout: 10_000 });
        spawnSync('ip', ['netns', 'del', m.ns], { timeout: 10_000 });
      }
      labs.delete(lab);
    },
  };
  labs.add(lab);
  try {
    for (let n = 0; n < count; n++) {
      const ns = `kairos-${suffix}-${n}`;
      // Interface names are at most 15 characters.
      const rootIf = `kf${suffix}${n}r`;
      const innerIf = `kf${suffix}${n}i`;
      const rootAddr = `169.254.${octet}.${4 * n + 1}`;
      const innerAddr = `169.254.${octet}.${4 * n + 2}`;
      ip(['netns', 'add', ns]);
      made.push({ ns, rootIf });
      ip(['link', 'add', rootIf, 'type', 'veth', 'peer', 'name', innerIf]);
      ip(['link', 'set', innerIf, 'netns', ns]);
      ip(['addr', 'add', `${rootAddr}/30`, 'dev', rootIf]);
      ip(['link', 'set', rootIf, 'up']);
      ip(['netns', 'exec', ns, 'ip', 'addr', 'add', `${innerAddr}/30`, 'dev', innerIf]);
      ip(['netns', 'exec', ns, 'ip', 'link', 'set', innerIf, 'up']);
      ip(['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
      let cut = false;
      nodes.push({
        ns,
        rootIf,
        rootAddr,
        innerIf,
        innerAddr,
        prefix: ['ip', 'netns', 'exec', ns],
        cut() {
          ip(['link', 'set', rootIf, 'down']);
          cut = true;
        },
        heal() {
          ip(['link', 'set', rootIf, 'up']);
          cut = false;
        },
        isCut: () => cut,
      });
    }
  } catch (err) {
    lab.remove();
    throw err;
  }
  return lab;
}

export interface NetEtcd {
  port: number;
  /** host:port for --backend-machine, as seen from a node (its root-side address). */
  endpointFor(node: NetNode): string;
  /** host:port on loopback (for the test's own checks). */
  local: string;
  /** SIGKILL (hard) or SIGTERM the member, keeping its data; start() brings it back on the same addresses. */
  stopMember(hard?: boolean): Promise<void>;
  startMember(): Promise<void>;
  stop(): Promise<void>;
}

async function waitHealthy(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
      if (((await res.json()) as { health?: string }).health === 'true') return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`etcd on port ${port} not healthy after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One etcd member in the root namespace, serving clients on 127.0.0.1 and on each node's root-side address. */
export async function startEtcdOn(nodes: NetNode[]): Promise<NetEtcd> {
  const port = await freePort();
  const peerPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kairos-netns-etcd-'));
  const hosts = ['127.0.0.1', ...nodes.map((n) => n.rootAddr)];
  let proc: ChildProcess | null = null;
  let state: 'new' | 'existing' = 'new';
  const launch = (): void => {
    proc = spawn(
      'etcd',
      [
        '--name', 'netns0',
        '--data-dir', join(dir, 'data'),
        '--listen-client-urls', hosts.map((h) => `http://${h}:${port}`).join(','),
        '--advertise-client-urls', `http://127.0.0.1:${port}`,
        '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-cluster', `netns0=http://127.0.0.1:${peerPort}`,
        '--initial-cluster-state', state,
        '--initial-cluster-token', 'kairos-netns-test',
        '--logger=zap',
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', process.env.KAIROS_TEST_VERBOSE ? 'inherit' : 'ignore'] },
    );
  };
  const stopMember = async (hard = true): Promise<void> => {
    const p = proc as ChildProcess | null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill(hard ? 'SIGKILL' : 'SIGTERM');
    await exited;
    proc = null;
  };
  launch();
  try {
    await waitHealthy(port, 30_000);
  } catch (err) {
    await stopMember(true);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  state = 'existing';
  return {
    port,
    endpointFor: (node) => `${node.rootAddr}:${port}`,
    local: `127.0.0.1:${port}`,
    stopMember,
    startMember: async () => {
      launch();
      await waitHealthy(port, 30_000);
    },
    stop: async () => {
      await stopMember(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
