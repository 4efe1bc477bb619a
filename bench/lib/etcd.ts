/**
 * The real etcd cluster of test/helpers (Debian's etcd-server on loopback), made safe for the
 * bench's exits: that helper keeps its child handles and temp dir to itself and only frees them
 * through an async stop(), which never completes on Ctrl-C, the watchdog or process.exit. So the
 * bench finds the members among its own direct children (by pid, from /proc) and registers a
 * synchronous cleanup hook that kills them and removes their data root.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname } from 'node:path';
import { startEtcd, type EtcdCluster } from '../../test/helpers/etcd.js';
import { onCleanup } from './cleanup.js';
import { childProcesses } from './system.js';

/** The prefix startEtcd gives its data root in the temp dir; only such a dir is ever removed. */
const ROOT_PREFIX = 'kairos-etcd-';

export interface BenchEtcd extends EtcdCluster {
  version: string;
}

function etcdChildren(): { pid: number; root: string | null }[] {
  return childProcesses()
    .filter((c) => c.comm === 'etcd')
    .map((c) => {
      const at = c.argv.indexOf('--data-dir');
      const dataDir = at >= 0 ? c.argv[at + 1] : undefined;
      const root = dataDir === undefined ? null : dirname(dataDir);
      const ours = root !== null && dirname(root) === tmpdir() && basename(root).startsWith(ROOT_PREFIX);
      return { pid: c.pid, root: ours ? root : null };
    });
}

/** `etcd --version`'s first line; throws with the install hint when etcd is missing. */
export function etcdVersion(): string {
  const r = spawnSync('etcd', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) {
    throw new Error(`etcd is not usable (${r.error?.message ?? `exit ${r.status}`}); install it with: apt-get install etcd-server`);
  }
  return (r.stdout.split('\n')[0] ?? '').replace(/^etcd Version:\s*/, '').trim();
}

export async function startBenchEtcd(size: number): Promise<BenchEtcd> {
  const version = etcdVersion();
  if (etcdChildren().length > 0) {
    // The hook below kills every etcd child of this process; a second cluster would lose its members.
    throw new Error('an etcd cluster started by this bench is already running');
  }
  const roots = new Set<string>();
  const reap = (): void => {
    for (const c of etcdChildren()) {
      if (c.root) roots.add(c.root);
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // Gone between the listing and the kill.
      }
    }
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  };
  const unregister = onCleanup(reap);
  let cluster: EtcdCluster;
  try {
    cluster = await startEtcd(size);
  } catch (err) {
    // startEtcd gives up on an unhealthy member without stopping the ones it started.
    reap();
    unregister();
    throw err;
  }
  for (const c of etcdChildren()) if (c.root) roots.add(c.root);
  return {
    ...cluster,
    version,
    stop: async () => {
      try {
        await cluster.stop();
      } finally {
        reap();
        unregister();
      }
    },
  };
}
