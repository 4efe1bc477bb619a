/**
 * Network partitions between agents and etcd, with real network namespaces.
 * Each agent runs in its own namespace, reaching etcd (root namespace) over a
 * veth pair; cutting an agent off is `ip link set <root-side veth> down`,
 * healing is `up` (test/helpers/netns.ts). Three servers and one worker.
 *
 * (a) The LEADER is cut off while an `@every 1s` job (catch_up "all") runs on
 *     the worker: the old leader steps down on its own before another agent
 *     takes over, the new leader catches up, and after healing the old leader
 *     rejoins as a follower and ticks go on. Every tick of the window ran
 *     exactly once (as in chaos.test.ts).
 * (b) The WORKER is cut off mid-run (a pinned `sleep 3`): after healing, its
 *     execution is recorded once, either its real result or "agent lost",
 *     never both, and the job's success and error counters add up to one.
 *
 * Skipped, loudly, where namespaces can't be made (not root, no iproute2).
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { eventually, removeDir, startAgent, tempDir, type AgentHandle } from '../helpers/agent.js';
import { randomKeyspace } from '../helpers/cluster.js';
import { createNetLab, netnsUnavailable, startEtcdOn, type NetEtcd, type NetLab, type NetNode } from '../helpers/netns.js';
import type { Execution, Job } from '../../src/job/types.js';
import { assertEveryTickOnce, tickerJob, ticksIn } from '../helpers/ticks.js';

const unavailable = netnsUnavailable();
if (unavailable) process.stderr.write(`\n*** SKIPPING partition tests: ${unavailable} ***\n\n`);

interface Agent {
  name: string;
  node: NetNode;
  handle: AgentHandle;
}

let lab: NetLab | undefined;
let etcd: NetEtcd | undefined;
const agents = new Map<string, Agent>();
const dir = tempDir('kairos-partition-');
const keyspace = randomKeyspace();
const SERVERS = ['s1', 's2', 's3'];

/** api() with a deadline: a request to a cut-off agent would otherwise hang for minutes. */
async function call<T = unknown>(a: Agent, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${a.handle.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(3000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // text
  }
  return { status: res.status, body: parsed as T };
}

/** The first log line matching `re` from index `from` on, waiting up to `timeoutMs`. */
async function logAfter(a: Agent, from: number, re: RegExp, timeoutMs = 20_000): Promise<string> {
  return eventually(`${a.name} to log ${re}`, async () => a.handle.logs.slice(from).find((l) => re.test(l)), timeoutMs, 50);
}

const logTime = (line: string): number => Date.parse(line.slice(0, line.indexOf(' ')));

/** The leader every given agent agrees on (other than `not`). */
async function agreed(list: Agent[], timeoutMs = 20_000, not?: string): Promise<string> {
  return eventually(`${list.map((a) => a.name).join(',')} to agree on a leader${not ? ` other than ${not}` : ''}`, async () => {
    const names = await Promise.all(list.map(async (a) => {
      const r = await call<{ Name?: string }>(a, 'GET', '/v1/leader');
      return r.status === 200 ? r.body.Name : undefined;
    }));
    return names[0] && names[0] !== not && names.every((n) => n === names[0]) ? names[0] : undefined;
  }, timeoutMs, 100);
}

/** Heal whatever a failed test left cut off. */
function healAll(): void {
  for (const node of lab?.nodes ?? []) if (node.isCut()) node.heal();
}

before(async () => {
  if (unavailable) return;
  lab = createNetLab(4);
  etcd = await startEtcdOn(lab.nodes);
  const names = [...SERVERS, 'worker'];
  // allSettled: every agent that does start is registered before `after` runs, even if another fails.
  const started = await Promise.allSettled(names.map(async (name, i) => {
    const node = lab!.nodes[i] as NetNode;
    const handle = await startAgent({
      prefix: node.prefix,
      host: node.innerAddr,
      server: name !== 'worker',
      dataDir: join(dir, name),
      args: [
        '--backend', 'etcd',
        '--backend-machine', etcd!.endpointFor(node),
        '--keyspace', keyspace,
        '--node-name', name,
        '--lease-ttl', '2s',
        '--retry-backoff', '100ms',
        ...(name === 'worker' ? ['--tag', 'role=worker'] : []),
      ],
    });
    agents.set(name, { name, node, handle });
  }));
  for (const r of started) if (r.status === 'rejected') throw r.reason;
});

after(async () => {
  try {
    healAll();
  } catch {
    // removed below anyway
  }
  await Promise.all([...agents.values()].map((a) => a.handle.stop('SIGKILL', 10_000).catch(() => undefined)));
  await etcd?.stop();
  lab?.remove();
  removeDir(dir);
});

describe('network partition', { skip: unavailable ?? false }, () => {
  afterEach(() => healAll());

  test('leader cut off: it steps down, another takes over, it rejoins as follower; every tick exactly once', async (t) => {
    const servers = SERVERS.map((n) => agents.get(n) as Agent);
    const worker = agents.get('worker') as Agent;
    const leaderName = await agreed([...servers, worker]);
    const file = join(dir, 'ticks.log');
    const created = await call(worker, 'POST', '/v1/jobs', tickerJob(file));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await eventually('the first ticks', async () => ticksIn(file).length >= 3, 20_000);

    const old = agents.get(leaderName) as Agent;
    const others = servers.filter((a) => a !== old);
    const marks = new Map([...agents.values()].map((a) => [a.name, a.handle.logs.length]));
    const cutAt = Date.now();
    old.node.cut();

    const lostLine = await logAfter(old, marks.get(old.name) as number, /Cluster leadership lost/, 15_000);
    const newLeader = await agreed([...others, worker], 20_000, leaderName);
    assert.notEqual(newLeader, leaderName);
    const acquiredLine = await logAfter(agents.get(newLeader) as Agent, marks.get(newLeader) as number, /Cluster leadership acquired/, 5000);
    assert.ok(
      logTime(lostLine) <= logTime(acquiredLine),
      `the cut-off leader stepped down (${lostLine.slice(0, 24)}) before ${newLeader} took over (${acquiredLine.slice(0, 24)})`,
    );
    await eventually('a dispatch by the new leader', async () => ticksIn(file).some((x) => x > cutAt), 30_000, 50);
    assert.equal(old.handle.proc.exitCode, null, 'the cut-off agent keeps running');

    const healMark = old.handle.logs.length;
    const healAt = Date.now();
    old.node.heal();
    await logAfter(old, healMark, /cluster: joined as a member/, 60_000);
    await eventually(`${old.name} to answer as a follower`, async () => (await call(old, 'GET', '/v1/isleader')).status === 404, 20_000);
    assert.equal(await agreed([...servers, worker]), newLeader, 'the old leader follows the new one');
    const members = await call<{ Name: string }[]>(old, 'GET', '/v1/members');
    assert.deepEqual(members.body.map((m) => m.Name).sort(), [...SERVERS, 'worker'].sort());
    assert.ok(
      !old.handle.logs.slice(marks.get(old.name)).some((l) => /Cluster leadership acquired/.test(l)),
      'the old leader did not lead again',
    );
    await eventually('ticks after healing', async () => ticksIn(file).some((x) => x > healAt + 1000), 30_000, 50);

    // Freeze the window (as chaos.test.ts): ticks up to now, then disable and wait for the last run.
    const settledUntil = Date.now();
    await eventually('ticks up to the end of the window', async () => {
      const ts = ticksIn(file);
      return ts.length > 0 && Math.max(...ts) >= settledUntil;
    }, 30_000);
    assert.equal((await call(worker, 'POST', '/v1/jobs/ticker/toggle')).status, 200);
    await eventually('no ticker execution running', async () => {
      const r = await call<Execution[]>(worker, 'GET', '/v1/busy');
      return r.body.every((e) => e.job_name !== 'ticker');
    });

    const sorted = assertEveryTickOnce(ticksIn(file));
    t.diagnostic(`ticks checked: ${sorted.length}; old leader ${leaderName}, new leader ${newLeader}`);
  });

  // A late result must not overwrite "agent lost" (found by this test: both were once counted).
  test('worker cut off mid-run: its execution is recorded once, real result or "agent lost", never both', async (t) => {
    const servers = SERVERS.map((n) => agents.get(n) as Agent);
    const worker = agents.get('worker') as Agent;
    const leaderName = await agreed([...servers, worker]);
    const leader = agents.get(leaderName) as Agent;
    const created = await call(leader, 'POST', '/v1/jobs', {
      name: 'pinned',
      schedule: '@manually',
      tags: { role: 'worker' },
      executor: 'shell',
      executor_config: { command: 'sleep 3; echo finished-run', shell: 'true' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await call(leader, 'POST', '/v1/jobs/pinned/run')).status, 202);
    await eventually('pinned running on the worker', async () => {
      const r = await call<Execution[]>(worker, 'GET', '/v1/busy');
      return r.body.some((e) => e.job_name === 'pinned');
    }, 20_000, 50);

    const leaderMark = leader.handle.logs.length;
    const workerMark = worker.handle.logs.length;
    worker.node.cut();
    // The leader sees the lease expire and closes the run; the worker finishes it and can't record it.
    await logAfter(leader, leaderMark, /executions of a lost agent recorded as failed/, 20_000);
    await logAfter(worker, workerMark, /store write failed; retrying/, 20_000);
    const seenWhileCut = (await call<Execution[]>(leader, 'GET', '/v1/jobs/pinned/executions')).body;
    t.diagnostic(`while cut: ${JSON.stringify(seenWhileCut.map((e) => ({ success: e.success, finished: e.finished_at !== null, output: e.output })))}`);

    const healMark = worker.handle.logs.length;
    worker.node.heal();
    // The late result either lands ("write completed") or is refused because the run was closed meanwhile.
    await logAfter(worker, healMark, /store reachable again; write completed|late result refused/, 60_000);
    await logAfter(worker, healMark, /cluster: joined as a member/, 60_000);
    await eventually('the worker idle', async () => (await call<Execution[]>(worker, 'GET', '/v1/busy')).body.length === 0, 20_000);

    const execs = (await call<Execution[]>(leader, 'GET', '/v1/jobs/pinned/executions')).body;
    const job = (await call<Job>(leader, 'GET', '/v1/jobs/pinned')).body;
    t.diagnostic(`after healing: ${JSON.stringify(execs.map((e) => ({ success: e.success, output: e.output })))}; success_count ${job.success_count}, error_count ${job.error_count}, status ${job.status}`);
    assert.equal(execs.length, 1, 'one execution record');
    const e = execs[0] as Execution;
    assert.notEqual(e.finished_at, null, 'closed');
    const real = /finished-run/.test(e.output);
    const lost = /agent lost/.test(e.output);
    assert.ok(real !== lost, `either the real result or "agent lost", not both nor neither: ${JSON.stringify(e.output)}`);
    assert.equal(e.success, real, 'success matches the recorded outcome');
    assert.equal(job.success_count + job.error_count, 1, `the run is counted once (success ${job.success_count}, error ${job.error_count})`);
    assert.equal(real ? job.success_count : job.error_count, 1, 'the counter matches the recorded outcome');
  });
});
