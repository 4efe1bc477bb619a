/**
 * Membership and leader election through ZooKeeper, on the store's session.
 *
 * Membership: one ephemeral node per agent (members/<name>, the Member JSON,
 * refreshed at least every half session timeout so last_seen stays recent). All
 * agents watch the children of members/: a name that disappears is a lost member.
 *
 * Election: the standard recipe. Each candidate creates an ephemeral sequential
 * election/n_<uuid>_<seq>; the lowest sequence leads; every other one watches
 * only its predecessor. The uuid lets a candidate find its own node after a
 * create whose reply was lost. The leader's node is the fence: every tick commit
 * checks it in the same multi, and it vanishes with the leader's session.
 *
 * Leadership is given up (before ZooKeeper could expire the session and elect
 * another) as soon as no server has answered for half the session timeout, and
 * at once when the session changes. With the same session back in time, the
 * node is still the lowest and leadership comes back; after expiry a new
 * session creates new member and election nodes.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../util/log.js';
import type { Cluster, Member } from '../../cluster/types.js';
import { describeSelf, type SelfDescription } from '../../cluster/member.js';
import type { EventBus } from '../../events/bus.js';
import type { ZkFence } from './common.js';
import { baseName, unseg, type Layout } from './layout.js';
import { messageOf } from '../../store/kv-shared.js';
import { CODES, CreateMode, isCode, zxidHex, type ZkSession } from './session.js';
import { serial } from './watches.js';

export interface ZkClusterOptions extends SelfDescription {
  session: ZkSession;
  layout: Layout;
  /** Receives the fencing token on every leadership change. */
  setFence: (fence: ZkFence) => void;
  log: Logger;
  /** Publishes member.joined / member.left. */
  events?: EventBus;
}

