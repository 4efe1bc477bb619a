/**
 * Contract cases: API tokens, the audit log, skip records and activity. Tokens are
 * create-only, and an audit entry lands in the same atomic step as the change it
 * records (or not at all when nothing changed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SKIPS_KEPT, type AuditEntry, type SkipRecord, type StoredToken } from '../../src/store/types.js';
import { exec, job, running } from '../helpers/fixtures.js';
import { withStore, type ContractHarness } from './harness.js';

let seq = 0;
function entry(action: string, jobName: string | null): AuditEntry {
  seq++;
  return {
    id: `${String(Date.now()).padStart(15, '0')}-${String(seq).padStart(6, '0')}`,
    at: new Date().toISOString(),
    actor: 'tester',
    action,
    job: jobName,
    before: null,
    after: null,
    detail: null,
  };
}

function token(name: string): StoredToken {
  return { name, role: 'operate', scope: { team: 'data' }, hash: `hash-of-${name}`, created_at: new Date().toISOString(), created_by: 'tester' };
}

function skip(jobName: string, tickMs: number, extra: Partial<SkipRecord> = {}): SkipRecord {
  return {
    id: `${String(tickMs).padStart(15, '0')}-tick`,
    job: jobName,
    scheduled_at: new Date(tickMs).toISOString(),
    until: null,
    count: 1,
    code: 'forbid',
    reason: `tick ${tickMs} skipped`,
    trigger: 'schedule',
    recorded_at: new Date().toISOString(),
    node: 'n1',
    ...extra,
  };
}

export function recordsCases(h: ContractHarness): void {
  const label = h.label;
  void test(`${label}: tokens are create-only and revoked with their audit entry`, withStore(h, async (store) => {
    assert.deepEqual(await store.listTokens(), []);
    assert.equal(await store.createToken(token('ci'), entry('token.create', null)), true);
    assert.equal(await store.createToken({ ...token('ci'), role: 'admin' }, entry('token.create', null)), false, 'a taken name is refused');
    assert.deepEqual((await store.listTokens()).map((t) => [t.name, t.role, t.scope]), [['ci', 'operate', { team: 'data' }]]);
    assert.equal((await store.deleteToken('ci', entry('token.revoke', null)))?.name, 'ci');
    assert.equal(await store.deleteToken('ci', entry('token.revoke', null)), null, 'revoking twice finds nothing');
    const actions = (await store.listAudit()).items.map((e) => e.action);
    assert.deepEqual(actions, ['token.revoke', 'token.create'], 'refused writes leave no audit entry');
  }));

  void test(`${label}: job writes carry their audit entry atomically; no change, no entry`, withStore(h, async (store) => {
    const audit = (action: string) => (before: unknown, after: unknown) => ({ ...entry(action, 'a'), before: before as AuditEntry['before'], after: after as AuditEntry['after'] });
    await store.updateJob('a', () => job('a'), audit('job.create'));
    await store.updateJob('a', (j) => (j ? { ...j, schedule: '@every 2s' } : undefined), audit('job.update'));
    await store.updateJob('a', () => undefined, audit('job.noop'));
    await store.updateJob('b', () => job('b'), () => entry('job.create', 'b'));
    await store.deleteJob('a', audit('job.delete'));
    await store.setSetting('paused', 'true', entry('cluster.pause', null));
    await store.appendAudit(entry('job.run', 'b'));

    const a = await store.listAudit({ job: 'a' });
    assert.deepEqual(a.items.map((e) => e.action), ['job.delete', 'job.update', 'job.create'], 'newest first, no entry for the no-op');
    assert.equal(a.total, 3);
    const update = a.items[1]!;
    assert.equal((update.before as { schedule?: string }).schedule, job('a').schedule);
    assert.equal((update.after as { schedule?: string }).schedule, '@every 2s');
    assert.equal(a.items[0]!.after, null, 'a delete records the job before it');
    assert.equal((a.items[0]!.before as { name?: string }).name, 'a');

    const all = await store.listAudit();
    assert.deepEqual(all.items.map((e) => e.action), ['job.run', 'cluster.pause', 'job.delete', 'job.create', 'job.update', 'job.create']);
    const page = await store.listAudit({ start: 1, end: 3 });
    assert.deepEqual(page.items.map((e) => e.action), ['cluster.pause', 'job.delete']);
    assert.equal(page.total, 6);
    assert.equal((await store.listAudit({ job: 'missing' })).total, 0);
  }));

  void test(`${label}: an updater that throws writes neither the job nor its audit entry`, withStore(h, async (store) => {
    await assert.rejects(
      store.updateJob('x', () => {
        throw new Error('refused');
      }, () => entry('job.create', 'x')),
      /refused/,
    );
    assert.equal(await store.getJob('x'), null);
    assert.equal((await store.listAudit()).total, 0);
  }));

  void test(`${label}: skip records count on the job once each, page newest first, and go with the job`, withStore(h, async (store) => {
    assert.equal(await store.recordSkips('none', [skip('none', 1000)]), null, 'no job, nothing written');
    assert.equal((await store.listSkips('none')).total, 0);
    await store.updateJob('s', () => job('s'));
    const base = Date.parse('2026-11-29T02:00:00Z');
    let stored = await store.recordSkips('s', [skip('s', base), skip('s', base + 1000, { code: 'no_agent', reason: 'no agent' })]);
    assert.equal(stored?.skip_count, 2);
    assert.equal(stored?.last_skip_reason, 'no agent');
    stored = await store.recordSkips('s', [skip('s', base)]);
    assert.equal(stored?.skip_count, 2, 'a known tick is not counted again');
    await store.recordSkips('s', [skip('s', base - 60_000, { until: new Date(base - 1).toISOString(), count: 58, code: 'no_leader' })]);
    assert.equal((await store.getJob('s'))?.skip_count, 60, 'a range record counts its ticks');
    const page = await store.listSkips('s', { start: 0, end: 2 });
    assert.equal(page.total, 3);
    assert.deepEqual(page.items.map((x) => x.code), ['no_agent', 'forbid']);
    assert.deepEqual((await store.listSkips('s', { start: 2 })).items.map((x) => x.count), [58]);
    await store.deleteJob('s');
    await store.updateJob('s', () => job('s'));
    assert.equal((await store.listSkips('s')).total, 0, 'a deleted job takes its skips with it');
  }));

  void test(`${label}: a batch that overlaps stored records writes and counts only its new ones, whichever comes first`, withStore(h, async (store) => {
    // What two leaders recomputing one growing gap write: the same ticks again, plus later ones.
    await store.updateJob('o', () => job('o'));
    const base = Date.parse('2026-11-29T02:00:00Z');
    const tick = (k: number): SkipRecord => skip('o', base + k * 1000, { code: 'no_leader', reason: `gap tick ${k}` });
    assert.equal((await store.recordSkips('o', [tick(1), tick(2)]))?.skip_count, 2);
    // Known first, new after: the new ones are written and counted.
    assert.equal((await store.recordSkips('o', [tick(1), tick(2), tick(3), tick(4)]))?.skip_count, 4);
    // New first, known after: only the new one is counted.
    assert.equal((await store.recordSkips('o', [tick(0), tick(3), tick(4)]))?.skip_count, 5);
    // All known: nothing changes.
    const same = await store.recordSkips('o', [tick(4), tick(0)]);
    assert.equal(same?.skip_count, 5);
    // One id twice in a batch is one record.
    assert.equal((await store.recordSkips('o', [tick(5), tick(5)]))?.skip_count, 6);
    const listed = await store.listSkips('o');
    assert.equal(listed.total, 6);
    assert.deepEqual(listed.items.map((x) => x.reason), [5, 4, 3, 2, 1, 0].map((k) => `gap tick ${k}`));
    assert.equal((await store.getJob('o'))?.skip_count, 6, 'the count is the number of records');
  }));

  void test(`${label}: only the newest ${SKIPS_KEPT} skip records are kept`, withStore(h, async (store) => {
    await store.updateJob('p', () => job('p'));
    const base = Date.parse('2026-01-01T00:00:00Z');
    for (let batch = 0; batch < 11; batch++) {
      await store.recordSkips('p', Array.from({ length: 100 }, (_v, i) => skip('p', base + (batch * 100 + i) * 1000)));
    }
    const all = await store.listSkips('p');
    assert.equal(all.total, SKIPS_KEPT);
    assert.equal(all.items[0]?.scheduled_at, new Date(base + 1099 * 1000).toISOString(), 'the newest is kept');
    assert.equal(all.items.at(-1)?.scheduled_at, new Date(base + 100 * 1000).toISOString(), 'the oldest 100 went');
    assert.equal((await store.getJob('p'))?.skip_count, 1100, 'the count keeps every skip');
  }));

  void test(`${label}: activity counts results and skips per bucket across jobs, newest failures first`, withStore(h, async (store) => {
    const since = Date.now() - 150 * 60_000;
    const t = (min: number): string => new Date(since + min * 60_000).toISOString();
    await store.updateJob('a', () => job('a'));
    await store.updateJob('b', () => job('b'));
    await store.putExecution(exec('a', 'old', { started_at: t(-5), finished_at: t(-4) }));
    await store.putExecution(exec('a', 'ok', { started_at: t(10), finished_at: t(11) }));
    await store.putExecution(exec('a', 'bad-a', { started_at: t(70), finished_at: t(71), success: false, output: 'boom', exit_code: 1 }));
    await store.putExecution(exec('b', 'bad-b', { started_at: t(80), finished_at: t(81), success: false, output: 'boom', exit_code: 2 }));
    await store.putExecution(running('b', 'live', { started_at: t(90) }));
    const tick = (min: number): number => since + min * 60_000;
    await store.recordSkips('a', [skip('a', tick(121)), skip('a', tick(122), { until: t(126), count: 5, code: 'no_leader' })]);
    await store.recordSkips('b', [skip('b', tick(-30))]);

    const all = await store.activity({ since: new Date(since).toISOString(), bucketMs: 3600_000, failures: 10 });
    assert.deepEqual(
      all.buckets.map((b) => [b.t, b.success, b.failed, b.skipped]),
      [
        [t(0), 1, 0, 0],
        [t(60), 0, 2, 0],
        [t(120), 0, 0, 6],
      ],
      'executions by start (running ones and older ones left out), skips by tick with their count',
    );
    assert.deepEqual(all.recentFailures.map((e) => [e.id, e.output, e.exit_code]), [['bad-b', '', 2], ['bad-a', '', 1]], 'newest first, output left out');

    const onlyA = await store.activity({ since: new Date(since).toISOString(), bucketMs: 3600_000, failures: 1, jobs: ['a'] });
    assert.deepEqual(onlyA.buckets.map((b) => [b.success, b.failed, b.skipped]), [[1, 0, 0], [0, 1, 0], [0, 0, 6]], 'a scoped view counts its jobs only');
    assert.deepEqual(onlyA.recentFailures.map((e) => e.id), ['bad-a']);
    const none = await store.activity({ since: new Date(since).toISOString(), bucketMs: 3600_000, failures: 10, jobs: [] });
    assert.equal(none.buckets.reduce((n, b) => n + b.success + b.failed + b.skipped, 0), 0);
    assert.deepEqual(none.recentFailures, []);
  }));
}
