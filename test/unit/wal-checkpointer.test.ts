/** The embedded store's WAL checkpoints on their own thread, and SQLite's own when that thread fails. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/backends/embedded/sqlite-store.js';
import { WalCheckpointer } from '../../src/backends/embedded/wal-checkpointer.js';
import type { Job } from '../../src/job/types.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'kairos-ckpt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const autocheckpoint = (db: Database.Database): number => db.pragma('wal_autocheckpoint', { simple: true }) as number;

test('commits are checkpointed by the thread, not on commit; close leaves no WAL behind', async (t) => {
  const file = join(tempDir(t), 'kairos.db');
  const store = SqliteStore.open(file, { checkpointThread: { startAfterMs: 0, intervalMs: 20 } });
  // Closed here too when an assertion fails first (close is idempotent).
  t.after(() => store.close());
  const db = (store as unknown as { db: Database.Database }).db;
  const checkpointer = store.checkpointer;
  assert.ok(checkpointer);
  // The thread says it runs before the connection stops checkpointing on commit.
  for (let i = 0; i < 200 && autocheckpoint(db) !== 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(autocheckpoint(db), 0);

  await store.putJobs(Array.from({ length: 500 }, (_, i) => ({ name: `job-${i}`, schedule: '@every 1h', body: 'x'.repeat(500) }) as unknown as Job));
  // The thread checkpoints after each commit it sees. One it finishes may have started before the
  // rows were committed, so each round commits once more and waits for the checkpoint after it.
  for (let round = 0; round < 5 && statSync(file).size <= 500 * 500; round++) {
    const checkpointed: Promise<boolean> = checkpointer.nextCheckpoint();
    await store.setSetting('round', String(round));
    assert.equal(await checkpointed, true);
  }
  // The rows are in the database file itself: copied there from the WAL by the thread.
  assert.ok(statSync(file).size > 500 * 500, `database file holds the rows (${statSync(file).size} bytes)`);

  await store.close();
  assert.equal(existsSync(`${file}-wal`), false, 'the last connection to close removes the WAL');
  const reopened = new Database(file, { readonly: true });
  assert.equal(reopened.prepare('SELECT count(*) FROM jobs').pluck().get(), 500);
  reopened.close();
});

test('a checkpoint thread that cannot start hands checkpoints back to SQLite and says so', async (t) => {
  const db = new Database(join(tempDir(t), 'kairos.db'));
  db.pragma('journal_mode = WAL');
  t.after(() => db.close());
  const problems: string[] = [];
  const gone = new Promise<void>((resolve) => {
    const checkpointer = new WalCheckpointer(join(tempDir(t), 'missing', 'kairos.db'), db, {
      startAfterMs: 0,
      onProblem: (message) => {
        problems.push(message);
        resolve();
      },
    });
    t.after(() => checkpointer.stop());
  });
  await gone;
  assert.match(problems[0] ?? '', /checkpoint thread failed: .*SQLite checkpoints on commit again/);
  assert.equal(autocheckpoint(db), 1000);
});
