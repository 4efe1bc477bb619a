/**
 * The embedded store's API tokens and audit log. Statements run on the store's
 * own connection, so a caller inside one of the store's transactions (a job
 * write and its audit entry) commits both together or neither.
 */
import type Database from 'better-sqlite3';
import type { AuditEntry, AuditQuery, Page, StoredToken } from '../../store/types.js';

type Statement = Database.Statement;

/** Schema version 2: tokens and the audit log (appended to the store's MIGRATIONS). */
export const ADMIN_MIGRATION = `
  CREATE TABLE IF NOT EXISTS tokens (
    name TEXT PRIMARY KEY NOT NULL,
    body TEXT NOT NULL
  );
  -- id sorts in time order (see util/ids.ts auditId); job is NULL for cluster-wide entries.
  CREATE TABLE IF NOT EXISTS audit (
    id TEXT PRIMARY KEY NOT NULL,
    job TEXT,
    body TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS audit_by_job ON audit (job, id);
`;

/** An audit entry's row (the bulk writer thread writes them too). */
export const INSERT_AUDIT_SQL = 'INSERT INTO audit (id, job, body) VALUES (?, ?, ?)';

export class SqliteAdmin {
  private readonly st: Record<
    'listTokens' | 'insertToken' | 'getToken' | 'deleteToken' | 'insertAudit' | 'pageAll' | 'countAll' | 'pageJob' | 'countJob',
    Statement
  >;

  constructor(private readonly db: Database.Database) {
    this.st = {
      listTokens: db.prepare('SELECT body FROM tokens ORDER BY name').pluck(),
      insertToken: db.prepare('INSERT INTO tokens (name, body) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
      getToken: db.prepare('SELECT body FROM tokens WHERE name = ?').pluck(),
      deleteToken: db.prepare('DELETE FROM tokens WHERE name = ?'),
      insertAudit: db.prepare(INSERT_AUDIT_SQL),
      pageAll: db.prepare('SELECT body FROM audit ORDER BY id DESC LIMIT ? OFFSET ?').pluck(),
      countAll: db.prepare('SELECT count(*) FROM audit').pluck(),
      pageJob: db.prepare('SELECT body FROM audit WHERE job = ? ORDER BY id DESC LIMIT ? OFFSET ?').pluck(),
      countJob: db.prepare('SELECT count(*) FROM audit WHERE job = ?').pluck(),
    };
  }

  /** Call inside a transaction of the same connection to make the entry part of it. */
  writeAudit(entry: AuditEntry): void {
    this.st.insertAudit.run(entry.id, entry.job, JSON.stringify(entry));
  }

  listTokens(): StoredToken[] {
    return (this.st.listTokens.all() as string[]).map((b) => JSON.parse(b) as StoredToken);
  }

  createToken(token: StoredToken, audit: AuditEntry): boolean {
    return this.db.transaction(() => {
      if (this.st.insertToken.run(token.name, JSON.stringify(token)).changes === 0) return false;
      this.writeAudit(audit);
      return true;
    }).immediate();
  }

  deleteToken(name: string, audit: AuditEntry): StoredToken | null {
    return this.db.transaction(() => {
      const body = this.st.getToken.get(name) as string | undefined;
      if (body === undefined) return null;
      this.st.deleteToken.run(name);
      this.writeAudit(audit);
      return JSON.parse(body) as StoredToken;
    }).immediate();
  }

  listAudit(query: AuditQuery): Page<AuditEntry> {
    const job = query.job;
    const total = Number(job === undefined ? this.st.countAll.get() : this.st.countJob.get(job));
    const start = Math.max(0, query.start ?? 0);
    const end = Math.min(total, query.end ?? total);
    if (end <= start) return { items: [], total };
    const rows = (job === undefined ? this.st.pageAll.all(end - start, start) : this.st.pageJob.all(job, end - start, start)) as string[];
    return { items: rows.map((b) => JSON.parse(b) as AuditEntry), total };
  }
}
