/**
 * Placement knows executors: a job is saved only if an agent its tags select has its executor
 * and processors, and a tick finds targets only among such agents (src/core/placement.ts,
 * src/cluster/targets.ts). Agents older than plugins don't advertise and are assumed able.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Placement } from '../../src/core/placement.js';
import { ExecutorRegistry } from '../../src/executors/registry.js';
import { ShellExecutor } from '../../src/executors/shell.js';
import { ProcessorRegistry } from '../../src/processors/registry.js';
import { selectTargets } from '../../src/cluster/targets.js';
import type { Member } from '../../src/cluster/types.js';

function member(name: string, tags: Record<string, string>, executors?: string[], processors?: string[]): Member {
  return {
    Name: name, Addr: '127.0.0.1', Port: 1, Tags: tags, Status: 1, statusText: 'alive', server: true, version: 'x', running: 0, load: 0,
    ...(executors ? { executors } : {}),
    ...(processors ? { processors } : {}),
  };
}

const executors = new ExecutorRegistry();
executors.register(new ShellExecutor());
const processors = new ProcessorRegistry();
const a = member('a', { role: 'web' }, ['shell', 'http'], ['log']);
const b = member('b', { role: 'db' }, ['shell'], []);
const placement = new Placement(executors, processors, async () => [a, b], () => a);

const job = (over: Partial<{ tags: Record<string, string> | null; executor: string; processors: Record<string, Record<string, string>> }>) => ({
  tags: null, executor: 'shell', processors: {}, ...over,
});

void test('a job runs where its tags select an agent that has its executor', async () => {
  const check = await placement.placement();
  assert.equal(check(job({ executor: 'http', tags: { role: 'web' } })), null);
  assert.equal(check(job({ executor: 'http' })), null, 'untagged: any agent with it will do');
  const refused = check(job({ executor: 'http', tags: { role: 'db' } }));
  assert.equal(refused?.field, 'executor');
  assert.match(refused?.message ?? '', /no agent matching the job's tags \(role=db\) has executor "http"; agents with it: a/);
});

void test('an executor no agent has is unknown, naming what this agent offers', async () => {
  const refused = (await placement.placement())(job({ executor: 'teleport' }));
  assert.equal(refused?.field, 'executor');
  assert.match(refused?.message ?? '', /^unknown executor "teleport": no agent has it \(executors here: shell\)/);
});

void test('processors are placed like executors, each named in the field', async () => {
  const check = await placement.placement();
  assert.equal(check(job({ processors: { log: {} }, tags: { role: 'web' } })), null);
  const refused = check(job({ processors: { log: {} }, tags: { role: 'db' } }));
  assert.equal(refused?.field, 'processors.log');
  assert.match(refused?.message ?? '', /has processor "log"; agents with it: a/);
  assert.equal(check(job({ processors: { fluentx: {} } }))?.field, 'processors.fluentx');
});

void test('a job whose tags match no agent yet is judged against every agent', async () => {
  const check = await placement.placement();
  assert.equal(check(job({ executor: 'http', tags: { role: 'future' } })), null);
  assert.equal(check(job({ executor: 'teleport', tags: { role: 'future' } }))?.field, 'executor');
});

void test('agents that do not advertise (older versions) are assumed to have everything', async () => {
  const old = member('old', {});
  const p = new Placement(executors, processors, async () => [old], () => old);
  assert.equal((await p.placement())(job({ executor: 'anything', processors: { x: {} } })), null);
});

void test('a backend outage falls back to this agent alone', async () => {
  const p = new Placement(executors, processors, () => Promise.reject(new Error('etcd away')), () => a);
  const check = await p.placement();
  assert.equal(check(job({ executor: 'http' })), null);
  assert.equal(check(job({ executor: 'nats' }))?.field, 'executor');
});

void test('config is validated here for executors this agent has; unknown ones wait for placement', () => {
  assert.equal(placement.validate('shell', {})?.field, 'executor_config.command');
  assert.equal(placement.validate('only-elsewhere', { any: 'thing' }), null);
});

void test('targets are chosen only among agents that have the executor and processors', () => {
  const c = member('c', { role: 'web' }, ['shell'], ['log']);
  const needs = { executor: 'http', processors: ['log'] };
  assert.deepEqual(selectTargets({ role: 'web' }, [a, b, c], Math.random, needs).map((m) => m.Name), ['a']);
  assert.deepEqual(selectTargets({ role: 'web' }, [a, b, c], Math.random, { executor: 'shell', processors: [] }).map((m) => m.Name).sort(), ['a', 'c']);
  assert.deepEqual(selectTargets({ role: 'db' }, [a, b, c], Math.random, needs), []);
});
