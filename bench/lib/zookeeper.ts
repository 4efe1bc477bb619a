/**
 * The real ZooKeeper ensemble of test/helpers (Debian's `zookeeper` package on loopback, tickTime
 * 500 ms so a 2 s session timeout is allowed, JMX and the admin server off, ready once `srvr`
 * reports a Mode), made safe for the bench's exits the way bench/lib/etcd.ts does it for etcd:
 * that helper keeps its child handles and temp dir to itself and only frees them through an async
 * stopAll(), which never completes on Ctrl-C, the watchdog or process.exit. So the bench finds the
 * members among its own direct children (by pid, from /proc: `zkServer.sh start-foreground` execs
 * java, whose last argument is the member's zoo.cfg in the helper's temp root) and registers a
 * synchronous cleanup hook that kills them and removes their data root.
 */
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname } from 'node:path';
import { fourLetterWord, startZookeeper, type ZookeeperEnsemble } from '../../test/helpers/zookeeper.js';
import { onCleanup } from './cleanup.js';
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
  members: number;
  /** Stops every member and removes the data root. */
  stop(): Promise<void>;
}

/** The member's data root (tmpdir/kairos-zk-XXXX) when `cfg` is one of the helper's zoo.cfg files. */
function rootOf(cfg: string): string | null {
  if (basename(cfg) !== 'zoo.cfg') return null;
  const root = dirname(dirname(cfg));
  return dirname(root) === tmpdir() && basename(root).startsWith(ROOT_PREFIX) ? root : null;
}

/** This process's ZooKeeper members: zkServer.sh before its exec, java after. */
function zookeeperChildren(): { pid: number; root: string }[] {
  const out: { pid: number; root: string }[] = [];
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
  if (zookeeperChildren().length > 0) {
    // The hook below kills every ZooKeeper child of this process; a second ensemble would lose its members.
    throw new Error('a ZooKeeper ensemble started by this bench is already running');
  }
  const roots = new Set<string>();
  const reap = (): void => {
    for (const c of zookeeperChildren()) {
      roots.add(c.root);
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // Gone between the listing and the kill.
      }
    }
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  };
  const unregister = onCleanup(reap);
  let ensemble: ZookeeperEnsemble;
  let timer: NodeJS.Timeout | undefined;
  try {
    ensemble = await Promise.race([
      startZookeeper(size),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`ZooKeeper: ${size} members not serving within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    // The helper stops its members when one fails; after our own timeout it may still be starting them.
    reap();
    unregister();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  for (const c of zookeeperChildren()) roots.add(c.root);
  const version = await versionOf(ensemble.endpoints[0] ?? '');
  return {
    ...ensemble,
    version,
    members: size,
    stop: async () => {
      try {
        await ensemble.stopAll();
      } finally {
        reap();
        unregister();
      }
    },
  };
}
