/**
 * The embedded store's cluster: one agent that leads itself. It still goes
 * through "running for election" so logs and leadership hooks match a real cluster.
 */
import type { Cluster, Member } from './types.js';
import { describeSelf, type SelfDescription } from './member.js';

export interface LocalClusterOptions extends SelfDescription {
  log: { info(msg: string): void };
}

export class LocalCluster implements Cluster {
  private leading = false;
  leadershipChanges = 0;
  private readonly listeners: ((leader: boolean) => void)[] = [];

  constructor(private readonly options: LocalClusterOptions) {}

  get nodeName(): string {
    return this.options.nodeName;
  }

  onMemberLost(): void {
    // One member: it can't lose another.
  }

  async start(): Promise<void> {
    if (!this.options.server) return;
    this.options.log.info('agent: Running for election');
    this.leading = true;
    this.leadershipChanges++;
    this.options.log.info('agent: Cluster leadership acquired');
    for (const l of this.listeners) l(true);
  }

  async resign(): Promise<void> {
    await this.stop();
  }

  async stop(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.leadershipChanges++;
    this.options.log.info('agent: Cluster leadership lost');
    for (const l of this.listeners) l(false);
  }

  private self(): Member {
    return describeSelf(this.options);
  }

  async members(): Promise<Member[]> {
    return [this.self()];
  }

  async leader(): Promise<Member | null> {
    return this.leading ? this.self() : null;
  }

  isLeader(): boolean {
    return this.leading;
  }

  onLeadershipChange(listener: (leader: boolean) => void): void {
    this.listeners.push(listener);
  }
}
