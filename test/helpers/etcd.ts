/**
 * A real etcd cluster (Debian's etcd-server) on loopback ports, for tests and
 * benchmarks. Members can be stopped, killed and restarted to inject faults.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A free port below the kernel's ephemeral range (32768+ here): a port from that range, free when
 * picked, can be taken by any outgoing connection before the server binds it, or while a member
 * killed by a test is down (it restarts on the same port). A port is handed out once per process.
 */
const LOW_PORTS = { from: 20_000, to: 32_767 };
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = LOW_PORTS.from + Math.floor(Math.random() * (LOW_PORTS.to - LOW_PORTS.from + 1));
    if (handedOut.has(port)) continue;
    if (await canBind(port)) {
      handedOut.add(port);
      return port;
    }
  }
  // Every try was taken: fall back to one the kernel picks.
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

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

interface MemberSpec {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
}

/** Serve clients over TLS (peers stay on plain http). */
export interface EtcdTlsOptions {
  /** PEM server certificate (valid for 127.0.0.1) and its key. */
  cert: string;
  key: string;
  /** PEM CA: verifies the server for the helpers, and client certificates when clientCertAuth. */
  ca: string;
  /** etcd --client-cert-auth: clients must present a certificate signed by `ca`. */
  clientCertAuth?: boolean;
  /** The client certificate the helpers (health checks, etcdctl) present; needed with clientCertAuth. */
  clientCert?: string;
  clientKey?: string;
}

export interface StartEtcdOptions {
  tls?: EtcdTlsOptions;
}

