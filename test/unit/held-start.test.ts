/**
 * Held starts (src/executors/spawner/held-start.ts, gates.ts) with real FIFOs and processes: who
 * releases a gate, and what happens when the process asked to release it cannot. The shell
 * executor's cases (shell-executor.test.ts) cover held runs end to end, in-process and through a
 * spawner pool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { canHold, heldArgs, HOLD_SHELL } from '../../src/executors/spawner/held-start.js';
import { holdUntil, type GateRelease, type Ticket } from '../../src/executors/spawner/gates.js';

/** A held `date +%s%3N`: resolves with the time the command printed, or null if it never ran. */
function heldDate(ticket: Ticket): { pid: number; ran: Promise<number | null> } {
  const child = spawn(HOLD_SHELL, heldArgs(ticket.gate, 'date', ['+%s%3N']), { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const ran = once(child, 'close').then(() => {
    ticket.cancel();
    return out.trim() === '' ? null : Number(out.trim());
  });
  return { pid: child.pid ?? 0, ran };
}

void test('a gate whose releaser fails before the instant is released by the agent, on the instant and not before', async () => {
  const at = Date.now() + 400;
  const releasedAt: number[] = [];
  const ticket = holdUntil(at, (t) => releasedAt.push(t), (_path, _at, report) => {
    setTimeout(() => report.failed(), 50);
    return true;
  });
  assert.ok(ticket, 'a gate');
  const run = heldDate(ticket);
  const ran = await run.ran;
  assert.ok(ran !== null && ran >= at, `ran at ${ran}, instant ${at}`);
  assert.equal(releasedAt.length, 1);
  assert.ok((releasedAt[0] ?? 0) >= at);
});

void test('a delegated gate is not released by the agent on the instant; if its releaser then fails, the agent releases it at once', async () => {
  const at = Date.now() + 200;
  let report: GateRelease | null = null;
  const releasedAt: number[] = [];
  const ticket = holdUntil(at, (t) => releasedAt.push(t), (_path, _at, r) => {
    report = r;
    return true;
  });
  assert.ok(ticket);
  const run = heldDate(ticket);
  let done = false;
  void run.ran.then(() => (done = true));
  // Well past the instant, the process still waits: the agent left the release to its releaser.
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(done, false, 'released by the agent although a releaser had it');
  assert.equal(releasedAt.length, 0);
  const failedAt = Date.now();
  (report as GateRelease | null)?.failed();
  const ran = await run.ran;
  assert.ok(ran !== null && ran >= failedAt, `ran at ${ran}, failed at ${failedAt}`);
  assert.equal(releasedAt.length, 1);
});

void test('one gate per instant, its lines written once; it is removed when its processes are done', async () => {
  const at = Date.now() + 500;
  const releasedAt: number[] = [];
  const tickets = Array.from({ length: 5 }, () => holdUntil(at, (t) => releasedAt.push(t)));
  const gates = new Set(tickets.map((t) => t?.gate));
  assert.equal(gates.size, 1);
  const gate = [...gates][0] as string;
  const runs = tickets.map((t) => heldDate(t as Ticket));
  const ran = await Promise.all(runs.map((r) => r.ran));
  for (const r of ran) assert.ok(r !== null && r >= at, `ran at ${r}, instant ${at}`);
  assert.equal(new Set(releasedAt).size, 1, 'one release time');
  assert.equal(existsSync(gate), false, 'the gate is removed once its processes are done');
  // Another instant gets another gate: a line left over can never release it early.
  const later = holdUntil(Date.now() + 60_000, () => undefined);
  assert.ok(later && later.gate !== gate);
  later.cancel();
  assert.equal(existsSync(later.gate), false, 'a gate nobody waits on is removed at once');
});

void test('canHold: only a command that would start is held', () => {
  const env = {};
  assert.equal(canHold({ file: 'date', cwd: undefined, env }, process.env), true);
  assert.equal(canHold({ file: '/bin/sh', cwd: '/', env }, process.env), true);
  assert.equal(canHold({ file: 'nosuchcmd-kairos', cwd: undefined, env }, process.env), false);
  assert.equal(canHold({ file: 'date', cwd: undefined, env: { PATH: '/nonexistent' } }, process.env), false, "the job's own PATH is searched");
  assert.equal(canHold({ file: 'date', cwd: '/no/such/dir', env }, process.env), false);
  assert.equal(canHold({ file: '/etc', cwd: undefined, env }, process.env), false, 'a directory is not a command');
  assert.equal(canHold({ file: 'date', cwd: undefined, env, uid: 1000 }, process.env), false, 'a run that switches user is not held');
});

void test('the gate directory of an agent that is gone (kill -9) is removed by the next agent to hold a run; a live one stays', async () => {
  const dead = spawn('true');
  await once(dead, 'exit');
  const deadDir = mkdtempSync(join(tmpdir(), `kairos-held-${dead.pid}-`));
  writeFileSync(join(deadDir, '0'), '');
  const liveDir = mkdtempSync(join(tmpdir(), `kairos-held-${process.pid}-`));
  try {
    // A fresh process: the sweep runs once, when a process makes its own directory.
    const gates = new URL('../../src/executors/spawner/gates.ts', import.meta.url).pathname;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      const { holdUntil } = await import(${JSON.stringify(gates)});
      const t = holdUntil(Date.now() + 50, () => process.exit(0));
      if (t === null) process.exit(3);
      t.cancel();
      process.exit(0);
    `], { stdio: 'inherit' });
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
    assert.equal(existsSync(deadDir), false, 'the dead agent\'s directory is gone');
    assert.equal(existsSync(liveDir), true, 'a live agent\'s directory stays');
  } finally {
    rmSync(deadDir, { recursive: true, force: true });
    rmSync(liveDir, { recursive: true, force: true });
  }
});
