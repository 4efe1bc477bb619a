/**
 * kill -9 loses nothing that was acknowledged. Each cycle floods the agent
 * with job writes (8 in flight) while an `@every 1s` job runs and a long job
 * is mid-run, SIGKILLs it once 200 writes are acknowledged, restarts it on
 * the same data directory and checks: every 201'd job is there exactly as
 * echoed, every execution the API showed finished is there unchanged, and
 * what was running at the kill is closed as failed ("agent lost").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, eventually, removeDir, startAgent, tempDir, type AgentHandle, finishedRun } from '../helpers/agent.js';
import type { Execution, Job } from '../../src/job/types.js';

const CYCLES = 3;
const ACK_TARGET = 200;
const MAX_REQUESTS = 2000;
const IN_FLIGHT = 8;

/** Counters and `next` move as the job runs; everything else must survive unchanged. */
function definition(job: Job): Record<string, unknown> {
  const {
    success_count: _a,
    error_count: _b,
    last_success: _c,
    last_error: _d,
    status: _e,
    next: _f,
    skip_count: _g,
    last_skip: _h,
    last_skip_reason: _i,
    last_group: _j,
    ...rest
  } = job;
  return rest;
}

async function executions(agent: AgentHandle, name: string): Promise<Execution[]> {
  const res = await api<Execution[]>(agent.url, 'GET', `/v1/jobs/${name}/executions`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

test('SIGKILL under write load loses no acknowledged job or finished execution', async () => {
  const dataDir = tempDir('kairos-crash-');
  /** Every job the API answered 201 for, as echoed. */
  const acked = new Map<string, Job>();
  /** Names ever attempted: anything stored must be one of them. */
  const attempted = new Set<string>();
  /** Executions the API showed as finished, as shown. */
  const finished = new Map<string, Execution>();
  /** Long runs that were running when the agent was killed. */
  const interrupted: { job: string; id: string; pgid: number }[] = [];
  let agent: AgentHandle | undefined;

  const create = async (body: Record<string, unknown>): Promise<Job> => {
    attempted.add(String(body.name));
    const res = await api<Job>((agent as AgentHandle).url, 'POST', '/v1/jobs', body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    acked.set(res.body.name, res.body);
    return res.body;
  };

  try {
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      agent = await startAgent({ dataDir });
      await agent.waitForLog(/Cluster leadership acquired/);
      const a = agent;
      if (cycle > 1) await verify(a, cycle);

      if (cycle === 1) {
        // history_limit: the default 100 could prune executions recorded in earlier cycles.
        await create({
          name: 'tick',
          schedule: '@every 1s',
          executor: 'shell',
          executor_config: { command: 'echo tick' },
          history_limit: 100_000,
        });
      }

      // A run in progress at the kill. `exec` keeps the shell's pid, which is its process group.
      const pidFile = join(dataDir, `hold-${cycle}.pid`);
      const hold = `hold-${cycle}`;
      await create({
        name: hold,
        schedule: '@manually',
        executor: 'shell',
        executor_config: { command: `echo $$ > ${pidFile}; exec sleep 120`, shell: 'true' },
      });
      assert.equal((await api(a.url, 'POST', `/v1/jobs/${hold}/run`)).status, 202);
      const holdExec = await eventually(`${hold} running`, async () => (await executions(a, hold)).find((e) => e.finished_at === null));
      const pgid = await eventually(`${hold} pid file`, async () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) || undefined : undefined));
      interrupted.push({ job: hold, id: holdExec.id, pgid });

      // Some tick executions finished in this cycle before the storm starts.
      const before = finished.size;
      let killed = false;
      const record = async (): Promise<void> => {
        for (const e of await executions(a, 'tick')) {
          if (finishedRun(e) && !finished.has(e.id)) finished.set(e.id, e);
        }
      };
      await eventually('two tick executions finished this cycle', async () => {
        await record();
        return finished.size >= before + 2;
      }, 20_000, 100);

      // Keep recording finished executions during the storm, until the agent dies.
      const poller = (async () => {
        while (!killed) {
          try {
            await record();
          } catch {
            return;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      })();

      let issued = 0;
      let ackedThisCycle = 0;
      const unexpected: string[] = [];
      const worker = async (w: number): Promise<void> => {
        while (!killed && issued < MAX_REQUESTS) {
          const n = issued++;
          const name = `c${cycle}-w${w}-job-${n}`;
          const body = {
            name,
            displayname: `Job ${n} of cycle ${cycle}`,
            schedule: '@manually',
            executor: 'shell',
            executor_config: { command: `echo ${name}`, env: `N=${n},CYCLE=${cycle}` },
            metadata: { cycle: String(cycle), n: String(n) },
            tags: { role: n % 2 ? 'odd' : 'even' },
            retries: n % 4,
            concurrency: n % 3 ? 'allow' : 'forbid',
            owner: 'crash-test',
          };
          attempted.add(name);
          let res;
          try {
            res = await api<Job>(a.url, 'POST', '/v1/jobs', body);
          } catch {
            // The agent is gone (or going): this write's outcome is unknown, which is allowed.
            return;
          }
          if (res.status !== 201) {
            unexpected.push(`${name}: ${res.status} ${JSON.stringify(res.body)}`);
            continue;
          }
          acked.set(name, res.body);
          ackedThisCycle++;
          if (ackedThisCycle >= ACK_TARGET && !killed) {
            killed = true;
            a.proc.kill('SIGKILL');
          }
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
      killed = true;
      assert.deepEqual(unexpected, [], 'every write answered before the kill was a 201');
      assert.ok(ackedThisCycle >= ACK_TARGET, `only ${ackedThisCycle} of ${issued} writes acknowledged`);
      assert.equal(await a.exited, 'SIGKILL');
      await poller;
      // The long run's process group outlives the agent (its own group by design); don't leak it.
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }

    agent = await startAgent({ dataDir });
    await agent.waitForLog(/Cluster leadership acquired/);
    await verify(agent, CYCLES + 1);
    assert.equal(await agent.stop('SIGTERM'), 0);
  } finally {
    if (agent && agent.proc.exitCode === null && agent.proc.signalCode === null) agent.proc.kill('SIGKILL');
    for (const { pgid } of interrupted) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    removeDir(dataDir);
  }

  async function verify(a: AgentHandle, cycle: number): Promise<void> {
    const list = await api<Job[]>(a.url, 'GET', '/v1/jobs');
    assert.equal(list.status, 200);
    const stored = new Map(list.body.map((j) => [j.name, j]));
    let missing = 0;
    for (const [name, job] of acked) {
      const got = stored.get(name);
      if (!got) {
        missing++;
        continue;
      }
      if (name === 'tick' || name.startsWith('hold-')) assert.deepEqual(definition(got), definition(job), name);
      else assert.deepEqual(got, job, `job ${name} is stored exactly as acknowledged`);
    }
    assert.equal(missing, 0, `${missing} of ${acked.size} acknowledged jobs lost (before cycle ${cycle})`);
    for (const name of stored.keys()) assert.ok(attempted.has(name), `unexpected job ${name}`);

    const ticks = new Map((await executions(a, 'tick')).map((e) => [e.id, e]));
    assert.ok(finished.size > 0);
    for (const [id, e] of finished) assert.deepEqual(ticks.get(id), e, `finished execution ${id} kept unchanged`);

    // The run cut off by the last kill, and every earlier one: closed, failed, "agent lost".
    for (const { job, id } of interrupted) {
      const e = (await executions(a, job)).find((x) => x.id === id);
      assert.ok(e, `execution ${job}/${id} kept`);
      assert.ok(finishedRun(e), `${job}/${id} is not left running`);
      assert.equal(e.success, false);
      assert.match(e.output, /agent lost/);
    }
    // No execution from before this restart is still running (a tick may have been mid-run too).
    const busy = await api<Execution[]>(a.url, 'GET', '/v1/busy');
    const restartedAt = Date.parse(/^(\S+)/.exec(a.logs[0] ?? '')?.[1] ?? '');
    assert.ok(Number.isFinite(restartedAt), `first log line has a time: ${a.logs[0]}`);
    const stale = busy.body.filter((e) => Date.parse(e.started_at) < restartedAt);
    assert.deepEqual(stale, [], 'nothing from before the kill is shown running');
  }
});
