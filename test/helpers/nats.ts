/**
 * A real NATS server (Debian's nats-server) on a loopback port, one per test
 * file. Stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { freePort } from './etcd.js';

export interface NatsServer {
  /** nats://127.0.0.1:PORT (no credentials in it). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface StartNatsOptions {
  /** Require this user/password (nats-server --user/--pass). */
  user?: string;
  pass?: string;
}

/** Debian installs it in /usr/sbin, which a non-root PATH may lack. */
function natsBinary(): string {
  return existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
}

/** Resolves once the server greets a client with its INFO line (it is serving). */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tcpConnect({ host: '127.0.0.1', port });
    let text = '';
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if (text.startsWith('INFO ')) done(true);
    });
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
  });
}

export async function startNats(options: StartNatsOptions = {}): Promise<NatsServer> {
  const port = await freePort();
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  if (options.user !== undefined) args.push('--user', options.user);
  if (options.pass !== undefined) args.push('--pass', options.pass);
  const proc: ChildProcess = spawn(natsBinary(), args, {
    stdio: ['ignore', 'ignore', process.env.KAIROS_TEST_VERBOSE ? 'inherit' : 'ignore'],
  });
  let exited = false;
  const exitedP = new Promise<void>((resolve) => {
    proc.once('exit', () => {
      exited = true;
      resolve();
    });
    // A missing binary emits 'error' and never 'exit'.
    proc.once('error', () => {
      exited = true;
      resolve();
    });
  });

  const stop = async (): Promise<void> => {
    if (exited) return;
    proc.kill('SIGKILL');
    await exitedP;
  };

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) throw new Error(`nats-server on port ${port} exited during startup`);
    if (await greets(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nats-server on port ${port} not serving after 15 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `nats://127.0.0.1:${port}`, port, stop };
}
