/**
 * Contract cases for a backend's cluster: election (exactly one leader, handover),
 * the leadership fence as the store enforces it (only the leader's store commits
 * ticks), a member whose connection dies going away within about the lease TTL, and
 * a member cut off past its lease/session coming back by itself once it can.
 * Skipped where the agent is a cluster of its own (no `cluster` in the harness).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Backend } from '../../src/backends/types.js';
import type { Cluster } from '../../src/cluster/types.js';
import { at, job, running } from '../helpers/fixtures.js';
import { eventually } from '../helpers/agent.js';
import { Collector, member, type ClusterHarness, type ContractHarness } from './harness.js';

interface Agent {
  name: string;
  backend: Backend;
  cluster: Cluster;
  /** onLeadershipChange calls, in order. */
  leadership: Collector<boolean>;
  /** onMemberLost calls, in order. */
  lost: Collector<string>;
}

async function withAgents(c: ClusterHarness, names: string[], fn: (agents: Agent[]) => Promise<void>): Promise<void> {
  const keyspace = `contract-${randomUUID()}`;
  const agents: Agent[] = [];
  try {
    for (const name of names) {
      const backend = await c.openBackend(keyspace);
      const cluster = backend.cluster(member(name));
      const agent: Agent = { name, backend, cluster, leadership: new Collector(), lost: new Collector() };
      cluster.onLeadershipChange(agent.leadership.push);
      cluster.onMemberLost(agent.lost.push);
      agents.push(agent);
    }
    await Promise.all(agents.map((a) => a.cluster.start()));
    await fn(agents);
  } finally {
    await Promise.all(agents.map((a) => a.cluster.stop().catch(() => undefined)));
    for (const a of agents) await (c.closeBackend ? c.closeBackend(a.backend) : a.backend.store.close());
  }
}

/** Waits until exactly one of `agents` leads and every one of them names it; returns it and the others. */
async function oneLeader(agents: Agent[], timeoutMs: number): Promise<{ leader: Agent; others: Agent[] }> {
  return eventually('exactly one leader that every agent names', async () => {
    const leading = agents.filter((a) => a.cluster.isLeader());
    if (leading.length !== 1) return undefined;
    const [leader] = leading as [Agent];
    const named = await Promise.all(agents.map(async (a) => (await a.cluster.leader())?.Name));
    return named.every((n) => n === leader.name) ? { leader, others: agents.filter((a) => a !== leader) } : undefined;
  }, timeoutMs);
}

const memberNames = async (a: Agent): Promise<string[]> => (await a.cluster.members()).map((m) => m.Name).sort();

