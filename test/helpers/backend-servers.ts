/**
 * The servers of a cluster backend, started for a test whichever backend it
 * is: the cluster, chaos and outage tests run once per backend through this,
 * so etcd and ZooKeeper are held to the same cases.
 */
import { startEtcd } from './etcd.js';
import { startZookeeper } from './zookeeper.js';

export type ClusterBackend = 'etcd' | 'zookeeper';

/** Every cluster backend, or only the one KAIROS_TEST_BACKEND names (to run one side while working on it). */
export const CLUSTER_BACKENDS: ClusterBackend[] = ((): ClusterBackend[] => {
  const only = process.env.KAIROS_TEST_BACKEND;
  const all: ClusterBackend[] = ['etcd', 'zookeeper'];
  return only ? all.filter((b) => b === only) : all;
})();

export interface BackendServers {
  backend: ClusterBackend;
  /** host:port of every server, for --backend-machine. */
  endpoints: string[];
  /** Stop one server (SIGKILL when `hard`), keeping its data. */
  stopMember(index: number, hard?: boolean): Promise<void>;
  startMember(index: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startBackendServers(backend: ClusterBackend, size: 1 | 3): Promise<BackendServers> {
  if (backend === 'etcd') {
    const etcd = await startEtcd(size);
    return { backend, endpoints: etcd.endpoints, stopMember: (i, hard) => etcd.stopMember(i, hard), startMember: (i) => etcd.startMember(i), stop: () => etcd.stop() };
  }
  const zk = await startZookeeper(size);
  return {
    backend,
    endpoints: zk.endpoints,
    stopMember: (i, hard) => (hard ? zk.kill(i) : zk.stop(i)),
    startMember: (i) => zk.start(i),
    stop: () => zk.stopAll(),
  };
}
