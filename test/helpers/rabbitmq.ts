/**
 * A real RabbitMQ broker (Debian's rabbitmq-server 3.10) on a loopback port,
 * one per test file. Everything it writes lives in a temp dir; it gets its own
 * node name, distribution port and epmd, so it never meets a system broker or
 * another test's, and stopping it leaves no beam.smp or epmd behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './etcd.js';

export interface RabbitServer {
  /** amqp://guest:guest@127.0.0.1:PORT (guest may log in over loopback). */
  url: string;
  port: number;
  /** How long the broker took to accept an AMQP connection, for reports. */
  startMs: number;
  stop(): Promise<void>;
}

// The real script: /usr/sbin/rabbitmq-server, run as root, re-runs it through
// `su rabbitmq`, which drops our environment.
const SERVER_SCRIPT = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const START_DEADLINE_MS = 60_000;

let counter = 0;

function epmdBinary(): string {
  return existsSync('/usr/bin/epmd') ? '/usr/bin/epmd' : 'epmd';
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tcpConnect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** A full AMQP handshake: the port opens a little before the broker admits clients. */
async function amqpAccepts(url: string): Promise<boolean> {
  const amqp = await import('amqplib');
  try {
    const conn = await amqp.connect(url, { timeout: 2000 });
    await conn.close();
    return true;
  } catch {
    return false;
  }
}

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** SIGKILL a whole process group and wait (bounded) until none of it is left. */
async function killGroup(pgid: number): Promise<void> {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return;
    throw err;
  }
  const deadline = Date.now() + 10_000;
  while (!isGone(-pgid)) {
    if (Date.now() > deadline) throw new Error(`process group ${pgid} survived SIGKILL for 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function logTail(dir: string): string {
  try {
    const text = readFileSync(join(dir, 'log', 'broker.log'), 'utf8');
    return text.slice(-3000);
  } catch {
    return '(no broker log)';
  }
}

export async function startRabbit(): Promise<RabbitServer> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'kairos-rabbit-'));
  const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  for (const sub of ['mnesia', 'log', 'home']) mkdirSync(join(dir, sub));
  // No plugins (the management plugin would open another port and slow the start).
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  // Empty files so /etc/rabbitmq's settings (node name, ports) never apply.
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  writeFileSync(join(dir, 'rabbitmq.conf'), '');

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Erlang keeps its cookie in $HOME.
    HOME: join(dir, 'home'),
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_NODENAME: `kairos-test-${process.pid}-${++counter}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_LOGS: join(dir, 'log', 'broker.log'),
    RABBITMQ_PID_FILE: join(dir, 'rabbit.pid'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PLUGINS_EXPAND_DIR: join(dir, 'plugins-expand'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
  };
  const quiet = process.env.KAIROS_TEST_VERBOSE ? 'inherit' : 'ignore';

  // Our own epmd in the foreground (no -daemon), so it is ours to kill; the
  // broker would otherwise start a daemonized one that outlives the test.
  const epmd: ChildProcess = spawn(epmdBinary(), ['-address', '127.0.0.1', '-port', String(epmdPort)], {
    stdio: ['ignore', quiet, quiet],
    detached: true,
  });
  const broker: ChildProcess = spawn(SERVER_SCRIPT, [], {
    cwd: dir,
    env,
    stdio: ['ignore', quiet, quiet],
    // Own process group: the script, erl, beam.smp and erl_child_setup go together.
    detached: true,
  });
  let brokerExited = false;
  broker.once('exit', () => (brokerExited = true));
  broker.once('error', () => (brokerExited = true));

  // If the test process dies without calling stop(), still take the broker
  // down (process.kill is synchronous, so this works in an 'exit' handler).
  const onExit = (): void => {
    for (const pid of [broker.pid, epmd.pid]) {
      try {
        if (pid !== undefined) process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    try {
      if (broker.pid !== undefined) await killGroup(broker.pid);
      if (epmd.pid !== undefined) await killGroup(epmd.pid);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  const deadline = started + START_DEADLINE_MS;
  for (;;) {
    if (brokerExited) {
      const tail = logTail(dir);
      await stop();
      throw new Error(`rabbitmq-server on port ${port} exited during startup:\n${tail}`);
    }
    if ((await portAccepts(port)) && (await amqpAccepts(url))) break;
    if (Date.now() > deadline) {
      const tail = logTail(dir);
      await stop();
      throw new Error(`rabbitmq-server on port ${port} not accepting AMQP after ${START_DEADLINE_MS} ms:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, port, startMs: Date.now() - started, stop };
}
