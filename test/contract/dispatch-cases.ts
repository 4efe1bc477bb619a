/**
 * Contract cases: tick commits (the scheduler's exactly-once fence), forbid
 * exclusivity, and for stores that route executions, the per-agent queues.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Execution } from '../../src/job/types.js';
import type { Store } from '../../src/store/types.js';
import { Dispatcher } from '../../src/cluster/dispatcher.js';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { EventBus, type EventMap } from '../../src/events/bus.js';
import { silentLogger } from '../../src/util/log.js';
import { tickGroup } from '../../src/util/ids.js';
import { at, exec, job, running, T0 } from '../helpers/fixtures.js';
import { faulty, outage } from '../helpers/faulty-store.js';
import { Collector, withPeer, withStore, type ContractHarness } from './harness.js';

type Consume = NonNullable<Store['consumeAssignments']>;
const tag = (e: Execution): string => `${e.job_name}/${e.id}/${e.node_name}`;

export function dispatchCases(h: ContractHarness): void {
  const t = (title: string): string => `${h.label}: ${title}`;

  /** A case for stores that route executions; skipped (at run time) for the others. */
  const routed = (title: string, fn: (store: Store, consume: Consume) => Promise<void>): void => {
    void test(t(title), async (ctx: TestContext) => {
      await withStore(h, async (store) => {
        if (!store.consumeAssignments) {
          ctx.skip('this store does not route executions (routesExecutions false)');
          return;
        }
        await fn(store, store.consumeAssignments.bind(store));
      })();
    });
  };

  void test(t('commitTick fences: the same and older ticks are refused without writing; ticks are per job'), withStore(h, async (store) => {
    assert.equal(await store.getLastTick('a'), null);
    const t60 = running('a', 't60', { started_at: at(60), node_name: 'n1' });
    assert.equal(await store.commitTick('a', at(60), [t60]), true);
    assert.equal(await store.getLastTick('a'), at(60));
    assert.deepEqual(await store.getExecution('a', 't60'), t60);
    assert.deepEqual((await store.listRunning('a')).map((e) => e.id), ['t60']);

    assert.equal(await store.commitTick('a', at(60), [running('a', 'dup')]), false);
    assert.equal(await store.getExecution('a', 'dup'), null);
    assert.equal(await store.commitTick('a', at(30), [running('a', 'old')]), false);
    assert.equal(await store.getExecution('a', 'old'), null);
    // The same instant written with an offset is still the same tick.
    assert.equal(await store.commitTick('a', '2024-01-01T02:01:00+02:00', [running('a', 'same')]), false);
    assert.equal(await store.getExecution('a', 'same'), null);
    assert.equal(await store.getLastTick('a'), at(60));

    const later = [running('a', 't120-n1', { group: 2, node_name: 'n1' }), running('a', 't120-n2', { group: 2, node_name: 'n2' })];
    assert.equal(await store.commitTick('a', at(120), later), true);
    assert.equal(await store.getLastTick('a'), at(120));
    assert.deepEqual((await store.listGroup('a', 2)).map((e) => e.id), ['t120-n1', 't120-n2']);

    assert.equal(await store.commitTick('b', at(0), []), true);
    assert.equal(await store.getLastTick('b'), at(0));
    await assert.rejects(store.commitTick('a', 'not a time', []), /invalid tick/);
  }));

  void test(t('commitTick is a fence under concurrent callers on two agents'), withStore(h, async (store) => {
    await withPeer(h, store, async (other) => {
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? other : store).commitTick('a', at(60), [running('a', `n${i}`)])),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal((await store.listExecutions('a')).total, 1);
    });
  }));

  void test(t('a burst of tick commits in one turn: each job\'s tick once, the ones taken elsewhere refused, the rest unharmed'), withStore(h, async (store) => {
    await withPeer(h, store, async (other) => {
      const names = Array.from({ length: 40 }, (_, i) => `burst${String(i).padStart(2, '0')}`);
      const burst = (tick: string, suffix: string): Promise<boolean[]> =>
        Promise.all(names.map((n) => store.commitTick(n, tick, [running(n, `${n}-${suffix}`, { node_name: 'n1' })])));
      // Two ticks taken before the burst: one by this agent, one by the other.
      assert.equal(await store.commitTick('burst03', at(60), []), true);
      assert.equal(await other.commitTick('burst07', at(60), []), true);
      // 40 jobs in one turn: more than one etcd transaction's worth of operations.
      const first = await burst(at(60), 'a');
      assert.deepEqual(names.filter((_, i) => !first[i]), ['burst03', 'burst07']);
      // The next burst; the other agent took one of its ticks first (what a store that
      // remembers its own last writes must notice).
      assert.equal(await other.commitTick('burst11', at(120), []), true);
      const second = await burst(at(120), 'b');
      assert.deepEqual(names.filter((_, i) => !second[i]), ['burst11']);
      for (const n of names) {
        const ids = (await store.listExecutions(n)).items.map((e) => e.id).sort();
        const want = [first, second].flatMap((r, k) => (r[names.indexOf(n)] ? [`${n}-${k === 0 ? 'a' : 'b'}`] : []));
        assert.deepEqual(ids, want, `executions of ${n}`);
        assert.equal(await store.getLastTick(n), at(120));
      }
    });
  }));

  for (const landed of [false, true]) {
    const what = landed ? 'landed (its reply was lost)' : 'did not land';
    void test(t(`a dispatcher's tick whose commit failed and ${what}, overtaken by the next tick before its retry: recorded as a skip only if it did not run, once`), withStore(h, async (store) => {
      // The real dispatcher over this store; the store wrapped so T's first commit fails.
      let failures = 0;
      const f = faulty<Store>(store, async (method, args) => {
        if (method !== 'commitTick' || args[1] !== at(60) || failures > 0) return undefined;
        failures++;
        if (landed) await store.commitTick(args[0] as string, args[1] as string, args[2] as Execution[]);
        return outage('commitTick');
      });
      const cluster = new LocalCluster({ nodeName: 'n1', addr: '127.0.0.1', port: () => 0, tags: {}, server: true, version: 'contract', running: () => 0, log: silentLogger() });
      const delivered: string[] = [];
      const events = new EventBus();
      const skipped: EventMap['tick.skipped'][] = [];
      events.on('tick.skipped', (e) => void skipped.push(e));
      const dispatcher = new Dispatcher(f.store, cluster, { deliver: (e) => delivered.push(e.scheduled_at) }, silentLogger(), events);
      await store.updateJob('d', () => job('d', { schedule: '@every 1s' }));
      const tick = (seconds: number): { name: string; scheduledAt: Date; trigger: 'schedule' } => ({ name: 'd', scheduledAt: new Date(T0 + seconds * 1000), trigger: 'schedule' });

      await assert.rejects(dispatcher.dispatchTick(tick(60)), /injected fault/);
      assert.equal((await dispatcher.dispatchTick(tick(61))).executions.length, 1);
      assert.deepEqual((await dispatcher.dispatchTick(tick(60))).executions, [], 'the retry is refused by the fence');
      await dispatcher.dispatchTick(tick(60));

      const skips = (await store.listSkips('d')).items;
      const ranT = (await store.listGroup('d', tickGroup(T0 + 60_000))).length;
      if (landed) {
        assert.equal(ranT, 1, 'T was committed once, by its failed attempt');
        assert.deepEqual(skips, []);
        assert.deepEqual(skipped, []);
      } else {
        assert.equal(ranT, 0);
        assert.deepEqual(skips.map((x) => [x.scheduled_at, x.code, x.count]), [[at(60), 'dispatch_failed', 1]]);
        assert.match(skips[0]?.reason ?? '', /^dispatch failed \(.*injected fault\) and a later tick was committed before its retry$/);
        assert.deepEqual(skipped.map((e) => [e.scheduledAt, e.kind]), [[at(60), 'dispatch_failed']]);
      }
      assert.equal((await store.getJob('d'))?.skip_count, landed ? 0 : 1);
      assert.equal((await store.listGroup('d', tickGroup(T0 + 61_000))).length, 1, 'T+1 committed once');
      assert.equal(await store.getLastTick('d'), at(61));
      if (!store.routesExecutions) assert.deepEqual(delivered, [at(61)], 'nothing delivered twice');
    }));
  }

  void test(t('listLastTicks returns every job\'s last tick'), withStore(h, async (store) => {
    assert.deepEqual([...(await store.listLastTicks())], []);
    await store.commitTick('a', at(1), []);
    await store.commitTick('b', at(2), []);
    await store.commitTick('a', at(3), []);
    assert.deepEqual([...(await store.listLastTicks())].sort(), [['a', at(3)], ['b', at(2)]]);
  }));

  void test(t('exclusive dispatch (forbid) is refused atomically while the job has a running execution'), withStore(h, async (store) => {
    assert.equal(await store.dispatchExecutions([running('a', 'r1')], { exclusive: true }), true);
    assert.equal(await store.dispatchExecutions([running('a', 'r2')], { exclusive: true }), false);
    assert.equal(await store.getExecution('a', 'r2'), null);
    assert.equal(await store.commitTick('a', at(10), [running('a', 't10')], { exclusive: true }), false);
    assert.equal(await store.getLastTick('a'), null, 'a refused tick writes nothing');
    assert.equal(await store.dispatchExecutions([running('b', 'other')], { exclusive: true }), true, 'other jobs are not blocked');
    await store.putExecution(exec('a', 'r1'));
    assert.equal(await store.commitTick('a', at(10), [running('a', 't10')], { exclusive: true }), true);
    // Concurrent exclusive dispatches: exactly one wins.
    await store.putExecution(exec('a', 't10'));
    const results = await Promise.all(
      Array.from({ length: 8 }, (_v, i) => store.dispatchExecutions([running('a', `race${i}`)], { exclusive: true })),
    );
    assert.equal(results.filter(Boolean).length, 1);
  }));

  void test(t('dispatchExecutions stores executions (none is fine) and writes its audit entry with them'), withStore(h, async (store) => {
    await store.updateJob('a', () => job('a'));
    const audit = { id: '000000000000001-000001', at: at(0), actor: 'tester', action: 'job.run', job: 'a', before: null, after: null, detail: null };
    assert.equal(await store.dispatchExecutions([running('a', '1', { node_name: 'n1' }), running('a', '2', { node_name: 'n/2' })], { audit }), true);
    assert.deepEqual((await store.listRunning('a')).map((e) => e.id).sort(), ['1', '2']);
    assert.deepEqual((await store.listAudit({ job: 'a' })).items.map((e) => e.action), ['job.run']);
    assert.equal(await store.dispatchExecutions([]), true);
  }));

  routed('dispatchExecutions and commitTick route each execution to its node\'s queue (a "/" in a node name included)', async (store, consume) => {
    await store.dispatchExecutions([running('a', '1', { node_name: 'n1' }), running('a', '2', { node_name: 'n/2' })]);
    assert.equal(await store.commitTick('a', at(60), [running('a', 't60', { node_name: 'n/2' })]), true);
    const n1 = new Collector<string>();
    const n2 = new Collector<string>();
    const stops = [consume('n1', (e) => n1.push(tag(e))), consume('n/2', (e) => n2.push(tag(e)))];
    assert.deepEqual(await n1.waitFor(1), ['a/1/n1']);
    assert.deepEqual([...(await n2.waitFor(2))].sort(), ['a/2/n/2', 'a/t60/n/2']);
    // A sentinel per queue, dispatched last, is the next (and only other) delivery.
    await store.dispatchExecutions([running('z', 's1', { node_name: 'n1' }), running('z', 's2', { node_name: 'n/2' })]);
    assert.deepEqual((await n1.waitFor(2)).slice(1), ['z/s1/n1']);
    assert.deepEqual((await n2.waitFor(3)).slice(2), ['z/s2/n/2']);
    for (const stop of stops) stop();
  });

  routed('consumeAssignments: existing ones first, then new ones; each claimed once; unsubscribe', async (store, consume) => {
    await store.dispatchExecutions([running('a', 'pre1', { node_name: 'n1' }), running('b', 'pre2', { node_name: 'n1' })]);
    await store.dispatchExecutions([running('a', 'other-node', { node_name: 'n2' })]);
    const got = new Collector<string>();
    const unsubscribe = consume('n1', (e) => got.push(tag(e)));
    assert.deepEqual([...(await got.waitFor(2))].sort(), ['a/pre1/n1', 'b/pre2/n1']);

    assert.equal(await store.commitTick('a', at(60), [running('a', 'tick', { node_name: 'n1' }), running('a', 'tick-n2', { node_name: 'n2' })]), true);
    await store.dispatchExecutions([running('c', 'run-now', { node_name: 'n1' })]);
    await got.waitFor(4);
    assert.deepEqual(got.items.slice(2).sort(), ['a/tick/n1', 'c/run-now/n1']);

    unsubscribe();
    unsubscribe();
    await store.dispatchExecutions([running('a', 'after', { node_name: 'n1' })]);
    // Nobody consumes n1 any more, so it stays queued; a new consumer then gets exactly that one.
    const later = new Collector<string>();
    const stop = consume('n1', (e) => later.push(e.id));
    assert.deepEqual(await later.waitFor(1), ['after']);
    await store.dispatchExecutions([running('z', 'sentinel', { node_name: 'n1' })]);
    assert.deepEqual(await later.waitFor(2), ['after', 'sentinel']);
    stop();
    assert.equal(got.items.length, 4);
    // n2's queue kept both of its executions for its own consumer.
    const n2 = new Collector<string>();
    const stopN2 = consume('n2', (e) => n2.push(e.id));
    assert.deepEqual([...(await n2.waitFor(2))].sort(), ['other-node', 'tick-n2']);
    stopN2();
  });

  routed('consumeAssignments: consumers on two agents racing for one queue handle each execution exactly once', async (store, consume) => {
    await withPeer(h, store, async (other) => {
      const consumeOther = other.consumeAssignments?.bind(other);
      assert.ok(consumeOther, 'both agents route executions');
      await store.dispatchExecutions(Array.from({ length: 20 }, (_, i) => running('a', `pre${i}`, { node_name: 'n1' })));
      const handled = new Collector<string>();
      const stops = [consume, consumeOther, consume].map((c, i) => c('n1', (e) => handled.push(`${i}:${e.id}`)));
      const live = Array.from({ length: 40 }, (_, i) => running('a', `live${i}`, { node_name: 'n1' }));
      await Promise.all(Array.from({ length: 4 }, (_, k) => store.dispatchExecutions(live.slice(k * 10, k * 10 + 10))));
      await handled.waitFor(60, 20_000);
      const ids = (): string[] => handled.items.map((s) => s.split(':')[1] ?? '');
      assert.equal(new Set(ids()).size, 60, 'no execution handled twice');
      assert.equal(ids().length, 60);
      // A sentinel dispatched last is handled, and still nothing arrived twice.
      await store.dispatchExecutions([running('a', 'sentinel', { node_name: 'n1' })]);
      await handled.waitFor(61);
      assert.equal(new Set(ids()).size, 61);
      for (const stop of stops) stop();
      // Nothing is left in the queue: a new consumer's first delivery is a new probe.
      const after = new Collector<string>();
      const stop = consume('n1', (e) => after.push(e.id));
      await store.dispatchExecutions([running('a', 'probe', { node_name: 'n1' })]);
      assert.deepEqual(await after.waitFor(1), ['probe']);
      stop();
      assert.equal(handled.items.length, 61);
    });
  });

  routed('finishing an execution takes it out of its queue, so a late consumer is never handed it', async (store, consume) => {
    const e = running('a', 'gone', { node_name: 'n1' });
    assert.equal(await store.dispatchExecutions([e]), true);
    await store.completeExecution({ ...e, finished_at: at(5), success: false }, () => undefined);
    assert.deepEqual(await store.listRunning('a'), []);
    const got = new Collector<string>();
    const stop = consume('n1', (x) => got.push(x.id));
    await store.dispatchExecutions([running('a', 'sentinel', { node_name: 'n1' })]);
    assert.deepEqual(await got.waitFor(1), ['sentinel']);
    stop();
  });
}