export interface EtcdCluster {
  /** host:port of every member, for --backend-machine. */
  endpoints: string[];
  /** Client URL of every member (https:// with TLS). */
  urls: string[];
  tls: EtcdTlsOptions | null;
  /** Run etcdctl against the cluster (TLS flags added); throws when it fails, returns stdout. */
  etcdctl(args: string[], user?: string): string;
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

/** GET /health over https, trusting the test CA (fetch can't be given a CA on Node 20). */
function httpsHealth(port: number, tls: EtcdTlsOptions): Promise<{ health?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/health',
        ca: readFileSync(tls.ca),
        ...(tls.clientCert && tls.clientKey ? { cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey) } : {}),
        timeout: 2000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          try {
            resolve(JSON.parse(text) as { health?: string });
          } catch (err) {
            reject(err as Error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** A member's process, with the end of what it wrote to stderr (the reason when it exits). */
interface Member {
  proc: ChildProcess;
  stderr: string;
}

/**
 * Polls /health until it says true. Throws at once when the member's process exits (a port taken
 * between freePort and etcd's bind, say), naming etcd's own words, instead of waiting out the bound.
 */
async function waitHealthy(port: number, timeoutMs: number, tls: EtcdTlsOptions | null = null, member?: Member): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      let body: { health?: string };
      if (tls) {
        body = await httpsHealth(port, tls);
      } else {
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        body = (await res.json()) as { health?: string };
      }
      if (body.health === 'true') return;
    } catch {
      // not up yet
    }
    const proc = member?.proc;
    if (proc && (proc.exitCode !== null || proc.signalCode !== null)) {
      throw new MemberExited(`etcd on port ${port} exited (${proc.exitCode ?? proc.signalCode}) while starting: ${member.stderr.trim().slice(-600)}`);
    }
    if (Date.now() > deadline) throw new Error(`etcd on port ${port} not healthy after ${timeoutMs} ms${member?.stderr ? `; it said: ${member.stderr.trim().slice(-600)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

class MemberExited extends Error {}

/** Attempts at a first start, each with fresh ports, when a member exits while starting. */
const START_ATTEMPTS = 3;

export async function startEtcd(size = 1, options: StartEtcdOptions = {}): Promise<EtcdCluster> {
  const tls = options.tls ?? null;
  const scheme = tls ? 'https' : 'http';
  const root = mkdtempSync(join(tmpdir(), 'kairos-etcd-'));
  let specs: MemberSpec[] = [];
  let initialCluster = '';
  const members: (Member | null)[] = [];
  let state: 'new' | 'existing' = 'new';

  const launch = (i: number): Member => {
    const s = specs[i] as MemberSpec;
    const p = spawn(
      'etcd',
      [
        '--name', s.name,
        '--data-dir', s.dataDir,
        '--listen-client-urls', `${scheme}://127.0.0.1:${s.clientPort}`,
        '--advertise-client-urls', `${scheme}://127.0.0.1:${s.clientPort}`,
        '--listen-peer-urls', `http://127.0.0.1:${s.peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${s.peerPort}`,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', state,
        '--initial-cluster-token', 'kairos-test',
        '--logger=zap',
        '--log-level', 'error',
        ...(tls ? ['--cert-file', tls.cert, '--key-file', tls.key, '--trusted-ca-file', tls.ca] : []),
        ...(tls?.clientCertAuth ? ['--client-cert-auth'] : []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const m: Member = { proc: p, stderr: '' };
    p.stderr?.setEncoding('utf8');
    p.stderr?.on('data', (d: string) => {
      if (process.env.KAIROS_TEST_VERBOSE) process.stderr.write(d);
      m.stderr = (m.stderr + d).slice(-4096);
    });
    members[i] = m;
    return m;
  };

  for (let attempt = 1; ; attempt++) {
    // A port can still be taken between freePort and etcd's bind: a member that exits for it
    // starts the attempt again with fresh ones.
    specs = [];
    for (let i = 0; i < size; i++) {
      specs.push({ name: `etcd${i}`, clientPort: await freePort(), peerPort: await freePort(), dataDir: join(root, `a${attempt}m${i}`) });
    }
    initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
    const started = specs.map((_s, i) => launch(i));
    try {
      await Promise.all(specs.map((s, i) => waitHealthy(s.clientPort, 30_000, tls, started[i])));
      break;
    } catch (err) {
      for (const m of started) m.proc.kill('SIGKILL');
      await Promise.all(started.map((m) => (m.proc.exitCode !== null || m.proc.signalCode !== null ? undefined : new Promise((r) => m.proc.once('exit', r)))));
      if (!(err instanceof MemberExited) || attempt >= START_ATTEMPTS) {
        rmSync(root, { recursive: true, force: true });
        throw err;
      }
    }
  }
  state = 'existing';

  const stopMember = async (index: number, hard = false): Promise<void> => {
    const p = members[index]?.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill(hard ? 'SIGKILL' : 'SIGTERM');
    // A paused member (pauseMember) only acts on SIGTERM once continued.
    p.kill('SIGCONT');
    await exited;
    members[index] = null;
  };

  const urls = specs.map((s) => `${scheme}://127.0.0.1:${s.clientPort}`);
  const etcdctl = (args: string[], user?: string): string => {
    const flags = [`--endpoints=${urls.join(',')}`];
    if (tls) flags.push(`--cacert=${tls.ca}`);
    if (tls?.clientCert && tls.clientKey) flags.push(`--cert=${tls.clientCert}`, `--key=${tls.clientKey}`);
    if (user) flags.push(`--user=${user}`);
    const r = spawnSync('etcdctl', [...flags, ...args], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000 });
    if (r.error) throw new Error(`etcdctl ${args.join(' ')}: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`etcdctl ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };

  return {
    endpoints: specs.map((s) => `127.0.0.1:${s.clientPort}`),
    urls,
    tls,
    etcdctl,
    stopMember,
    startMember: async (index: number) => {
      const m = launch(index);
      await waitHealthy((specs[index] as MemberSpec).clientPort, 30_000, tls, m);
    },
    pauseMember: (index: number) => {
      members[index]?.proc?.kill('SIGSTOP');
    },
    resumeMember: (index: number) => {
      members[index]?.proc?.kill('SIGCONT');
    },
    stop: async () => {
      await Promise.all(specs.map((_s, i) => stopMember(i, true)));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface EtcdAuthOptions {
  /** The Kairos keyspace the user may read and write (`<keyspace>/...`). */
  keyspace: string;
  user: string;
  password: string;
  rootPassword: string;
}

/**
 * Turn on etcd's own authentication: a root user, and `user` with a role
 * that may read and write only `<keyspace>/`. (Granting a lease needs no key
 * permission; revoking one needs write access to its keys, which are in the keyspace.)
 */
export function enableEtcdAuth(etcd: EtcdCluster, o: EtcdAuthOptions): void {
  const prefix = `${o.keyspace.replace(/\/+$/, '')}/`;
  etcd.etcdctl(['user', 'add', `root:${o.rootPassword}`]);
  etcd.etcdctl(['user', 'grant-role', 'root', 'root']);
  etcd.etcdctl(['user', 'add', `${o.user}:${o.password}`]);
  etcd.etcdctl(['role', 'add', o.user]);
  etcd.etcdctl(['role', 'grant-permission', o.user, '--prefix=true', 'readwrite', prefix]);
  etcd.etcdctl(['user', 'grant-role', o.user, o.user]);
  etcd.etcdctl(['auth', 'enable']);
}
