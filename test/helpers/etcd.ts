/**
 * A real etcd cluster (Debian's etcd-server) on loopback ports, for tests and
 * benchmarks. Members can be stopped, killed and restarted to inject faults.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

interface MemberSpec {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
}

export interface EtcdCluster {
  /** host:port of every member, for --backend-machine. */
  endpoints: string[];
  /** Stop one member (SIGKILL when `hard`), keeping its data. */
  stopMember(index: number, hard?: boolean): Promise<void>;
  startMember(index: number): Promise<void>;
  /**
   * Freeze one member (SIGSTOP): its port still accepts connections but nothing
   * answers, like a partitioned or hung machine. resumeMember (SIGCONT) undoes it.
   */
  pauseMember(index: number): void;
  resumeMember(index: number): void;
  stop(): Promise<void>;
}

async function waitHealthy(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      const body = (await res.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`etcd on port ${port} not healthy after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startEtcd(size = 1): Promise<EtcdCluster> {
  const root = mkdtempSync(join(tmpdir(), 'kairos-etcd-'));
  const specs: MemberSpec[] = [];
  for (let i = 0; i < size; i++) {
    specs.push({ name: `etcd${i}`, clientPort: await freePort(), peerPort: await freePort(), dataDir: join(root, `m${i}`) });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
  const procs: (ChildProcess | null)[] = specs.map(() => null);
  let state: 'new' | 'existing' = 'new';

  const launch = (i: number): ChildProcess => {
    const s = specs[i] as MemberSpec;
    const p = spawn(
      'etcd',
      [
        '--name', s.name,
        '--data-dir', s.dataDir,
        '--listen-client-urls', `http://127.0.0.1:${s.clientPort}`,
        '--advertise-client-urls', `http://127.0.0.1:${s.clientPort}`,
        '--listen-peer-urls', `http://127.0.0.1:${s.peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${s.peerPort}`,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', state,
        '--initial-cluster-token', 'kairos-test',
        '--logger=zap',
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', process.env.KAIROS_TEST_VERBOSE ? 'inherit' : 'ignore'] },
    );
    procs[i] = p;
    return p;
  };

  for (let i = 0; i < size; i++) launch(i);
  await Promise.all(specs.map((s) => waitHealthy(s.clientPort, 30_000)));
  state = 'existing';

  const stopMember = async (index: number, hard = false): Promise<void> => {
    const p = procs[index];
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill(hard ? 'SIGKILL' : 'SIGTERM');
    // A paused member (pauseMember) only acts on SIGTERM once continued.
    p.kill('SIGCONT');
    await exited;
    procs[index] = null;
  };

  return {
    endpoints: specs.map((s) => `127.0.0.1:${s.clientPort}`),
    stopMember,
    startMember: async (index: number) => {
      launch(index);
      await waitHealthy((specs[index] as MemberSpec).clientPort, 30_000);
    },
    pauseMember: (index: number) => {
      procs[index]?.kill('SIGSTOP');
    },
    resumeMember: (index: number) => {
      procs[index]?.kill('SIGCONT');
    },
    stop: async () => {
      await Promise.all(specs.map((_s, i) => stopMember(i, true)));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
