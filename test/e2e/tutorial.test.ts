/**
 * The dkron tutorial (../shared/docs/tutorial.md), step by step, against the
 * real `kairos` binary with its embedded store and the real Debian cowsay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, eventually, removeDir, startAgent, tempDir } from '../helpers/agent.js';
import type { Execution, Job } from '../../src/job/types.js';

const COW_JOB = {
  name: 'say-hello-with-cow',
  schedule: '@every 10s',
  command: "cowsay 'hello'",
  shell: true,
  concurrency: 'allow',
};

/** Waits for a finished execution of the cow job on the agent at `base`. */
function finishedRun(base: string, what: string): Promise<Execution> {
  return eventually(what, async () => {
    const r = await api<Execution[]>(base, 'GET', `/v1/jobs/${COW_JOB.name}/executions`);
    return r.body.find((e) => e.finished_at !== null);
  }, 30_000, 250);
}

test('dkron tutorial: run, tag, Ctrl-C, restart, recover', async () => {
  const dataDir = tempDir();
  try {
    // Step 1: one command, no backend flags.
    let agent = await startAgent({ dataDir });
    await agent.waitForLog(/Cluster leadership acquired/);

    // Step 2: empty list, POST the legacy-format job, executions show cowsay's output.
    const empty = await api<unknown[]>(agent.url, 'GET', '/v1/jobs');
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body, []);
    assert.equal(empty.headers.get('x-total-count'), '0');

    const created = await api<Job>(agent.url, 'POST', '/v1/jobs', COW_JOB);
    assert.equal(created.status, 201);
    assert.equal(created.body.executor, 'shell');
    assert.equal(created.body.executor_config?.command, "cowsay 'hello'");
    assert.equal(created.headers.get('location'), '/v1/jobs/say-hello-with-cow');
    assert.ok(created.body.next, 'next run is shown');

    const firstRun = await finishedRun(agent.url, 'a finished cowsay execution');
    assert.equal(firstRun.success, true, firstRun.output);
    assert.match(firstRun.output, /< hello >/);
    assert.match(firstRun.output, /\(oo\)/);
    assert.equal(firstRun.node_name, 'test-node');

    // Step 3: delete, re-post with tags; an untagged agent doesn't run it and says why.
    const del = await api(agent.url, 'DELETE', '/v1/jobs/say-hello-with-cow');
    assert.equal(del.status, 200);
    assert.equal((await api(agent.url, 'GET', '/v1/jobs/say-hello-with-cow')).status, 404);

    const tagged = await api<Job>(agent.url, 'POST', '/v1/jobs', { ...COW_JOB, tags: { target: 'cow' } });
    assert.equal(tagged.status, 201);
    const skipped = await eventually('the tick to be skipped for lack of a matching agent', async () => {
      const r = await api<Job>(agent.url, 'GET', '/v1/jobs/say-hello-with-cow');
      return r.body.skip_count > 0 ? r.body : undefined;
    }, 30_000, 250);
    assert.match(skipped.last_skip_reason, /no agent matches the job's tags \(target=cow\)/);
    const none = await api<Execution[]>(agent.url, 'GET', '/v1/jobs/say-hello-with-cow/executions');
    assert.deepEqual(none.body, [], 'execution history stays empty');

    // Step 4: Ctrl-C is graceful.
    const code = await agent.stop('SIGINT');
    assert.equal(code, 0);
    assert.ok(agent.logs.some((l) => /agent: Gracefully shutting down agent/.test(l)));

    // Restart with the tag (dkron's single-dash spelling): leadership, and the kept job runs here.
    agent = await startAgent({ dataDir, args: ['-tag', 'target=cow'] });
    await agent.waitForLog(/Running for election/);
    await agent.waitForLog(/Cluster leadership acquired/);
    const kept = await api<Job>(agent.url, 'GET', '/v1/jobs/say-hello-with-cow');
    assert.equal(kept.status, 200);
    const taggedRun = await finishedRun(agent.url, 'the tagged job to run on the tagged agent');
    assert.equal(taggedRun.success, true, taggedRun.output);
    assert.match(taggedRun.output, /< hello >/);
    assert.equal(await agent.stop('SIGINT'), 0);
  } finally {
    removeDir(dataDir);
  }
});
