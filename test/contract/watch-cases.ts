/** Contract cases: job watches, and (with restartServer) watches and queues across a server restart. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from '../../src/job/types.js';
import type { JobEvent } from '../../src/store/types.js';
import { job, running } from '../helpers/fixtures.js';
import { eventually } from '../helpers/agent.js';
import { closeStore, Collector, withPeer, withStore, type ContractHarness } from './harness.js';

const describeEvent = (e: JobEvent): string => (e.type === 'put' ? `put ${e.job.name} ${e.job.owner}` : `delete ${e.name}`);

export function watchCases(h: ContractHarness): void {
  const t = (title: string): string => `${h.label}: ${title}`;
  const errors: unknown[] = [];

  void test(t('watchJobs: put/delete events from any agent, only on change; a throwing listener breaks nothing; unsubscribe'), withStore(h, async (store) => {
    await withPeer(h, store, async (writer) => {
      // A watch sees every write made after a read its store made before subscribing.
      await store.countJobs();
      const events = new Collector<string>();
      const sentinel = new Collector<string>();
      const thrown = new Collector<string>();
      const unsubscribe = store.watchJobs((e) => events.push(describeEvent(e)));
      store.watchJobs((e) => {
        thrown.push(describeEvent(e));
        throw new Error('listener failed');
      });
      store.watchJobs((e) => sentinel.push(describeEvent(e)));

      await writer.updateJob('a', () => job('a'));
      await writer.updateJob('a', (cur) => cur ?? undefined); // same body: no write, no event
      await writer.updateJob('a', () => undefined);
      await store.updateJob('a', (cur) => (cur ? { ...cur, owner: 'y' } : null));
      await store.updateJob('missing', () => null); // nothing deleted: no event
      await writer.updateJob('a', () => null);
      await store.updateJob('b', () => job('b'));
      await store.deleteJob('b');
      await store.deleteJob('b'); // nothing to delete: no event
      await assert.rejects(store.updateJob('c', () => {
        throw new Error('rolled back');
      }));
      const expected = ['put a ', 'put a y', 'delete a', 'put b ', 'delete b'];
      assert.deepEqual(await events.waitFor(5), expected);
      // The throwing listener gets every event too, and each throw is reported, not raised.
      assert.deepEqual(await thrown.waitFor(5), expected);
      assert.equal(errors.length, 5);
      assert.ok(errors.every((e) => /listener failed/.test(String(e))));

      unsubscribe();
      unsubscribe(); // idempotent
      await writer.updateJob('c', () => job('c'));
      // The still-subscribed listener sees c after everything else; the unsubscribed one does not.
      assert.deepEqual(await sentinel.waitFor(6), [...expected, 'put c ']);
      assert.deepEqual(events.items, expected);
    });
  }, { onListenerError: (e) => errors.push(e) }));

  void test(t('watchJobs: a listener reading the store sees the write it is told about'), withStore(h, async (store) => {
    const seen = new Collector<[Job | null, Job | null]>();
    store.watchJobs((e) => {
      if (e.type === 'put') void store.getJob(e.job.name).then((j) => seen.push([e.job, j]));
    });
    await store.updateJob('a', () => job('a', { owner: 'z' }));
    const [[told, read] = [null, null]] = await seen.waitFor(1);
    assert.equal(told?.owner, 'z');
    assert.deepEqual(read, told);
  }));
}

/** Stops and restarts the server: registered last, after every other case. */
export function restartCases(h: ContractHarness): void {
  const title = `${h.label}: after a server restart, watches and queues resume and catch up; ones subscribed while it was down start`;
  void test(title, async (ctx: TestContext) => {
    const restart = h.restartServer;
    if (!restart) {
      ctx.skip('no server to restart (restartServer absent)');
      return;
    }
    await withStore(h, async (store) => {
      const writer = h.openPeer ? await h.openPeer(store) : store;
      try {
        await store.updateJob('a', () => job('a'));
        const events = new Collector<string>();
        store.watchJobs((e) => events.push(describeEvent(e)));
        const handled = new Collector<string>();
        store.consumeAssignments?.('n1', (e) => handled.push(e.id));
        // Both subscriptions are live once they deliver something written after them.
        await writer.updateJob('probe', () => job('probe'));
        await events.waitFor(1);
        if (store.consumeAssignments) {
          await writer.dispatchExecutions([running('a', 'before', { node_name: 'n1' })]);
          await handled.waitFor(1);
        }

        const late = new Collector<string>();
        const lateHandled = new Collector<string>();
        await restart(async () => {
          store.watchJobs((e) => late.push(describeEvent(e)));
          store.consumeAssignments?.('n2', (e) => lateHandled.push(e.id));
        });

        await eventually('the store to answer again', () => writer.getJob('a'), 20_000, 100);
        await writer.updateJob('after', () => job('after'));
        await writer.deleteJob('probe');
        assert.deepEqual((await events.waitFor(3, 15_000, 'the job watch to resume')).slice(1), ['put after ', 'delete probe']);
        await eventually('the watch subscribed while down to deliver', async () => late.items.includes('delete probe'), 15_000);
        assert.deepEqual(late.items.slice(-2), ['put after ', 'delete probe']);
        if (store.consumeAssignments) {
          await writer.dispatchExecutions([running('a', 'after-n1', { node_name: 'n1' }), running('a', 'after-n2', { node_name: 'n2' })]);
          assert.deepEqual(await handled.waitFor(2, 15_000, 'the n1 queue to resume'), ['before', 'after-n1']);
          assert.deepEqual(await lateHandled.waitFor(1, 15_000, 'the n2 consumer to start'), ['after-n2']);
        }
      } finally {
        if (writer !== store) await closeStore(h, writer);
      }
    })();
  });
}