function seqOf(child: string): number {
  const m = /(\d+)$/.exec(child);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

export class ZkCluster implements Cluster {
  private leading = false;
  private stopped = false;
  private resigned = false;
  private readonly guid = randomUUID();
  /** Our election node and the session that owns it. */
  private candidate: { path: string; session: string } | null = null;
  /** The session our member node belongs to, what it says, and when it was written. */
  private published: { session: string; record: string; at: number } | null = null;
  private knownMembers: Set<string> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly leadershipListeners: ((leader: boolean) => void)[] = [];
  private readonly lostListeners: ((name: string) => void)[] = [];
  private readonly evaluate: () => void;
  private readonly relistMembers: () => void;
  private readonly onConnected = (): void => {
    this.evaluate();
    this.relistMembers();
  };
  /** Stable watcher functions: the client keeps one registration per function and path, so a new closure each round would pile up. */
  private readonly predecessorWatcher = (): void => this.evaluate();
  private readonly membersWatcher = (): void => this.relistMembers();
  private readonly onExpired = (): void => {
    this.stepDown('ZooKeeper session expired');
    this.evaluate();
  };
  leadershipChanges = 0;

  constructor(private readonly o: ZkClusterOptions) {
    let lastWarn = 0;
    // Not run again at once: the timer (start()) and the session's events poke again.
    const warn = (what: string) => (err: unknown): boolean => {
      // Once every few seconds at most: a ZooKeeper outage would otherwise log every tick.
      if (this.stopped || Date.now() - lastWarn < 5000) return false;
      lastWarn = Date.now();
      this.o.log.warn({ err: messageOf(err) }, `cluster: ${what} failed; retrying`);
      return false;
    };
    this.evaluate = serial(() => this.step(), warn('membership and election'));
    this.relistMembers = serial(() => this.watchMembers(), warn('following members'));
  }

  get nodeName(): string {
    return this.o.nodeName;
  }

  async start(): Promise<void> {
    this.o.setFence('none');
    this.o.session.on('connected', this.onConnected);
    this.o.session.on('expired', this.onExpired);
    const every = Math.max(100, Math.floor(this.o.session.sessionTimeoutMs / 6));
    this.timer = setInterval(() => this.evaluate(), every);
    this.timer.unref();
    this.evaluate();
    this.relistMembers();
  }

  onLeadershipChange(listener: (leader: boolean) => void): void {
    this.leadershipListeners.push(listener);
  }

  onMemberLost(listener: (name: string) => void): void {
    this.lostListeners.push(listener);
  }

  isLeader(): boolean {
    return this.leading;
  }

  async members(): Promise<Member[]> {
    const s = this.o.session;
    const b = s.budget();
    const names = (await s.getChildren(b, 'listing members', this.o.layout.members))?.children ?? [];
    const values = await Promise.all(names.map((n) => s.getData(b, 'reading a member', `${this.o.layout.members}/${n}`)));
    return values
      .flatMap((v) => (v === null ? [] : [JSON.parse(v.data.toString()) as Member]))
      .sort((a, c) => a.Name.localeCompare(c.Name));
  }

  async leader(): Promise<Member | null> {
    const s = this.o.session;
    const b = s.budget();
    const l = this.o.layout;
    const children = ((await s.getChildren(b, 'finding the leader', l.election))?.children ?? []).sort((a, c) => seqOf(a) - seqOf(c));
    for (const child of children) {
      const node = await s.getData(b, 'finding the leader', `${l.election}/${child}`);
      if (node === null) continue; // gone meanwhile: the next one leads
      const name = (JSON.parse(node.data.toString()) as { name: string }).name;
      const raw = await s.getData(b, 'reading the leader', l.member(name));
      if (raw) return JSON.parse(raw.data.toString()) as Member;
      return { Name: name, Addr: '', Port: 0, Tags: {}, Status: 1, statusText: 'alive', server: true, version: '', running: 0, load: 0 };
    }
    return null;
  }

  async resign(): Promise<void> {
    this.resigned = true;
    this.stepDown('agent stopping');
    const mine = this.candidate;
    this.candidate = null;
    if (!mine || mine.session !== this.o.session.sessionId) return;
    try {
      // Hand over at once instead of making the others wait out the session timeout.
      await this.o.session.remove(this.o.session.budget(), 'resigning', mine.path, -1);
    } catch (err) {
      if (!isCode(err, CODES.NO_NODE)) this.o.log.warn({ err: messageOf(err) }, 'cluster: could not release leadership cleanly; it will expire');
    }
  }

  async stop(): Promise<void> {
    await this.resign();
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.o.session.off('connected', this.onConnected);
    this.o.session.off('expired', this.onExpired);
    const published = this.published;
    this.published = null;
    if (!published || published.session !== this.o.session.sessionId) return;
    try {
      await this.o.session.remove(this.o.session.budget(), 'leaving', this.o.layout.member(this.o.nodeName), -1);
    } catch (err) {
      if (!isCode(err, CODES.NO_NODE)) this.o.log.warn({ err: messageOf(err) }, 'cluster: could not leave cleanly; the member record will expire');
    }
  }

  /** One round: step down when ZooKeeper is out of reach, publish the member record, run for leader. */
  private async step(): Promise<void> {
    if (this.stopped) return;
    const s = this.o.session;
    const silent = Date.now() - s.lastOk;
    if (this.leading) {
      if (this.candidate?.session !== s.sessionId) this.stepDown('the ZooKeeper session changed');
      else if (silent > s.sessionTimeoutMs / 2) this.stepDown(`no answer from ZooKeeper for ${silent} ms (session timeout ${s.sessionTimeoutMs} ms)`);
    }
    if (!s.isConnected || s.sessionId === null) return;
    await this.publish(s.sessionId);
    if (this.o.server && !this.resigned && !this.stopped) await this.campaign(s.sessionId);
  }

  private async publish(session: string): Promise<void> {
    const s = this.o.session;
    const path = this.o.layout.member(this.o.nodeName);
    const { last_seen: _seen, ...rest } = describeSelf(this.o);
    const record = JSON.stringify(rest);
    const p = this.published;
    if (p && p.session === session && p.record === record && Date.now() - p.at < s.sessionTimeoutMs / 2) return;
    const at = Date.now();
    const data = Buffer.from(JSON.stringify({ ...rest, last_seen: new Date(at).toISOString() }));
    const b = s.budget();
    await s.ensure(b, this.o.layout.members);
    if (p?.session === session) {
      try {
        await s.setData(b, 'refreshing the member record', path, data, -1);
        this.published = { session, record, at };
        return;
      } catch (err) {
        if (!isCode(err, CODES.NO_NODE)) throw err;
        this.published = null; // removed under us: create it again below
      }
    }
    const stat = await s.exists(b, 'joining', path);
    if (stat !== null && zxidHex(stat.ephemeralOwner) === session) {
      await s.setData(b, 'refreshing the member record', path, data, -1);
    } else if (stat !== null) {
      // Our record from an earlier session (a restart, an expiry): replaced in one step, so the
      // others see no member leave (the name stays listed throughout).
      const res = await s.multi(b, 'joining', [
        { type: 'remove', path, version: stat.version },
        { type: 'create', path, data, mode: CreateMode.EPHEMERAL },
      ], false);
      if (!res.ok) throw new Error(`zookeeper: member node ${path} changed while joining (code ${res.code})`);
    } else {
      await s.create(b, 'joining', path, data, CreateMode.EPHEMERAL, false);
    }
    // Once per session: a new session after an expiry is a rejoin worth a line too.
    if (this.published?.session !== session) this.o.log.info({ session, path }, 'cluster: joined as a member');
    this.published = { session, record, at };
  }

  private async campaign(session: string): Promise<void> {
    const s = this.o.session;
    const l = this.o.layout;
    const b = s.budget();
    await s.ensure(b, l.election);
    if (this.candidate && this.candidate.session !== session) this.candidate = null;
    let children = (await s.getChildren(b, 'running for election', l.election))?.children ?? [];
    if (this.candidate === null) {
      // A create whose reply was lost may have made our node: it carries our uuid.
      const ours = children.find((c) => c.includes(this.guid));
      if (ours) this.candidate = { path: `${l.election}/${ours}`, session };
      else {
        this.o.log.info('agent: Running for election');
        const data = Buffer.from(JSON.stringify({ name: this.o.nodeName }));
        const path = await s.create(b, 'running for election', `${l.election}/n_${this.guid}_`, data, CreateMode.EPHEMERAL_SEQUENTIAL, false);
        this.candidate = { path, session };
        children = (await s.getChildren(b, 'running for election', l.election))?.children ?? [];
      }
    }
    const mine = baseName(this.candidate.path);
    const sorted = children.sort((a, c) => seqOf(a) - seqOf(c));
    const at = sorted.indexOf(mine);
    if (at < 0) {
      // Our node is gone (removed by hand, or its session ended as we looked): run again.
      this.candidate = null;
      this.stepDown('election node removed');
      this.evaluate();
      return;
    }
    if (at === 0) {
      if (!this.leading && !this.stopped && !this.resigned && Date.now() - s.lastOk <= s.sessionTimeoutMs / 2) this.becomeLeader(this.candidate.path);
      return;
    }
    if (this.leading) this.stepDown('another candidate precedes this one');
    const predecessor = `${l.election}/${sorted[at - 1] as string}`;
    // Watch only the predecessor (no herd when the leader goes); gone already: look again.
    const stat = await s.exists(b, 'watching the predecessor', predecessor, this.predecessorWatcher);
    if (stat === null) this.evaluate();
  }

  private becomeLeader(path: string): void {
    this.o.setFence({ path });
    this.leading = true;
    this.leadershipChanges++;
    this.o.log.info({ fence: path }, 'agent: Cluster leadership acquired');
    for (const l of this.leadershipListeners) l(true);
  }

  private stepDown(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.o.setFence('none');
    this.leadershipChanges++;
    this.o.log.warn({ reason }, 'agent: Cluster leadership lost');
    for (const l of this.leadershipListeners) l(false);
  }

  /** Lists members/ (re-arming the child watch) and reports who joined and who is gone. */
  private async watchMembers(): Promise<void> {
    if (this.stopped) return;
    const s = this.o.session;
    const b = s.budget();
    await s.ensure(b, this.o.layout.members);
    const listed = await s.getChildren(b, 'following members', this.o.layout.members, this.membersWatcher);
    const names = new Set((listed?.children ?? []).map(unseg));
    const before = this.knownMembers;
    this.knownMembers = names;
    if (before === null || this.stopped) return;
    for (const name of names) if (!before.has(name)) this.o.events?.publish('member.joined', { name });
    for (const name of before) {
      if (names.has(name) || name === this.o.nodeName) continue;
      this.o.log.info({ member: name }, 'cluster: member left');
      this.o.events?.publish('member.left', { name });
      for (const l of this.lostListeners) l(name);
    }
  }
}
