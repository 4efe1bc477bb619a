/**
 * A cluster of agents on a real 3-member backend (etcd or ZooKeeper, on loopback), for the
 * scenarios that need one (cluster, throughput): start the servers, start and restart agents under
 * their names, agree on a leader, wait for members, stop everything. Bounded waits only.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { api, apiOk, startAgent, type AgentHandle } from './agent.js';
import { startBenchEtcd } from './etcd.js';
import { startBenchZookeeper } from './zookeeper.js';
import { sleep } from './system.js';
import type { ClusterBackend } from '../../test/helpers/backend-servers.js';

/** Polls `fn` until it returns something other than undefined; throws after `timeoutMs`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await sleep(everyMs);
  }
}

export async function leaderSeenBy(agent: AgentHandle): Promise<string | undefined> {
  try {
    const r = await api<{ Name?: string }>(agent.url, 'GET', '/v1/leader', undefined, 2000);
    return r.status === 200 ? r.body.Name : undefined;
  } catch {
    // A busy or dying agent: the others answer.
    return undefined;
  }
}

export async function agreedLeader(agents: AgentHandle[]): Promise<string> {
  return until(
    'all agents to agree on a leader',
    async () => {
      const names = await Promise.all(agents.map(leaderSeenBy));
      const first = names[0];
      return first && names.every((n) => n === first) ? first : undefined;
    },
    20_000,
    100,
  );
}

export async function aliveMembers(agent: AgentHandle): Promise<Set<string>> {
  const r = await apiOk<{ Name: string; statusText: string }[]>(agent.url, 'GET', '/v1/members', undefined, 200);
  return new Set(r.body.filter((m) => m.statusText === 'alive').map((m) => m.Name));
}

/** The backend's servers as the scenarios need them, whichever backend it is. */
export interface BackendServers {
  endpoints: string[];
  version: string;
  stop(): Promise<void>;
}

async function startBackend(backend: ClusterBackend, members: 3): Promise<BackendServers> {
  if (backend === 'etcd') {
    const etcd = await startBenchEtcd(members);
    return { endpoints: etcd.endpoints, version: etcd.version, stop: () => etcd.stop() };
  }
  const zk = await startBenchZookeeper(members);
  return { endpoints: zk.endpoints, version: zk.version, stop: () => zk.stopAll() };
}

export interface Cluster {
  backend: ClusterBackend;
  servers: BackendServers;
  agents: Map<string, AgentHandle>;
  /** Starts (or restarts) the agent of that name with its own flags. */
  start(name: string): Promise<AgentHandle>;
  /** The running agent of that name; throws when it is not running. */
  get(name: string): AgentHandle;
  live(): AgentHandle[];
  /** The tail of every live agent's log, each line prefixed with the agent's name. */
  logs(): string[];
}

export interface ClusterOptions {
  members: 3;
  /** Flags every agent gets after the backend's (e.g. --lease-ttl). */
  args: string[];
  /** Per agent name: leader candidate or not, and its tags. */
  agent: (name: string) => { server: boolean; tags?: Record<string, string> };
}

export async function startCluster(backend: ClusterBackend, dir: string, log: (msg: string) => void, o: ClusterOptions): Promise<Cluster> {
  const servers = await startBackend(backend, o.members);
  log(`${backend} ${servers.version}: ${o.members} members on ${servers.endpoints.join(', ')}`);
  const keyspace = `kairos-bench-${randomBytes(4).toString('hex')}`;
  const agents = new Map<string, AgentHandle>();
  const start = async (name: string): Promise<AgentHandle> => {
    const spec = o.agent(name);
    const a = await startAgent({
      // Unused with a cluster backend, but a restarted agent gets its own dir back, as on a real host.
      dataDir: join(dir, name),
      server: spec.server,
      nodeName: name,
      args: [
        '--backend', backend,
        '--backend-machine', servers.endpoints.join(','),
        '--keyspace', keyspace,
        ...o.args,
        ...Object.entries(spec.tags ?? {}).flatMap(([k, v]) => ['--tag', `${k}=${v}`]),
      ],
    });
    agents.set(name, a);
    return a;
  };
  return {
    backend,
    servers,
    agents,
    start,
    get: (name) => {
      const a = agents.get(name);
      if (!a) throw new Error(`agent ${name} is not running`);
      return a;
    },
    live: () => [...agents.values()],
    logs: () => [...agents.entries()].flatMap(([name, a]) => a.logs.slice(-100).map((l) => `${name}: ${l}`)),
  };
}

export async function stopCluster(cluster: Cluster, log: (msg: string) => void): Promise<void> {
  await Promise.all(
    [...cluster.agents.entries()].map(async ([name, a]) => {
      const code = await a.stop(30_000).catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
      if (code !== 0) log(`${cluster.backend}: agent ${name} exited with ${code}`);
    }),
  );
  cluster.agents.clear();
  await cluster.servers.stop();
}

/** Until `via` lists every one of `names` alive. */
export async function waitForMembers(via: AgentHandle, names: readonly string[], timeoutMs: number): Promise<void> {
  await until(
    `members ${names.join(', ')} listed alive`,
    async () => {
      const alive = await aliveMembers(via);
      return names.every((n) => alive.has(n)) ? true : undefined;
    },
    timeoutMs,
    100,
  );
}
