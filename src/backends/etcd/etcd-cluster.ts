/**
 * Membership and leader election through etcd. Each agent holds one lease:
 * its member record (`members/<name>`) and, on the leader, the `leader` key
 * live under it, so an agent that dies or loses etcd disappears from both
 * within the lease TTL. The leader key's create revision is the fencing
 * token the store checks on every tick commit: a deposed leader can't dispatch.
 *
 * Election is the classic create-if-absent on one key, with a watch for its
 * deletion; simpler to reason about than a queue of candidates, and failover
 * is bounded by the TTL either way.
 */
import type { Lease, Namespace, Watcher } from 'etcd3';
import type { Logger } from '../../util/log.js';
import type { Cluster, Member } from '../../cluster/types.js';
import { describeSelf, type SelfDescription } from '../../cluster/member.js';
import type { EventBus } from '../../events/bus.js';

export type Fence = { key: string; createRevision: string } | 'none' | null;

export interface EtcdClusterOptions extends SelfDescription {
  ns: Namespace;
  /** Receives the fencing token on every leadership change. */
  setFence: (fence: Fence) => void;
  leaseTtlSec: number;
  log: Logger;
  /** Publishes member.joined / member.left. */
  events?: EventBus;
}

const LEADER_KEY = 'leader';
const MEMBERS = 'members/';

export class EtcdCluster implements Cluster {
  private leading = false;
  private stopped = false;
  private resigned = false;
  private loop: Promise<void> | null = null;
  private readonly leadershipListeners: ((leader: boolean) => void)[] = [];
  private readonly lostListeners: ((name: string) => void)[] = [];
  private memberWatcher: Watcher | null = null;
  private endSession: (() => void) | null = null;
  private lease: Lease | null = null;
  private fenceRevision: string | null = null;
  private membersRead: Promise<Record<string, string>> | null = null;
  /** Leadership changes seen by this agent (exposed for metrics and tests). */
  leadershipChanges = 0;

  constructor(private readonly o: EtcdClusterOptions) {}

  get nodeName(): string {
    return this.o.nodeName;
  }

  async start(): Promise<void> {
    this.o.setFence('none');
    this.watchMembers();
    this.loop = this.sessions();
  }

  onLeadershipChange(listener: (leader: boolean) => void): void {
    this.leadershipListeners.push(listener);
  }

  /** Called with the name of every member whose record disappears (lease expired or left). */
  onMemberLost(listener: (name: string) => void): void {
    this.lostListeners.push(listener);
  }

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Callers that ask while a read is in flight share it: a burst of 20 ticks planning
   * their targets costs one read, not 20. Each caller gets its own parsed copy.
   */
  async members(): Promise<Member[]> {
    this.membersRead ??= this.o.ns
      .getAll()
      .prefix(MEMBERS)
      .strings()
      .finally(() => {
        this.membersRead = null;
      });
    const values = await this.membersRead;
    return Object.values(values)
      .map((v) => JSON.parse(v) as Member)
      .sort((a, b) => a.Name.localeCompare(b.Name));
  }

  async leader(): Promise<Member | null> {
    const name = await this.o.ns.get(LEADER_KEY).string();
    if (!name) return null;
    const raw = await this.o.ns.get(`${MEMBERS}${name}`).string();
    if (raw) return JSON.parse(raw) as Member;
    return { Name: name, Addr: '', Port: 0, Tags: {}, Status: 1, statusText: 'alive', server: true, version: '', running: 0, load: 0 };
  }

