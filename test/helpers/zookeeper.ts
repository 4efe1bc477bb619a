/**
 * A real ZooKeeper ensemble (Debian's `zookeeper` package, 3.8) on loopback
 * ports, for tests and benchmarks. Members can be stopped, killed and restarted
 * to inject faults. JMX and the admin server are off; a member is ready when
 * its `srvr` four-letter word reports a Mode (leader, follower or standalone),
 * which `ruok` does not (it answers imok before the quorum is formed).
 *
 * tickTime is 500 ms, so sessions may be as short as 1 s (ZooKeeper clamps a
 * client's session timeout to [2, 20] ticks), which lets tests use a 2 s lease TTL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './etcd.js';

const ZK_SERVER = '/usr/share/zookeeper/bin/zkServer.sh';

interface MemberSpec {
  id: number;
  clientPort: number;
  quorumPort: number;
  electionPort: number;
  dir: string;
  cfg: string;
}

export interface ZookeeperEnsemble {
  /** host:port of every member, for --backend-machine. */
  endpoints: string[];
  /** The same, comma-separated: a ZooKeeper connect string. */
  connectString: string;
  /** Graceful stop of one member (SIGTERM), keeping its data. */
  stop(index: number): Promise<void>;
  /** SIGKILL one member, keeping its data. */
  kill(index: number): Promise<void>;
  /** Start a stopped member again and wait until it serves. */
  start(index: number): Promise<void>;
  /** The member's `srvr` Mode (leader, follower, standalone), or null when it does not answer. */
  mode(index: number): Promise<string | null>;
  stopAll(): Promise<void>;
}

/** Sends a four-letter word and returns the whole answer (the server closes the connection after it). */
export function fourLetterWord(port: number, word: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    const timer = setTimeout(() => socket.destroy(new Error(`${word} on port ${port}: no answer in ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(word));
    socket.on('data', (d: string) => (text += d));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

async function modeOf(port: number): Promise<string | null> {
  try {
    const answer = await fourLetterWord(port, 'srvr');
    return /^Mode: (\w+)/m.exec(answer)?.[1] ?? null;
  } catch {
    return null;
  }
}

async function waitServing(port: number, timeoutMs: number, exited: () => string | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mode = await modeOf(port);
    if (mode === 'leader' || mode === 'follower' || mode === 'standalone') return;
    const gone = exited();
    if (gone) throw new Error(`zookeeper on port ${port} exited before serving (${gone}); set KAIROS_TEST_VERBOSE=1 for its log`);
    if (Date.now() > deadline) throw new Error(`zookeeper on port ${port} shows no Mode in srvr after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startZookeeper(size: 1 | 3 = 1): Promise<ZookeeperEnsemble> {
  const root = mkdtempSync(join(tmpdir(), 'kairos-zk-'));
  const specs: MemberSpec[] = [];
  for (let i = 0; i < size; i++) {
    const dir = join(root, `m${i + 1}`);
    specs.push({ id: i + 1, clientPort: await freePort(), quorumPort: await freePort(), electionPort: await freePort(), dir, cfg: join(dir, 'zoo.cfg') });
  }
  for (const s of specs) {
    mkdirSync(join(s.dir, 'data'), { recursive: true });
    mkdirSync(join(s.dir, 'log'), { recursive: true });
    writeFileSync(join(s.dir, 'data', 'myid'), `${s.id}\n`);
    const lines = [
      'tickTime=500',
      'initLimit=20',
      'syncLimit=10',
      `dataDir=${join(s.dir, 'data')}`,
      `clientPort=${s.clientPort}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=srvr,ruok,stat',
      'maxClientCnxns=0',
      // Snapshots and purges of a test ensemble are noise.
      'autopurge.purgeInterval=0',
      ...(size > 1 ? specs.map((o) => `server.${o.id}=127.0.0.1:${o.quorumPort}:${o.electionPort}`) : []),
    ];
    writeFileSync(s.cfg, `${lines.join('\n')}\n`);
  }

  const procs: (ChildProcess | null)[] = specs.map(() => null);
  const exitInfo: (string | null)[] = specs.map(() => null);
  const launch = (i: number): void => {
    const s = specs[i] as MemberSpec;
    exitInfo[i] = null;
    const p = spawn(ZK_SERVER, ['start-foreground', s.cfg], {
      env: {
        ...process.env,
        JMXDISABLE: 'true',
        // Later -D flags win: logs go to the member's own directory, not /var/log/zookeeper.
        JVMFLAGS: `-Xmx128m -Dzookeeper.log.dir=${join(s.dir, 'log')} -Dzookeeper.root.logger=WARN,CONSOLE`,
        ZOO_LOG_DIR: join(s.dir, 'log'),
      },
      stdio: ['ignore', process.env.KAIROS_TEST_VERBOSE ? 'inherit' : 'ignore', process.env.KAIROS_TEST_VERBOSE ? 'inherit' : 'ignore'],
    });
    p.once('exit', (code, signal) => (exitInfo[i] = `exit ${code ?? signal}`));
    procs[i] = p;
  };

  const halt = async (i: number, signal: NodeJS.Signals): Promise<void> => {
    const p = procs[i];
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill(signal);
    await exited;
    procs[i] = null;
  };

  try {
    for (let i = 0; i < size; i++) launch(i);
    await Promise.all(specs.map((s, i) => waitServing(s.clientPort, 60_000, () => exitInfo[i] ?? null)));
  } catch (err) {
    await Promise.all(specs.map((_s, i) => halt(i, 'SIGKILL')));
    rmSync(root, { recursive: true, force: true });
    throw err;
  }

  const endpoints = specs.map((s) => `127.0.0.1:${s.clientPort}`);
  return {
    endpoints,
    connectString: endpoints.join(','),
    stop: (i) => halt(i, 'SIGTERM'),
    kill: (i) => halt(i, 'SIGKILL'),
    start: async (i) => {
      if (procs[i]) return;
      launch(i);
      await waitServing((specs[i] as MemberSpec).clientPort, 60_000, () => exitInfo[i] ?? null);
    },
    mode: (i) => modeOf((specs[i] as MemberSpec).clientPort),
    stopAll: async () => {
      await Promise.all(specs.map((_s, i) => halt(i, 'SIGKILL')));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
