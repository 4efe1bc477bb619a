/**
 * Membership and leadership. A single embedded agent is a cluster of one that
 * always leads (LocalCluster); each backend's cluster fills the same interface.
 * Member objects keep dkron's Go-style field names for API compatibility.
 */

import type { Capacity } from '../job/resources.js';

/** A tick waiting for an agent with room (capacity-aware placement). */
export interface QueuedRun {
  job: string;
  scheduled_at: string;
  /** When it was queued. */
  since: string;
  reason: string;
}

export interface Member {
  Name: string;
  Addr: string;
  Port: number;
  Tags: Record<string, string>;
  Status: number;
  statusText: 'alive' | 'leaving' | 'left' | 'failed';
  /** Kairos: whether it can lead, and how busy it is (for dispatch). */
  server: boolean;
  version: string;
  running: number;
  /** 1-minute load average of the agent's machine, rounded to 0.1. */
  load: number;
  /** Kairos: executors and processors this agent has (absent from agents older than plugins: assume any). */
  executors?: string[];
  processors?: string[];
  /** Kairos: what this agent offers to jobs that declare `resources` (cpu in cores, memory in bytes). */
  capacity?: Capacity;
  /** Kairos: runs the leader holds until an agent has room for them (the leader's record only). */
  queued?: QueuedRun[];
  /** When the agent last refreshed its membership (RFC 3339); its lease keeps it listed meanwhile. */
  last_seen?: string;
}

export interface Cluster {
  readonly nodeName: string;
  start(): Promise<void>;
  /** Give up leadership and stop running for it, but stay a member (graceful shutdown, step 1). */
  resign(): Promise<void>;
  /** Leave the cluster. */
  stop(): Promise<void>;
  members(): Promise<Member[]>;
  leader(): Promise<Member | null>;
  isLeader(): boolean;
  /** How often this agent gained or lost leadership since it started. */
  readonly leadershipChanges: number;
  /** Called with true when this agent gains leadership and false when it loses it. */
  onLeadershipChange(listener: (leader: boolean) => void): void;
  /** Called with the name of every member that disappears (expired or left); a cluster of one never calls it. */
  onMemberLost(listener: (name: string) => void): void;
}