  async resign(): Promise<void> {
    this.resigned = true;
    const wasLeader = this.leading;
    const fenceRevision = this.fenceRevision;
    this.stepDown('agent stopping');
    if (!wasLeader || !fenceRevision) return;
    try {
      // Hand over at once instead of making the others wait out the TTL.
      await this.o.ns.if(LEADER_KEY, 'Create', '==', fenceRevision).then(this.o.ns.delete().key(LEADER_KEY)).commit();
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'cluster: could not release leadership cleanly; it will expire');
    }
  }

  async stop(): Promise<void> {
    await this.resign();
    this.stopped = true;
    this.memberWatcher?.cancel().catch(() => undefined);
    this.memberWatcher = null;
    const lease = this.lease;
    this.endSession?.();
    try {
      await lease?.revoke();
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'cluster: could not release lease cleanly; it will expire');
    }
    await this.loop;
  }

  private memberRecord(): Member {
    return describeSelf(this.o);
  }

  /** One session per lease; when a lease is lost (etcd unreachable past the TTL) start over. */
  private async sessions(): Promise<void> {
    let delay = 250;
    while (!this.stopped) {
      try {
        await this.session();
        delay = 250;
      } catch (err) {
        if (this.stopped) break;
        this.o.log.warn({ err: (err as Error).message, retry_ms: delay }, 'cluster: cannot reach etcd; retrying');
      }
      if (this.stopped) break;
      await new Promise((r) => setTimeout(r, delay));
      // Capped at the lease TTL: after a partition heals, an agent is back within about one TTL
      // (a 5 s cap made it lag ~4 s behind a ZooKeeper agent in the contract's partition case).
      delay = Math.min(delay * 2, this.o.leaseTtlSec * 1000);
    }
  }

  private async session(): Promise<void> {
    const ttl = this.o.leaseTtlSec;
    const lease = this.o.ns.lease(ttl);
    this.lease = lease;
    let lastKeepAlive = Date.now();
    lease.on('keepaliveSucceeded', () => {
      lastKeepAlive = Date.now();
    });
    let resolveLost!: (reason: string) => void;
    const lost = new Promise<string>((resolve) => (resolveLost = resolve));
    lease.on('lost', (err) => resolveLost(`lease lost: ${err.message}`));
    this.endSession = () => resolveLost('stopping');
    const leaseId = await lease.grant();
    lastKeepAlive = Date.now();

    let published = '';
    let publishedAt = 0;
    const publish = async (): Promise<void> => {
      const { last_seen: _seen, ...rest } = this.memberRecord();
      const record = JSON.stringify(rest);
      // Rewritten when something changes, and at least every half TTL so `last_seen` stays recent.
      if (record === published && Date.now() - publishedAt < (ttl * 1000) / 2) return;
      const at = Date.now();
      await lease.put(`${MEMBERS}${this.o.nodeName}`).value(JSON.stringify({ ...rest, last_seen: new Date(at).toISOString() })).exec();
      published = record;
      publishedAt = at;
    };
    await publish();
    this.o.log.info({ lease: leaseId, ttl_s: ttl }, 'cluster: joined as a member');

    // The etcd3 client only reports a lost lease after 2×TTL; the server
    // expires it after 1×TTL, so step down by our own clock first.
    const watchdog = setInterval(() => {
      if (Date.now() - lastKeepAlive > ttl * 1000 - 250) resolveLost(`no lease keepalive for ${Date.now() - lastKeepAlive} ms`);
      publish().catch(() => undefined);
    }, 250);
    try {
      if (this.o.server && !this.resigned) void this.campaign(leaseId, lost);
      const reason = await lost;
      if (!this.stopped) this.o.log.warn({ reason }, 'cluster: membership session ended');
    } finally {
      clearInterval(watchdog);
      this.stepDown('lease ended');
      this.lease = null;
      if (!this.stopped) lease.revoke().catch(() => undefined);
    }
  }

  private async campaign(leaseId: string, lost: Promise<string>): Promise<void> {
    let over = false;
    void lost.then(() => (over = true));
    const ns = this.o.ns;
    while (!over && !this.stopped && !this.resigned) {
      try {
        this.o.log.info('agent: Running for election');
        const res = await ns
          .if(LEADER_KEY, 'Create', '==', 0)
          .then(ns.put(LEADER_KEY).value(this.o.nodeName).lease(leaseId))
          .else(ns.get(LEADER_KEY))
          .commit();
        if (over || this.stopped) return;
        if (res.succeeded && this.resigned) {
          await ns.if(LEADER_KEY, 'Create', '==', String(res.header.revision)).then(ns.delete().key(LEADER_KEY)).commit();
          return;
        }
        if (res.succeeded) {
          const revision = String(res.header.revision);
          this.becomeLeader(revision);
          return;
        }
        const kv = res.responses[0]?.response_range?.kvs?.[0];
        const holder = kv?.value?.toString() ?? '';
        if (holder === this.o.nodeName && String(kv?.lease) !== leaseId) {
          // Our own key from before a restart: it can only block us, so clear it.
          await ns.if(LEADER_KEY, 'Create', '==', String(kv?.create_revision)).then(ns.delete().key(LEADER_KEY)).commit();
          continue;
        }
        this.o.log.info({ leader: holder }, 'agent: following leader');
        await this.waitForLeaderKeyDeletion(String(res.header.revision), lost);
      } catch (err) {
        if (over || this.stopped) return;
        this.o.log.warn({ err: (err as Error).message }, 'cluster: election attempt failed; retrying');
        await Promise.race([lost, new Promise((r) => setTimeout(r, 500))]);
      }
    }
  }

  private async waitForLeaderKeyDeletion(revision: string, lost: Promise<string>): Promise<void> {
    const watcher = this.o.ns
      .watch()
      .key(LEADER_KEY)
      .startRevision(String(BigInt(revision) + 1n))
      .watcher();
    try {
      await Promise.race([
        lost,
        new Promise<void>((resolve, reject) => {
          watcher.on('delete', () => resolve());
          watcher.on('error', reject);
        }),
      ]);
    } finally {
      await watcher.cancel().catch(() => undefined);
    }
  }

  private becomeLeader(revision: string): void {
    this.fenceRevision = revision;
    this.o.setFence({ key: LEADER_KEY, createRevision: revision });
    this.leading = true;
    this.leadershipChanges++;
    this.o.log.info({ fence: revision }, 'agent: Cluster leadership acquired');
    for (const l of this.leadershipListeners) l(true);
  }

  private stepDown(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.fenceRevision = null;
    this.o.setFence('none');
    this.leadershipChanges++;
    this.o.log.warn({ reason }, 'agent: Cluster leadership lost');
    for (const l of this.leadershipListeners) l(false);
  }

  private watchMembers(): void {
    const watcher = this.o.ns.watch().prefix(MEMBERS).watcher();
    watcher.on('delete', (kv) => {
      const name = kv.key.toString().slice(MEMBERS.length);
      if (name === this.o.nodeName) return;
      this.o.log.info({ member: name }, 'cluster: member left');
      this.o.events?.publish('member.left', { name });
      for (const l of this.lostListeners) l(name);
    });
    watcher.on('put', (kv) => {
      // A member record is rewritten when its load changes; only its creation is a join.
      if (kv.version !== '1') return;
      this.o.events?.publish('member.joined', { name: kv.key.toString().slice(MEMBERS.length) });
    });
    watcher.on('error', (err) => this.o.log.warn({ err: err.message }, 'cluster: member watch error'));
    this.memberWatcher = watcher;
  }
}
