import { loadavg } from 'node:os';
import type { Member, QueuedRun } from './types.js';
import type { Capacity } from '../job/resources.js';

/** What an agent says about itself; both cluster implementations publish it as a Member. */
export interface SelfDescription {
  nodeName: string;
  addr: string;
  /** The bound HTTP port (known only after listen, so a function). */
  port: () => number;
  tags: Record<string, string>;
  server: boolean;
  version: string;
  running: () => number;
  /** Executors and processors registered here (plugins are loaded before the agent joins). */
  executors?: () => string[];
  processors?: () => string[];
  capacity?: Capacity;
  /** Runs this agent (as leader) holds for capacity. */
  queued?: () => QueuedRun[];
}

export function describeSelf(o: SelfDescription): Member {
  return {
    Name: o.nodeName,
    Addr: o.addr,
    Port: o.port(),
    Tags: { ...o.tags },
    Status: 1,
    statusText: 'alive',
    server: o.server,
    version: o.version,
    running: o.running(),
    load: Math.round((loadavg()[0] ?? 0) * 10) / 10,
    ...(o.executors ? { executors: o.executors() } : {}),
    ...(o.processors ? { processors: o.processors() } : {}),
    ...(o.capacity ? { capacity: o.capacity } : {}),
    ...(o.queued && o.queued().length > 0 ? { queued: o.queued() } : {}),
    last_seen: new Date().toISOString(),
  };
}
