/**
 * The embedded store's record of ticks that did not run. Statements run on the
 * store's connection, inside its transactions (the job's counters change with them).
 */
import type Database from 'better-sqlite3';
import { SKIPS_KEPT, type Page, type SkipRecord } from '../../store/types.js';

/** Schema version 3: skip records. */
export const SKIPS_MIGRATION = `
  CREATE TABLE IF NOT EXISTS skips (
    job TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (job, id)
  );
`;

/** A deleted job's skips (the bulk writer thread deletes them too). */
export const DELETE_JOB_SKIPS_SQL = 'DELETE FROM skips WHERE job = ?';

export class SqliteSkips {
  private readonly st: Record<'insert' | 'count' | 'page' | 'prune' | 'deleteJob', Database.Statement>;

  constructor(db: Database.Database) {
    this.st = {
      insert: db.prepare('INSERT INTO skips (job, id, body) VALUES (?, ?, ?) ON CONFLICT (job, id) DO NOTHING'),
      count: db.prepare('SELECT count(*) FROM skips WHERE job = ?').pluck(),
      page: db.prepare('SELECT body FROM skips WHERE job = ? ORDER BY id DESC LIMIT ? OFFSET ?').pluck(),
      prune: db.prepare('DELETE FROM skips WHERE job = ? AND id < (SELECT id FROM skips WHERE job = ? ORDER BY id DESC LIMIT 1 OFFSET ?)'),
      deleteJob: db.prepare(DELETE_JOB_SKIPS_SQL),
    };
  }

  /** Inside a transaction. Returns the records that were new (a known id is not written again). */
  write(jobName: string, skips: readonly SkipRecord[]): SkipRecord[] {
    const added = skips.filter((s) => this.st.insert.run(jobName, s.id, JSON.stringify(s)).changes > 0);
    if (added.length > 0) this.st.prune.run(jobName, jobName, SKIPS_KEPT - 1);
    return added;
  }

  /** Inside the job's delete transaction. */
  deleteJob(jobName: string): void {
    this.st.deleteJob.run(jobName);
  }

  list(jobName: string, page: { start?: number; end?: number }): Page<SkipRecord> {
    const total = Number(this.st.count.get(jobName));
    const start = Math.max(0, page.start ?? 0);
    const end = Math.min(total, page.end ?? total);
    if (end <= start) return { items: [], total };
    const rows = this.st.page.all(jobName, end - start, start) as string[];
    return { items: rows.map((b) => JSON.parse(b) as SkipRecord), total };
  }
}
