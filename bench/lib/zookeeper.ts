/**
 * The real ZooKeeper ensemble of test/helpers (Debian's `zookeeper` package on loopback, tickTime
 * 500 ms so a 2 s session timeout is allowed, JMX and the admin server off, ready once `srvr`
 * reports a Mode), made safe for the bench's exits by startHelperServers (bench/lib/cleanup.ts)
 * as bench/lib/etcd.ts does it for etcd: the members are the children of this process whose
 * arguments hold a zoo.cfg in the helper's temp root (`zkServer.sh start-foreground` execs java,
 * whose last argument is that file).
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname } from 'node:path';
import { fourLetterWord, startZookeeper, type ZookeeperEnsemble } from '../../test/helpers/zookeeper.js';
import { startHelperServers, type HelperChild } from './cleanup.js';
import { childProcesses } from './system.js';

/** What test/helpers/zookeeper.ts starts; checked first for the install hint. */
const ZK_SERVER = '/usr/share/zookeeper/bin/zkServer.sh';
/** The prefix startZookeeper gives its data root in the temp dir; only such a dir is ever removed. */
const ROOT_PREFIX = 'kairos-zk-';
/** The helper waits up to 60 s per member already; this bounds the whole start, JVMs on a busy machine included. */
const START_TIMEOUT_MS = 120_000;

export interface BenchZookeeper extends ZookeeperEnsemble {
  /** `srvr`'s "Zookeeper version" without build placeholders, e.g. `3.8.0`. */
  version: string;
  /** Stops every member and removes the data root (stop(index) stays the helper's: one member). */
  stopAll(): Promise<void>;
}

/** The member's data root (tmpdir/kairos-zk-XXXX) when `cfg` is one of the helper's zoo.cfg files. */
function rootOf(cfg: string): string | null {
  if (basename(cfg) !== 'zoo.cfg') return null;
  const root = dirname(dirname(cfg));
  return dirname(root) === tmpdir() && basename(root).startsWith(ROOT_PREFIX) ? root : null;
}

/** This process's ZooKeeper members: zkServer.sh before its exec, java after. */
function zookeeperChildren(): HelperChild[] {
  const out: HelperChild[] = [];
  for (const c of childProcesses()) {
    const root = c.argv.map(rootOf).find((r) => r !== null);
    if (root) out.push({ pid: c.pid, root });
  }
  return out;
}

function checkInstalled(): void {
  if (!existsSync(ZK_SERVER)) {
    throw new Error(`ZooKeeper is not installed (${ZK_SERVER} missing); install it with: apt-get install zookeeper`);
  }
}

async function versionOf(endpoint: string): Promise<string> {
  const port = Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
  try {
    const answer = await fourLetterWord(port, 'srvr', 5000);
    const version = /^Zookeeper version: ([^,\n]+)/m.exec(answer)?.[1]?.trim();
    // Debian's build leaves its git placeholder in: "3.8.0-${mvngit.commit.id}".
    return version?.replace(/-?\$\{[^}]*\}/g, '') || 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function startBenchZookeeper(size: 1 | 3): Promise<BenchZookeeper> {
  checkInstalled();
  let timer: NodeJS.Timeout | undefined;
  const { servers: ensemble, stop } = await startHelperServers(
    'a ZooKeeper ensemble',
    zookeeperChildren,
    // On a failed start the helper stops its members itself, but after this timeout it may still be starting them.
    () =>
      Promise.race([
        startZookeeper(size),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`ZooKeeper: ${size} members not serving within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
        }),
      ]).finally(() => clearTimeout(timer)),
    (e) => e.stopAll(),
  );
  return { ...ensemble, version: await versionOf(ensemble.endpoints[0] ?? ''), stopAll: stop };
}
