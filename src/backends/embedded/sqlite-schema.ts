/**
 * The embedded store's schema: the migrations from one version to the next, and opening a file
 * (WAL, synchronous FULL, foreign keys) brought up to the current version.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { TIMING_FIELDS } from '../../job/types.js';
import { ADMIN_MIGRATION } from './sqlite-admin.js';
import { SKIPS_MIGRATION } from './sqlite-skips.js';
import { ACTIVITY_MIGRATION } from './sqlite-activity.js';

/** Bump together with a new entry in MIGRATIONS. */
export const SCHEMA_VERSION = 6;

/**
 * MIGRATIONS[n] upgrades a database from user_version n to n + 1. Statements
 * use IF NOT EXISTS so a half-created schema from an older build still opens.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY NOT NULL,
    body TEXT NOT NULL
  );
  -- started_at/finished_at hold epoch milliseconds, not the RFC 3339 text:
  -- clients may send offsets or nanosecond fractions, which do not sort as strings.
  -- The original strings stay in body.
  CREATE TABLE IF NOT EXISTS executions (
    job_name TEXT NOT NULL,
    id TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    grp INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (job_name, id)
  );
  CREATE INDEX IF NOT EXISTS executions_by_started ON executions (job_name, started_at, id);
  -- Matches the ORDER BY expression of the finished_at sort so paging stays an index walk;
  -- running executions (NULL) sort as the newest.
  CREATE INDEX IF NOT EXISTS executions_by_finished
    ON executions (job_name, coalesce(finished_at, 9000000000000000), id);
  CREATE INDEX IF NOT EXISTS executions_by_attempt ON executions (job_name, attempt, id);
  -- The group and running indexes carry the ORDER BY columns too: with matching
  -- (job_name, ...) prefixes elsewhere, the planner otherwise picks an index that
  -- walks a job's whole history.
  CREATE INDEX IF NOT EXISTS executions_by_group ON executions (job_name, grp, attempt, started_at, id);
  CREATE INDEX IF NOT EXISTS executions_running ON executions (job_name, started_at, id)
    WHERE finished_at IS NULL;
  CREATE TABLE IF NOT EXISTS ticks (
    job_name TEXT PRIMARY KEY NOT NULL,
    last_tick TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
  );
  `,
  ADMIN_MIGRATION,
  SKIPS_MIGRATION,
  // Dependents still to run for a successful group, written with the result that finished it.
  `
  CREATE TABLE IF NOT EXISTS followups (
    job_name TEXT NOT NULL,
    grp INTEGER NOT NULL,
    node_name TEXT NOT NULL,
    children TEXT NOT NULL,
    PRIMARY KEY (job_name, grp)
  );
  `,
  ACTIVITY_MIGRATION,
  // The fields that decide when a job fires, beside the body: the leader loads a million jobs'
  // schedules without parsing a million whole definitions (Store.listJobTimingsAfter).
  `
  ALTER TABLE jobs ADD COLUMN timing TEXT;
  -- Covering: the paged load reads this index alone, never the rows with their bodies.
  CREATE INDEX IF NOT EXISTS jobs_timing ON jobs (name, timing);
  UPDATE jobs SET timing = json_object(${TIMING_FIELDS.map((f) => `'${f}', json(body -> '$.${f}')`).join(', ')});
  `,
];

export function openDatabase(file: string, busyTimeoutMs: number): Database.Database {
  const inMemory = file === ':memory:' || file === '';
  let db: Database.Database | undefined;
  try {
    if (!inMemory) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    db = new Database(file);
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
    // The first real read: a file that is not a database fails here, not on a later query.
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`schema version ${version} is newer than this Kairos supports (${SCHEMA_VERSION})`);
    }
    db.pragma('journal_mode = WAL');
    // FULL fsyncs the WAL on every commit: a resolved write survives power loss, not just kill -9.
    db.pragma('synchronous = FULL');
    // On macOS plain fsync does not reach the platter; no effect elsewhere.
    db.pragma('fullfsync = ON');
    db.pragma('foreign_keys = ON');
    migrate(db, version);
    return db;
  } catch (err) {
    db?.close();
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot open embedded store at ${file}: ${message}`, { cause: err });
  }
}

function migrate(db: Database.Database, from: number): void {
  for (let v = from; v < SCHEMA_VERSION; v++) {
    const sql = MIGRATIONS[v];
    if (sql === undefined) throw new Error(`no migration from schema version ${v}`);
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
