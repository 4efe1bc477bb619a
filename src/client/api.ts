/** Typed calls of the /v1 API, shared by the `kairos` client commands. */
import type { WorkflowGraph } from '../core/workflow.js';
import type { BackfillView, DryRun } from '../core/backfills.js';
import type { Execution, Job } from '../job/types.js';
import type { SkipRecord } from '../store/types.js';
import { HttpClient, JsonText, type ClientOptions } from './http.js';

export interface PluginListing {
  name: string;
  kind: 'executor' | 'processor';
  form: 'builtin' | 'module' | 'executable';
  source: string;
  version?: string;
  node?: string;
}

export interface Member {
  id?: string;
  Name: string;
  Addr?: string;
  Port?: number;
  Tags?: Record<string, string>;
  Status?: number | string;
  statusText?: string;
  [key: string]: unknown;
}

export interface AgentInfo {
  agent: { name: string; version: string; backend: string };
  tags: Record<string, string>;
  leader: boolean;
  leadership_changes?: number;
  security?: Record<string, unknown>;
  limit_hits?: Record<string, number>;
}

export interface Health {
  status: string;
  checks: Record<string, string>;
}

// The bulk endpoint's shapes are the server's own (type-only: the client loads no server code).
import type { BulkResult } from '../core/bulk.js';
export type { BulkChange, BulkProblem, BulkResult } from '../core/bulk.js';

export interface BulkRequest {
  jobs: unknown[];
  /** `{label: "key=value"}`: also delete stored jobs carrying that metadata label that the request does not name. */
  prune: { label: string } | null;
  dry_run: boolean;
  /** full (default): definitions before/after in every change; diff: in updates only. */
  detail?: 'full' | 'diff';
}

const enc = encodeURIComponent;

export class KairosClient {
  readonly http: HttpClient;

  constructor(options: ClientOptions = {}) {
    this.http = new HttpClient(options);
  }

  async listJobs(query: Record<string, string> = {}): Promise<Job[]> {
    const qs = new URLSearchParams(query).toString();
    return (await this.http.call<Job[]>('GET', `/v1/jobs${qs ? `?${qs}` : ''}`)).body;
  }

  async getJob(name: string): Promise<Job> {
    return (await this.http.call<Job>('GET', `/v1/jobs/${enc(name)}`)).body;
  }

  /** Run-now; `force` runs even over a forbid overlap. */
  async runJob(name: string, force = false): Promise<Job> {
    return (await this.http.call<Job>('POST', `/v1/jobs/${enc(name)}/run${force ? '?force=true' : ''}`)).body;
  }

  async toggleJob(name: string): Promise<Job> {
    return (await this.http.call<Job>('POST', `/v1/jobs/${enc(name)}/toggle`)).body;
  }

  async deleteJob(name: string): Promise<Job> {
    return (await this.http.call<Job>('DELETE', `/v1/jobs/${enc(name)}`)).body;
  }

  async executions(name: string, page: { start?: number; end?: number; order?: 'asc' | 'desc' } = {}): Promise<{ items: Execution[]; total: number }> {
    const qs = new URLSearchParams({ _sort: 'started_at', _order: (page.order ?? 'desc').toUpperCase() });
    // Kairos' paging parameters: this route ignores dkron's _start/_end (it returns every kept run).
    if (page.start !== undefined) qs.set('offset', String(page.start));
    if (page.end !== undefined) qs.set('limit', String(page.end - (page.start ?? 0)));
    const res = await this.http.call<Execution[]>('GET', `/v1/jobs/${enc(name)}/executions?${qs}`);
    return { items: res.body, total: Number(res.headers['x-total-count'] ?? res.body.length) };
  }

  async execution(name: string, id: string): Promise<Execution> {
    return (await this.http.call<Execution>('GET', `/v1/jobs/${enc(name)}/executions/${enc(id)}`)).body;
  }

  /** Follow an execution's output (SSE): `onText` per chunk; resolves with the finished record, or null if the stream ended without one. */
  async follow(name: string, id: string, onText: (text: string) => void, onInfo: (message: string) => void = () => undefined): Promise<Execution | null> {
    let end: Execution | null = null;
    await this.http.events(`/v1/jobs/${enc(name)}/executions/${enc(id)}/stream`, (event, data) => {
      if (event === 'output') onText((data as { text: string }).text);
      else if (event === 'info') onInfo((data as { message: string }).message);
      else if (event === 'end') end = data as Execution;
    });
    return end;
  }

  /** Start a backfill (or, with dry_run, list its ticks). */
  async backfill(name: string, body: { from: string; to: string; parallelism?: number; dry_run?: boolean }): Promise<BackfillView | DryRun> {
    return (await this.http.call<BackfillView | DryRun>('POST', `/v1/jobs/${enc(name)}/backfill`, body)).body;
  }

  async backfills(name: string): Promise<BackfillView[]> {
    return (await this.http.call<BackfillView[]>('GET', `/v1/jobs/${enc(name)}/backfills`)).body;
  }

  async getBackfill(name: string, id: string): Promise<BackfillView> {
    return (await this.http.call<BackfillView>('GET', `/v1/jobs/${enc(name)}/backfills/${enc(id)}`)).body;
  }

  async cancelBackfill(name: string, id: string): Promise<BackfillView> {
    return (await this.http.call<BackfillView>('DELETE', `/v1/jobs/${enc(name)}/backfills/${enc(id)}`)).body;
  }

  /** The job's workflow and one run of it (default the newest). */
  async workflow(name: string, run?: string): Promise<WorkflowGraph> {
    return (await this.http.call<WorkflowGraph>('GET', `/v1/jobs/${enc(name)}/workflow${run ? `?run=${encodeURIComponent(run)}` : ''}`)).body;
  }

  async skips(name: string, page: { start?: number; end?: number } = {}): Promise<{ items: SkipRecord[]; total: number }> {
    const qs = new URLSearchParams();
    if (page.start !== undefined) qs.set('_start', String(page.start));
    if (page.end !== undefined) qs.set('_end', String(page.end));
    const q = qs.toString();
    const res = await this.http.call<SkipRecord[]>('GET', `/v1/jobs/${enc(name)}/skips${q ? `?${q}` : ''}`);
    return { items: res.body, total: Number(res.headers['x-total-count'] ?? res.body.length) };
  }

  async plugins(): Promise<PluginListing[]> {
    return (await this.http.call<PluginListing[]>('GET', '/v1/plugins')).body;
  }

  async members(): Promise<Member[]> {
    return (await this.http.call<Member[]>('GET', '/v1/members')).body;
  }

  async leader(): Promise<Member> {
    return (await this.http.call<Member>('GET', '/v1/leader')).body;
  }

  async info(): Promise<AgentInfo> {
    return (await this.http.call<AgentInfo>('GET', '/v1')).body;
  }

  /** /health answers 503 with the same body when degraded: not an error for a status report. */
  async health(): Promise<Health> {
    const res = await this.http.raw<Health>('GET', '/health');
    if (res.status !== 200 && res.status !== 503) return (await this.http.call<Health>('GET', '/health')).body;
    return res.body;
  }

  async bulk(request: BulkRequest): Promise<BulkResult> {
    return (await this.http.call<BulkResult>('POST', '/v1/jobs/bulk', request)).body;
  }

  /** bulk() with the request already as JSON text (a large apply's jobs are never objects here). */
  async bulkText(request: string): Promise<BulkResult> {
    return (await this.http.call<BulkResult>('POST', '/v1/jobs/bulk', new JsonText(request))).body;
  }
}
