/**
 * The embedded store's executions, last ticks and follow-ups. Statements run on the
 * store's connection; the write methods run inside the store's transactions, so a
 * tick, its executions and the job changes that go with them commit together.
 */
import type Database from 'better-sqlite3';
import type { Execution } from '../../job/types.js';
import { ExecutionClosedError, type ExecutionQuery, type FollowUp, type Page } from '../../store/types.js';
import { JOB_SQL } from './job-rows.js';
import { bound, parseTick, toMillis } from '../../store/kv-shared.js';

type Statement = Database.Statement<unknown[]>;

/** Larger than any Date (8.64e15 ms), so running executions sort after finished ones. */
const RUNNING_SORT_KEY = '9000000000000000';

const SORT_EXPR: Record<NonNullable<ExecutionQuery['sort']>, string> = {
  started_at: 'started_at',
  finished_at: `coalesce(finished_at, ${RUNNING_SORT_KEY})`,
  attempt: 'attempt',
};

/** Shared with sqlite-store.ts, so a corrupt row reads the same whichever table it is in. */
export function parseBody<T>(body: string, what: string): T {
  try {
    return JSON.parse(body) as T;
  } catch (err) {
    throw new Error(`embedded store: corrupt ${what}: ${(err as Error).message}`, { cause: err });
  }
}

export class SqliteExecutions {
  private readonly st: Record<
    | 'putExecution'
    | 'getExecution'
    | 'countExecutions'
    | 'listGroup'
    | 'listRunning'
    | 'listRunningAll'
    | 'deleteExecutions'
    | 'pruneExecutions'
    | 'getTick'
    | 'putTick'
    | 'deleteTick'
    | 'putFollowUp'
    | 'listFollowUps'
    | 'listFollowUpsOf'
    | 'deleteFollowUp',
    Statement
  >;
  /** One statement per sort/order pair, keyed "sort order". */
  private readonly listStatements = new Map<string, Statement>();
  private readonly txPage: (jobName: string, query: ExecutionQuery) => Page<Execution>;

  constructor(private readonly db: Database.Database) {
    this.st = {
      putExecution: db.prepare(
        `INSERT INTO executions (job_name, id, started_at, finished_at, grp, attempt, body)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (job_name, id) DO UPDATE SET
           started_at = excluded.started_at, finished_at = excluded.finished_at,
           grp = excluded.grp, attempt = excluded.attempt, body = excluded.body`,
      ),
      getExecution: db.prepare('SELECT body FROM executions WHERE job_name = ? AND id = ?').pluck(),
      countExecutions: db.prepare('SELECT count(*) FROM executions WHERE job_name = ?').pluck(),
      listGroup: db
        .prepare('SELECT body FROM executions WHERE job_name = ? AND grp = ? ORDER BY attempt, started_at, id')
        .pluck(),
      listRunning: db
        .prepare(
          'SELECT body FROM executions WHERE job_name = ? AND finished_at IS NULL ORDER BY started_at, id',
        )
        .pluck(),
      listRunningAll: db
        .prepare('SELECT body FROM executions WHERE finished_at IS NULL ORDER BY started_at, job_name, id')
        .pluck(),
      deleteExecutions: db.prepare(JOB_SQL.deleteExecutions),
      // LIMIT -1 OFFSET keep: every finished execution after the newest `keep`.
      // Running ones are never pruned (and don't count), or /v1/busy and forbid would lose them.
      pruneExecutions: db.prepare(
        `DELETE FROM executions WHERE rowid IN (
           SELECT rowid FROM executions WHERE job_name = ? AND finished_at IS NOT NULL
           ORDER BY started_at DESC, id DESC LIMIT -1 OFFSET ?)`,
      ),
      getTick: db.prepare('SELECT last_tick FROM ticks WHERE job_name = ?').pluck(),
      putTick: db.prepare(
        'INSERT INTO ticks (job_name, last_tick) VALUES (?, ?) ON CONFLICT (job_name) DO UPDATE SET last_tick = excluded.last_tick',
      ),
      deleteTick: db.prepare(JOB_SQL.deleteTick),
      putFollowUp: db.prepare(
        'INSERT INTO followups (job_name, grp, node_name, children) VALUES (?, ?, ?, ?) ON CONFLICT (job_name, grp) DO NOTHING',
      ),
      listFollowUps: db.prepare('SELECT job_name, grp, node_name, children FROM followups ORDER BY job_name, grp'),
      listFollowUpsOf: db.prepare(
        'SELECT job_name, grp, node_name, children FROM followups WHERE node_name = ? ORDER BY job_name, grp',
      ),
      deleteFollowUp: db.prepare('DELETE FROM followups WHERE job_name = ? AND grp = ?'),
    };
    for (const [sort, expr] of Object.entries(SORT_EXPR)) {
      for (const order of ['asc', 'desc'] as const) {
        const dir = order === 'asc' ? 'ASC' : 'DESC';
        this.listStatements.set(
          `${sort} ${order}`,
          db
            .prepare(
              `SELECT body FROM executions WHERE job_name = ? ORDER BY ${expr} ${dir}, id ${dir} LIMIT ? OFFSET ?`,
            )
            .pluck(),
        );
      }
    }
    // count and page in one read transaction so total matches the items under concurrent writers.
    this.txPage = db.transaction((jobName: string, query: ExecutionQuery) => {
      const total = this.st.countExecutions.get(jobName) as number;
      const start = bound(query.start, 0, total);
      const end = bound(query.end, total, total);
      if (start >= end) return { items: [], total };
      const stmt = this.listStatement(query);
      const bodies = stmt.all(jobName, end - start, start) as string[];
      return { items: bodies.map((b) => parseBody<Execution>(b, `execution of "${jobName}"`)), total };
    });
  }

