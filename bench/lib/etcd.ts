/**
 * The real etcd cluster of test/helpers (Debian's etcd-server on loopback), made safe for the
 * bench's exits by startHelperServers (bench/lib/cleanup.ts): the members are the `etcd` children
 * of this process, their data root the parent of their --data-dir.
 */
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, dirname } from 'node:path';
import { startEtcd, type EtcdCluster } from '../../test/helpers/etcd.js';
import { startHelperServers, type HelperChild } from './cleanup.js';
import { childProcesses } from './system.js';

/** The prefix startEtcd gives its data root in the temp dir; only such a dir is ever removed. */
const ROOT_PREFIX = 'kairos-etcd-';

export interface BenchEtcd extends EtcdCluster {
  version: string;
}

function etcdChildren(): HelperChild[] {
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
function etcdVersion(): string {
  const r = spawnSync('etcd', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) {
    throw new Error(`etcd is not usable (${r.error?.message ?? `exit ${r.status}`}); install it with: apt-get install etcd-server`);
  }
  return (r.stdout.split('\n')[0] ?? '').replace(/^etcd Version:\s*/, '').trim();
}

export async function startBenchEtcd(size: number): Promise<BenchEtcd> {
  const version = etcdVersion();
  const { servers: cluster, stop } = await startHelperServers('an etcd cluster', etcdChildren, () => startEtcd(size), (c) => c.stop());
  return { ...cluster, version, stop };
}
