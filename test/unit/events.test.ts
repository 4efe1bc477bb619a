import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../src/events/bus.js';
import { timedStore } from '../../src/events/timed-store.js';
import type { Store } from '../../src/store/types.js';

test('subscribers receive events in order; unsubscribe stops delivery', () => {
  const bus = new EventBus();
  const seen: string[] = [];
  const off = bus.on('member.joined', (e) => seen.push(`a:${e.name}`));
  bus.on('member.joined', (e) => seen.push(`b:${e.name}`));
  bus.publish('member.joined', { name: 'n1' });
  off();
  bus.publish('member.joined', { name: 'n2' });
  assert.deepEqual(seen, ['a:n1', 'b:n1', 'b:n2']);
});

test('a throwing or rejecting subscriber is logged and never reaches the publisher', async () => {
  const errors: string[] = [];
  const bus = new EventBus({ error: (obj) => errors.push(String((obj as { err: string }).err)) });
  const seen: string[] = [];
  bus.on('leadership.acquired', () => {
    throw new Error('boom');
  });
  bus.on('leadership.acquired', () => Promise.reject(new Error('later')) as unknown as void);
  bus.on('leadership.acquired', (e) => seen.push(e.node));
  assert.doesNotThrow(() => bus.publish('leadership.acquired', { node: 'x' }));
  assert.deepEqual(seen, ['x']);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(errors, ['boom', 'later']);
  assert.equal(bus.subscriberErrors, 2);
});

test('publish does not wait for a slow subscriber', () => {
  const bus = new EventBus();
  let finished = false;
  bus.on('store.call', async () => {
    await new Promise((r) => setTimeout(r, 50));
    finished = true;
  });
  bus.publish('store.call', { op: 'x', ms: 1, ok: true });
  assert.equal(finished, false);
});

test('the timed store publishes one store.call per call, with the real store as this', async () => {
  const bus = new EventBus();
  const calls: { op: string; ok: boolean }[] = [];
  bus.on('store.call', (e) => calls.push({ op: e.op, ok: e.ok }));
  class Fake {
    readonly routesExecutions = false;
    #secret = 41;
    async getJob(): Promise<null> {
      this.#secret++;
      return null;
    }
    async countJobs(): Promise<number> {
      throw new Error(`down ${this.#secret}`);
    }
  }
  const store = timedStore(new Fake() as unknown as Store, bus);
  assert.equal(store.routesExecutions, false);
  assert.equal(await store.getJob('x'), null);
  await assert.rejects(store.countJobs(), /down 42/);
  assert.deepEqual(calls, [
    { op: 'getJob', ok: true },
    { op: 'countJobs', ok: false },
  ]);
});
