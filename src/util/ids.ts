/**
 * dkron execution ids are `<startedUnixNano>-<node>`; groups are int64 nanos.
 * JS numbers lose precision past 2^53, so groups are microseconds (fits until
 * year 2255) and a per-process sequence keeps ids unique within a millisecond.
 */
import { randomBytes } from 'node:crypto';

let seq = 0;
let lastMs = 0;

function nextSeq(ms: number): number {
  if (ms !== lastMs) {
    lastMs = ms;
    seq = 0;
  }
  seq = (seq + 1) % 1000;
  return seq;
}

/** Group of a scheduled tick: deterministic, so every dispatcher derives the same one (multiple of 1000). */
export function tickGroup(scheduledMs: number): number {
  return scheduledMs * 1000;
}

/**
 * Group of backfill number `n`'s run of a tick: beside the tick's own group (a backfill re-runs
 * ticks that ran), and apart from other backfills of the same tick. It shares its range with
 * manual runs started on that very millisecond; one with the same sequence number is not expected.
 */
export function backfillGroup(tickMs: number, n: number): number {
  return tickMs * 1000 + 1 + ((Math.max(1, Math.trunc(n)) - 1) % 999);
}

/** Group of a manual/parent run: never a multiple of 1000, so it can't collide with a tick's. */
export function adHocGroup(nowMs: number): number {
  return nowMs * 1000 + nextSeq(nowMs);
}

export function executionId(startedMs: number, node: string): string {
  // The sequence orders ids within a millisecond here; the random nanoseconds keep them apart from
  // another agent's made the same millisecond for the same node (the leader's tick and a run-now
  // another agent dispatched): the same id for two jobs once made a runner drop the second run.
  const nanos = BigInt(startedMs) * 1_000_000n + BigInt(nextSeq(startedMs)) * 1000n + BigInt(Math.floor(Math.random() * 1000));
  return `${nanos}-${node}`;
}

// Random bits drawn 4 KiB at a time: a bulk apply writes 100k audit entries, and one
// randomBytes call per entry cost more than the rest of the id.
let pool = Buffer.alloc(0);
let poolAt = 0;
function randomHex8(): string {
  if (poolAt + 4 > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  poolAt += 4;
  return pool.toString('hex', poolAt - 4, poolAt);
}

/**
 * Audit entry ids: zero-padded milliseconds, a per-process sequence and random
 * bits, so ids sort by time across agents (within clock skew) and never collide.
 */
export function auditId(nowMs: number): string {
  const rand = randomHex8();
  return `${String(nowMs).padStart(15, '0')}-${String(nextSeq(nowMs)).padStart(3, '0')}-${rand}`;
}
