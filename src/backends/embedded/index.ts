/** The embedded backend: a SQLite file and a cluster of one agent that leads itself. */
import { join } from 'node:path';
import { LocalCluster } from '../../cluster/local-cluster.js';
import type { Store } from '../../store/types.js';
import type { Backend, BackendOptions } from '../types.js';
import { SqliteStore } from './sqlite-store.js';

export async function open(options: BackendOptions): Promise<Backend> {
  // An agent's store: the checkpoint thread from the start, before the first bulk write can come in.
  return embeddedBackend(SqliteStore.open(join(options.dataDir, 'kairos.db'), { checkpointThread: { startAfterMs: 0 } }));
}

/** A backend around a store already open (tests, and `:memory:` stores). */
export function embeddedBackend(store: Store): Backend {
  return { name: 'embedded', store, cluster: (self) => new LocalCluster(self) };
}
