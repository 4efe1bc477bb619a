/**
 * A Kairos cluster for tests: agents (real processes) on a real etcd cluster
 * or ZooKeeper ensemble.
 */
import { randomBytes } from 'node:crypto';
import { api, eventually, startAgent, type AgentHandle } from './agent.js';

export interface ClusterAgentOptions {
  /** default etcd */
  backend?: 'etcd' | 'zookeeper';
  endpoints: string[];
  keyspace: string;
  name: string;
  server?: boolean;
  tags?: Record<string, string>;
  extra?: string[];
}

/** --dispatch-lead of every test cluster agent: after a kill, the dead leader's dispatches up to this far ahead may still run. */
export const DISPATCH_LEAD_MS = 500;

export function randomKeyspace(): string {
  return `kairos-test-${randomBytes(4).toString('hex')}`;
}

export async function startClusterAgent(o: ClusterAgentOptions): Promise<AgentHandle> {
  const args = [
    '--backend', o.backend ?? 'etcd',
    '--backend-machine', o.endpoints.join(','),
    '--keyspace', o.keyspace,
    '--node-name', o.name,
    '--lease-ttl', '2s',
    '--dispatch-lead', `${DISPATCH_LEAD_MS}ms`,
    '--retry-backoff', '100ms',
    ...Object.entries(o.tags ?? {}).flatMap(([k, v]) => ['--tag', `${k}=${v}`]),
    ...(o.extra ?? []),
  ];
  return startAgent({ args, server: o.server ?? true });
}

/** The name of the current leader as every live agent agrees on it. */
export async function agreedLeader(agents: AgentHandle[], timeoutMs = 20_000): Promise<string> {
  return eventually('all agents to agree on a leader', async () => {
    const names = await Promise.all(
      agents.map(async (a) => {
        const r = await api<{ Name?: string }>(a.url, 'GET', '/v1/leader');
        return r.status === 200 ? r.body.Name : undefined;
      }),
    );
    const first = names[0];
    return first && names.every((n) => n === first) ? first : undefined;
  }, timeoutMs, 100);
}
