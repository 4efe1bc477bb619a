/**
 * The agent's bookkeeping around the scheduler and the runner, in process,
 * with a real embedded store wrapped to inject store errors at chosen calls.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, type AgentTuning } from '../../src/agent/agent.js';
import { resolveConfig } from '../../src/agent/config.js';
import { silentLogger } from '../../src/util/log.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { faulty, outage, type FaultRule } from '../helpers/faulty-store.js';

function config(extra: Record<string, string | boolean> = {}): ReturnType<typeof resolveConfig> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-agent-'));
  return resolveConfig({ server: true, 'node-name': 'a1', 'http-addr': '127.0.0.1:0', 'data-dir': dataDir, ...extra }, {});
}

async function withAgent(
  rule: FaultRule | undefined,
  fn: (agent: Agent, f: ReturnType<typeof faulty<Store>>) => Promise<void>,
  extra: Record<string, string | boolean> = {},
  tuning: AgentTuning = {},
): Promise<void> {
  const f = faulty<Store>(SqliteStore.open(':memory:'), rule);
  const agent = new Agent(config(extra), silentLogger(), f.store, tuning);
  await agent.start();
  try {
    await fn(agent, f);
  } finally {
    f.setRule(undefined);
    await agent.stop();
  }
}

/** Waits until `check` holds, re-checking every 20 ms (bounded: a failure names what never happened). */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const shellJob = (name: string, command: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  schedule: '@every 1h',
  executor: 'shell',
  executor_config: { command, shell: 'true' },
  ...extra,
});

void test('a job whose last tick could not be read is scheduled once the store answers (not left out until edited)', async () => {
  let failures = 0;
  await withAgent(
    (method, args) => {
      if (method === 'getLastTick' && args[0] === 'hourly' && failures < 2) {
        failures++;
        return outage('getLastTick');
      }
      return undefined;
    },
    async (agent) => {
      await until('the scheduler to run', () => agent.scheduler.isRunning);
      await agent.jobs.upsert(shellJob('hourly', 'true'));
      await until('a failed read', () => failures >= 1);
      await until('the job to be scheduled', () => agent.scheduler.has('hourly'));
    },
  );
});

void test('a tick whose dispatch keeps failing is retried while this agent leads, not dropped after a few attempts', async () => {
  const at = new Date(Date.now() + 1500).toISOString();
  let failures = 0;
  await withAgent(
    (method, args) => {
      if (method === 'commitTick' && args[0] === 'once' && failures < 12) {
        failures++;
        return outage('commitTick');
      }
      return undefined;
    },
    async (agent, f) => {
      await until('the scheduler to run', () => agent.scheduler.isRunning);
      await agent.jobs.upsert(shellJob('once', 'echo ran', { schedule: `@at ${at}` }));
      await until('the dispatch to fail 12 times', () => failures === 12);
      await until('the tick to run', async () => {
        const { items } = await f.store.listExecutions('once');
        return items.some((e) => e.scheduled_at === at && e.finished_at !== null && e.output === 'ran\n');
      });
      assert.equal(await f.store.getLastTick('once'), at);
    },
    {},
    { dispatchRetryMs: { initial: 5, max: 20 } },
  );
});
