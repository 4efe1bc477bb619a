/**
 * Keep-alive agents for the `http` executor, one per TLS setup, so a job that
 * runs every few seconds reuses its connection instead of a TCP + TLS
 * handshake each time. Bounded like dkron's client cache (LRU of 100): jobs
 * with distinct certificate files would otherwise grow it forever.
 */
import { readFile, stat } from 'node:fs/promises';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { HttpTlsConfig } from './http-config.js';

// Idle keep-alive sockets close after this (servers usually close sooner).
const IDLE_SOCKET_MS = 60_000;

export class HttpAgentCache {
  private readonly agents = new Map<string, HttpAgent>();

  constructor(private readonly capacity = 100) {}

  get size(): number {
    return this.agents.size;
  }

  /**
   * The agent for this protocol and TLS setup. Certificate files are read
   * when the agent is made; their mtimes are part of the key so a renewed
   * certificate is picked up on the next run. Rejects when a file can't be read.
   */
  async get(protocol: 'http:' | 'https:', tls: HttpTlsConfig): Promise<HttpAgent> {
    if (protocol === 'http:') return this.lookup('http', () => new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }));
    const files = [tls.certFile, tls.keyFile, tls.caFile];
    const mtimes = await Promise.all(files.map((f) => (f === '' ? 0 : fileMtime(f))));
    const key = JSON.stringify(['https', tls.noVerifyPeer, ...files, ...mtimes]);
    const cached = this.touch(key);
    if (cached) return cached;
    const [cert, keyPem, ca] = await Promise.all(files.map((f) => (f === '' ? undefined : readTlsFile(f))));
    return this.lookup(
      key,
      () =>
        new HttpsAgent({
          keepAlive: true,
          timeout: IDLE_SOCKET_MS,
          rejectUnauthorized: !tls.noVerifyPeer,
          cert,
          key: keyPem,
          // As Go's RootCAs: the file replaces the system roots.
          ca,
        }),
    );
  }

  /** Closes every idle connection (agent shutdown, tests). */
  destroy(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private touch(key: string): HttpAgent | undefined {
    const agent = this.agents.get(key);
    if (agent) {
      // Map keeps insertion order: re-inserting marks it most recently used.
      this.agents.delete(key);
      this.agents.set(key, agent);
    }
    return agent;
  }

  private lookup(key: string, make: () => HttpAgent): HttpAgent {
    const cached = this.touch(key);
    if (cached) return cached;
    const agent = make();
    this.agents.set(key, agent);
    while (this.agents.size > this.capacity) {
      const oldest = this.agents.keys().next().value as string;
      const evicted = this.agents.get(oldest);
      this.agents.delete(oldest);
      // Agent#destroy would also kill in-flight requests: close the idle sockets only;
      // busy ones close after IDLE_SOCKET_MS once released.
      for (const sockets of Object.values(evicted?.freeSockets ?? {})) {
        for (const socket of sockets ?? []) socket.destroy();
      }
    }
    return agent;
  }
}

async function fileMtime(path: string): Promise<number> {
  try {
    return (await stat(path)).mtimeMs;
  } catch (err) {
    throw new Error(`cannot read TLS file "${path}": ${(err as Error).message}`, { cause: err });
  }
}

async function readTlsFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new Error(`cannot read TLS file "${path}": ${(err as Error).message}`, { cause: err });
  }
}