  /** Inside a transaction. False (nothing written) when the tick is not newer than the stored one, or exclusive and busy. */
  commitTick(jobName: string, tick: string, executions: Execution[], exclusive: boolean): boolean {
    const tickMs = parseTick(tick);
    const stored = this.st.getTick.get(jobName) as string | undefined;
    // A stored tick that no longer parses cannot prove it is newer; let the new one replace it.
    if (stored !== undefined && !Number.isNaN(Date.parse(stored)) && Date.parse(stored) >= tickMs) {
      return false;
    }
    if (exclusive && this.busy(jobName)) return false;
    this.st.putTick.run(jobName, tick);
    for (const execution of executions) this.write(execution);
    return true;
  }

  /** Inside a transaction. False (nothing written) when exclusive and the job has a run going. */
  dispatch(executions: Execution[], exclusive: boolean): boolean {
    const first = executions[0];
    if (exclusive && first && this.busy(first.job_name)) return false;
    for (const e of executions) this.write(e);
    return true;
  }

  /** Inside a transaction. */
  put(execution: Execution): void {
    if (execution.finished_at == null) {
      // A start record arriving after the execution was closed (agent lost) must not reopen it.
      if (this.closedBody(execution.job_name, execution.id) !== null) {
        throw new ExecutionClosedError(execution.job_name, execution.id);
      }
    }
    this.write(execution);
  }

  /** The stored body of the execution if it has finished, else null (absent or running). */
  closedBody(jobName: string, id: string): string | null {
    const stored = this.st.getExecution.get(jobName, id) as string | undefined;
    if (stored === undefined) return null;
    return parseBody<Execution>(stored, `execution "${jobName}/${id}"`).finished_at != null ? stored : null;
  }

  write(execution: Execution): void {
    this.st.putExecution.run(
      execution.job_name,
      execution.id,
      toMillis(execution.started_at) ?? 0,
      toMillis(execution.finished_at),
      execution.group,
      execution.attempt,
      JSON.stringify(execution),
    );
  }

  /** Inside the job's delete transaction. */
  deleteJob(jobName: string): void {
    this.st.deleteExecutions.run(jobName);
    this.st.deleteTick.run(jobName);
  }

  putFollowUp(jobName: string, group: number, node: string, children: string[]): void {
    this.st.putFollowUp.run(jobName, group, node, JSON.stringify(children));
  }

  get(jobName: string, id: string): Execution | null {
    const body = this.st.getExecution.get(jobName, id) as string | undefined;
    return body === undefined ? null : parseBody<Execution>(body, `execution "${jobName}/${id}"`);
  }

  page(jobName: string, query: ExecutionQuery): Page<Execution> {
    return this.txPage(jobName, query);
  }

  group(jobName: string, group: number): Execution[] {
    return this.parseExecutions(this.st.listGroup.all(jobName, group) as string[]);
  }

  running(jobName?: string): Execution[] {
    const bodies =
      jobName === undefined ? this.st.listRunningAll.all() : this.st.listRunning.all(jobName);
    return this.parseExecutions(bodies as string[]);
  }

  delete(jobName: string): number {
    return this.st.deleteExecutions.run(jobName).changes;
  }

  prune(jobName: string, keep: number): number {
    const n = Number.isFinite(keep) ? Math.max(0, Math.trunc(keep)) : 0;
    return this.st.pruneExecutions.run(jobName, n).changes;
  }

  lastTick(jobName: string): string | null {
    return (this.st.getTick.get(jobName) as string | undefined) ?? null;
  }

  lastTicks(): Map<string, string> {
    const rows = this.db.prepare('SELECT job_name, last_tick FROM ticks').all() as { job_name: string; last_tick: string }[];
    return new Map(rows.map((r) => [r.job_name, r.last_tick]));
  }

  followUps(node?: string): FollowUp[] {
    const rows = (node === undefined ? this.st.listFollowUps.all() : this.st.listFollowUpsOf.all(node)) as {
      job_name: string;
      grp: number;
      node_name: string;
      children: string;
    }[];
    return rows.map((r) => ({ job: r.job_name, group: r.grp, node: r.node_name, children: parseBody<string[]>(r.children, 'follow-up') }));
  }

  deleteFollowUp(job: string, group: number): void {
    this.st.deleteFollowUp.run(job, group);
  }

  private busy(jobName: string): boolean {
    return (this.st.listRunning.all(jobName) as unknown[]).length > 0;
  }

  private listStatement(query: ExecutionQuery): Statement {
    const sort = query.sort ?? 'started_at';
    const order = query.order ?? 'desc';
    const stmt = this.listStatements.get(`${sort} ${order}`);
    if (stmt === undefined) throw new Error(`listExecutions: unsupported sort "${sort}" / order "${order}"`);
    return stmt;
  }

  private parseExecutions(bodies: string[]): Execution[] {
    return bodies.map((b) => parseBody<Execution>(b, 'execution'));
  }
}
