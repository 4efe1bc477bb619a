/**
 * The backends Kairos knows, by name. Each entry loads its module only when
 * chosen, so a single-node agent never loads etcd3 and its gRPC stack (or a
 * ZooKeeper client). The `--backend` option's help (and so
 * docs/configuration.md) is written from this list.
 */
import type { BackendModule } from './types.js';

export interface BackendEntry {
  name: string;
  /** Other names accepted for it (dkron's among them). */
  aliases: string[];
  /** What it is, for the option's help. */
  summary: string;
  /** Agent options this backend reads, besides --backend (the agent warns about credentials given to one that ignores them). */
  options: string[];
  /** Address used when --backend-machine is not given (null: none needed). */
  defaultMachine: string | null;
  load: () => Promise<BackendModule>;
}

export const BACKENDS: readonly BackendEntry[] = [
  {
    name: 'embedded',
    aliases: [],
    summary: 'a SQLite file in --data-dir, one agent',
    options: ['data-dir'],
    defaultMachine: null,
    load: () => import('./embedded/index.js'),
  },
  {
    name: 'etcd',
    aliases: ['etcdv3'],
    summary: 'an etcd v3 cluster, any number of agents',
    options: ['backend-machine', 'keyspace', 'lease-ttl', 'backend-tls-ca', 'backend-tls-cert', 'backend-tls-key', 'backend-username', 'backend-password'],
    defaultMachine: '127.0.0.1:2379',
    load: () => import('./etcd/index.js'),
  },
  {
    name: 'zookeeper',
    aliases: ['zk'],
    summary: 'a ZooKeeper ensemble, any number of agents',
    options: ['backend-machine', 'keyspace', 'lease-ttl'],
    defaultMachine: '127.0.0.1:2181',
    load: () => import('./zookeeper/index.js'),
  },
];

/**
 * Names Kairos recognises but cannot serve, with what to do instead. Consul:
 * no server can be installed where Kairos is built and tested, and an untested
 * backend is worse than none (docs/backends.md says what one would map to).
 */
export const UNSUPPORTED: Readonly<Record<string, string>> = {
  consul: 'Consul is not supported: there is no Consul server to test it against; see docs/backends.md',
  redis: 'the redis backend is not supported',
  boltdb: 'the boltdb backend is not supported',
  dynamodb: 'the dynamodb backend is not supported',
};

export function findBackend(name: string): BackendEntry | undefined {
  return BACKENDS.find((b) => b.name === name || b.aliases.includes(name));
}

/** The `--backend` option's help: every backend with its aliases and what it is. */
export function backendHelp(): string {
  return BACKENDS.map((b) => `${[b.name, ...b.aliases].join(' or ')} (${b.summary})`).join(', ');
}

export function backendNames(): string {
  return BACKENDS.map((b) => b.name).join(', ');
}
