/**
 * Capacity-aware placement in the UI: what a job's run needs (`resources`), what an agent offers
 * (`capacity` in its member record) in words, and the leader's queue of ticks waiting for room
 * (GET /v1/queue, the first 20, from any agent).
 */
import { api } from './api.js';
import type { QueuedRun } from '../../src/cluster/types.js';
import type { Capacity, JobResources } from '../../src/job/resources.js';

export type { QueuedRun, Capacity, JobResources };

/** GET /v1/queue lists at most this many: a full list may hide more. */
export const QUEUE_LIMIT = 20;

export function loadQueue(signal: AbortSignal): Promise<QueuedRun[]> {
  return api<QueuedRun[] | null>('GET', 'queue', { signal }).then((r) => (Array.isArray(r.data) ? r.data : []));
}

/** "3", or "20+" when the list is as long as the API ever answers. */
export function queueCount(q: QueuedRun[]): string {
  return q.length >= QUEUE_LIMIT ? `${QUEUE_LIMIT}+` : String(q.length);
}

/** Cores, without float dust: 0.5, 2, 0.125. */
export function formatCpu(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

/** Bytes as GiB or MiB (one decimal when it isn't whole): "15.6 GiB", "256 MiB". */
export function formatBytes(n: number): string {
  const units: Array<[string, number]> = [
    ['TiB', 1024 ** 4],
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ];
  for (const [unit, size] of units) {
    if (n >= size) return `${Math.round((n / size) * 10) / 10} ${unit}`;
  }
  return `${n} B`;
}

/** A job's needs as written: "cpu 2 · memory 4Gi · gpu 1"; '' when it declares none. */
export function describeResources(r: JobResources | null | undefined): string {
  if (!r) return '';
  const parts: string[] = [];
  if (r.cpu !== undefined && r.cpu !== null) parts.push(`cpu ${formatCpu(r.cpu)}`);
  if (r.memory) parts.push(`memory ${r.memory}`);
  for (const [k, v] of Object.entries(r.slots ?? {})) parts.push(`${k} ${v}`);
  return parts.join(' · ');
}

/** What an agent offers: ["cpu 2", "memory 15.6 GiB", "gpu 1"]. */
export function capacityParts(c: Capacity): string[] {
  const parts = [`cpu ${formatCpu(c.cpu)}`, `memory ${formatBytes(c.memory)}`];
  for (const [k, v] of Object.entries(c.slots ?? {})) parts.push(`${k} ${v}`);
  return parts;
}
