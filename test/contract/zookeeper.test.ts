/**
 * The backend contract on ZooKeeper: one real standalone server for the whole
 * file, a random root znode (keyspace) per store, and backends reached through
 * a proxy each, so a case can cut one off (closing a client would end its
 * session at once: a goodbye, not a crash). ZooKeeper-specific cases follow
 * the shared contract.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ZkStore } from '../../src/backends/zookeeper/zk-store.js';
import * as backendModule from '../../src/backends/zookeeper/index.js';
import { CreateMode } from '../../src/backends/zookeeper/session.js';
import { at, running } from '../helpers/fixtures.js';
import { eventually } from '../helpers/agent.js';
import { backendContract } from './backend-contract.js';
import { quiet, serverHarness } from './proxied-cluster.js';
import { tcpProxy } from './tcp-proxy.js';

const TTL = 2000;

const { harness, servers } = serverHarness({
  backend: 'zookeeper',
  module: backendModule,
  leaseTtlMs: TTL,
  connect: (endpoints, keyspace, options) => ZkStore.connect({ servers: endpoints, keyspace, sessionTimeoutMs: TTL, log: quiet, ...options }),
});
backendContract(harness);

void test('zookeeper: a tick commit fenced by a leader\'s election node is refused once that leader\'s session expired', async () => {
  const keyspace = `t-${randomUUID()}`;
  const endpoints = servers().endpoints;
  const proxy = await tcpProxy(endpoints[0] ?? '');
  const leader = await ZkStore.connect({ servers: [proxy.endpoint], keyspace, sessionTimeoutMs: TTL, log: quiet });
  // Another connection still holding the old fence: a deposed leader that has not noticed yet.
  const stale = await ZkStore.connect({ servers: endpoints, keyspace, sessionTimeoutMs: TTL, log: quiet });
  try {
    const s = leader.session;
    await s.ensure(s.budget(), leader.layout.election);
    // The election node as the cluster makes it: ephemeral sequential, on the leader's session.
    const node = await s.create(s.budget(), 'test', `${leader.layout.election}/n_test_`, Buffer.from('{"name":"old"}'), CreateMode.EPHEMERAL_SEQUENTIAL, false);
    stale.setFence({ path: node });
    assert.equal(await stale.commitTick('job', at(60), [running('job', 'while-leading')]), true);
    await proxy.sever();
    const cut = Date.now();
    await eventually('the election node to go with the expired session', async () => ((await stale.session.exists(stale.session.budget(), 'test', node)) === null ? true : undefined), TTL * 3 + 5000);
    const expiredAfter = Date.now() - cut;
    assert.equal(await stale.commitTick('job', at(120), [running('job', 'after-expiry')]), false, 'the fence refuses');
    // A fan-in window is committed by any agent, each tick once: its own version check.
    stale.setFence('none');
    assert.equal(await stale.commitTick('window', at(60), [running('window', 'w1')], { unfenced: true }), true);
    assert.equal(await stale.commitTick('window', at(60), [running('window', 'w2')], { unfenced: true }), false);
    assert.equal(await stale.getLastTick('job'), at(60), 'nothing written');
    assert.equal(await stale.getExecution('job', 'after-expiry'), null);
    assert.deepEqual(await stale.listRunning('job').then((r) => r.map((e) => e.id)), ['while-leading']);
    process.stdout.write(`# zookeeper: the leader's election node went ${expiredAfter} ms after the cut (session timeout ${TTL} ms)\n`);
  } finally {
    await leader.close();
    await stale.close();
    await proxy.sever();
  }
});