export function clusterCases(h: ContractHarness): void {
  const t = (title: string): string => `${h.label}: ${title}`;
  const c = h.cluster;
  const skip = c ? false : 'an agent is a cluster of its own here: no election, no fence, no member to lose';
  const ttl = c?.leaseTtlMs ?? 0;

  void test(t('two agents on one keyspace: exactly one leads, both list both; only the leader\'s store commits ticks'), { skip }, async () => {
    await withAgents(c!, ['agent-1', 'agent-2'], async (agents) => {
      const { leader, others: [follower] } = await oneLeader(agents, ttl * 3 + 5000);
      assert.ok(follower);
      for (const a of agents) await eventually(`${a.name} to list both members`, async () => (await memberNames(a)).length === 2);
      for (const a of agents) assert.deepEqual(await memberNames(a), ['agent-1', 'agent-2']);
      assert.deepEqual(leader.leadership.items, [true]);
      assert.equal(leader.cluster.leadershipChanges, 1);
      assert.deepEqual(follower.leadership.items, []);

      assert.equal(await follower.backend.store.commitTick('job', at(60), [running('job', 'from-follower')]), false, 'a follower\'s store refuses');
      assert.equal(await follower.backend.store.getLastTick('job'), null);
      assert.equal(await follower.backend.store.getExecution('job', 'from-follower'), null);
      assert.equal(await leader.backend.store.commitTick('job', at(60), [running('job', 'from-leader')]), true);
      assert.ok(await follower.backend.store.getExecution('job', 'from-leader'));
    });
  });

  void test(t('stopping the leader hands over: the other leads, and only its store commits ticks'), { skip }, async () => {
    await withAgents(c!, ['agent-1', 'agent-2'], async (agents) => {
      const { leader: first, others: [next] } = await oneLeader(agents, ttl * 3 + 5000);
      assert.ok(next);
      assert.equal(await first.backend.store.commitTick('job', at(60), []), true);
      await first.cluster.stop();
      assert.deepEqual(first.leadership.items, [true, false]);
      assert.equal(first.cluster.isLeader(), false);
      assert.deepEqual(await next.leadership.waitFor(1, ttl * 3 + 5000, `${next.name} to lead`), [true]);
      await oneLeader([next], ttl + 5000);
      assert.deepEqual(await next.lost.waitFor(1, ttl * 3 + 5000, 'the stopped leader to be lost'), [first.name]);
      assert.deepEqual(await memberNames(next), [next.name]);

      assert.equal(await first.backend.store.commitTick('job', at(120), [running('job', 'deposed')]), false, 'the old leader\'s store refuses');
      assert.equal(await next.backend.store.getExecution('job', 'deposed'), null);
      assert.equal(await next.backend.store.commitTick('job', at(120), [running('job', 'new-leader')]), true);
      assert.equal(await next.backend.store.getLastTick('job'), at(120));
    });
  });

  void test(t('a leader whose connection dies is lost within about the lease TTL, and the other takes over'), { skip }, async () => {
    await withAgents(c!, ['agent-1', 'agent-2'], async (agents) => {
      const { leader: dead, others: [survivor] } = await oneLeader(agents, ttl * 3 + 5000);
      assert.ok(survivor);
      await eventually('both members listed', async () => (await memberNames(survivor)).length === 2);
      const cut = Date.now();
      await c!.sever(dead.backend);
      assert.deepEqual(await survivor.lost.waitFor(1, ttl * 3 + 5000, `${dead.name} to be lost`), [dead.name]);
      const lostAfter = Date.now() - cut;
      // etcd expires a lease about TTL after its last keepalive; allow a second TTL and a margin for timers.
      assert.ok(lostAfter <= ttl * 2 + 1000, `lost after ${lostAfter} ms with a ${ttl} ms TTL`);
      assert.deepEqual(await memberNames(survivor), [survivor.name]);
      await survivor.leadership.waitFor(1, ttl * 3 + 5000, `${survivor.name} to lead`);
      // The cut-off leader stepped down by its own clock (it cannot hear from the backend).
      await eventually(`${dead.name} to step down`, async () => !dead.cluster.isLeader(), ttl * 2 + 5000);
      assert.deepEqual(dead.leadership.items, [true, false]);
      assert.equal(await survivor.backend.store.commitTick('job', at(60), []), true);
      process.stdout.write(`# ${h.label}: a severed member was lost ${lostAfter} ms after the cut (TTL ${ttl} ms)\n`);
    });
  });

  const noPartition = skip || (c?.partition ? false : 'the harness cannot partition a backend (no ClusterHarness.partition)');
  void test(t('a partitioned member whose lease/session expired comes back by itself'), { skip: noPartition }, async () => {
    // Bounded waits for what takes a reconnect (client backoffs) on a busy machine.
    const slow = ttl * 5 + 20_000;
    await withAgents(c!, ['agent-1', 'agent-2'], async (agents) => {
      const { leader: a, others: [b] } = await oneLeader(agents, ttl * 3 + 5000);
      assert.ok(b);
      await eventually('both members listed', async () => (await memberNames(b)).length === 2);
      // A job watch on A from before the cut: it has to follow on across the new lease/session.
      // Its events start after what A's store last read (the contract), so A reads first.
      assert.deepEqual(await a.backend.store.listJobs(), []);
      const seen = new Collector<string>();
      a.backend.store.watchJobs((e) => seen.push(e.type === 'put' ? `put:${e.job.name}` : `delete:${e.name}`));
      await b.backend.store.updateJob('before', () => job('before'));
      await eventually(`${a.name}'s watch to see a job written through ${b.name}`, async () => seen.items.includes('put:before'), slow);

      // When A stopped leading and B started (logged: A should step down before B takes over).
      let aSteppedDown = 0;
      let bLed = 0;
      a.cluster.onLeadershipChange((leading) => {
        if (!leading && aSteppedDown === 0) aSteppedDown = Date.now();
      });
      b.cluster.onLeadershipChange((leading) => {
        if (leading && bLed === 0) bLed = Date.now();
      });
      const cut = Date.now();
      let heal: (() => Promise<void>) | null = await c!.partition!(a.backend);
      try {
        assert.deepEqual(await b.lost.waitFor(1, ttl * 3 + 5000, `${a.name} to be lost`), [a.name]);
        const lostAfter = Date.now() - cut;
        assert.deepEqual(await b.leadership.waitFor(1, ttl * 3 + 5000, `${b.name} to lead`), [true]);
        assert.equal(b.cluster.isLeader(), true);
        assert.deepEqual(await memberNames(b), [b.name]);
        // The cut-off leader stepped down by its own clock.
        await eventually(`${a.name} to step down`, async () => !a.cluster.isLeader(), ttl * 2 + 5000);
        assert.deepEqual(a.leadership.items, [true, false]);
        // Written while A cannot hear: its watch must catch up on it after the heal.
        await b.backend.store.updateJob('during-cut', () => job('during-cut'));
        // Keep the partition well past the expiry (B leading already says A's lease/session is gone).
        const until = cut + ttl * 2 + 1500;
        if (Date.now() < until) await new Promise((r) => setTimeout(r, until - Date.now()));
        const cutFor = Date.now() - cut;

        const healed = Date.now();
        await heal();
        heal = null;
        await eventually(`${a.name} to be listed again by ${b.name}`, async () => (await memberNames(b)).includes(a.name), slow);
        const listedAfter = Date.now() - healed;
        await eventually(`${a.name} to list both members`, async () => (await memberNames(a)).length === 2, slow);
        assert.deepEqual(await memberNames(a), [a.name, b.name].sort());

        // A's store serves reads and writes again.
        assert.equal((await a.backend.store.getJob('before'))?.name, 'before');
        assert.equal((await a.backend.store.updateJob('from-a', () => job('from-a', { owner: 'a' })))?.owner, 'a');
        assert.equal((await b.backend.store.getJob('from-a'))?.owner, 'a');
        // A's watch followed on: the job written during the cut, then one written after the heal, in order.
        await eventually(`${a.name}'s watch to catch up on the job written during the cut`, async () => seen.items.includes('put:during-cut'), slow);
        await b.backend.store.updateJob('after-heal', () => job('after-heal'));
        await eventually(`${a.name}'s watch to see a job written after the heal`, async () => seen.items.includes('put:after-heal'), slow);
        const watchedAfter = Date.now() - healed;
        assert.ok(seen.items.indexOf('put:during-cut') < seen.items.lastIndexOf('put:after-heal'), JSON.stringify(seen.items));

        // B still leads (A came back as a follower: its store's commits are refused).
        const { leader } = await oneLeader(agents, slow);
        assert.equal(leader, b);
        assert.deepEqual(a.leadership.items, [true, false]);
        assert.equal(await a.backend.store.commitTick('job', at(60), [running('job', 'from-follower')]), false, 'a follower\'s store refuses');
        assert.equal(await b.backend.store.commitTick('job', at(60), []), true);

        // B leaves: A leads on its new lease/session, and its fence lets its commits through.
        await b.cluster.stop();
        assert.deepEqual(await a.leadership.waitFor(3, slow, `${a.name} to lead again`), [true, false, true]);
        await oneLeader([a], slow);
        assert.deepEqual(await a.lost.waitFor(1, slow, `${b.name} to be lost`), [b.name]);
        assert.equal(await a.backend.store.commitTick('job', at(120), [running('job', 'after-partition')]), true, 'the returned leader\'s store commits');
        assert.equal(await b.backend.store.getLastTick('job'), at(120));
        assert.ok(await b.backend.store.getExecution('job', 'after-partition'));
        assert.equal(await b.backend.store.getExecution('job', 'from-follower'), null);
        process.stdout.write(
          `# ${h.label}: partitioned ${cutFor} ms: the cut-off leader stepped down ${aSteppedDown - cut} ms, the other led ${bLed - cut} ms and lost it ${lostAfter} ms after the cut; ` +
            `listed again ${listedAfter} ms and its watch caught up ${watchedAfter} ms after the heal (TTL ${ttl} ms)\n`,
        );
      } finally {
        await heal?.();
      }
    });
  });
}
