/**
 * What each route of the API is, for the OpenAPI document: one entry per method and path
 * (fastify's `:param` form). A served route missing here, or an entry no route serves, fails
 * test/unit/openapi.test.ts.
 */
export type SchemaRef = 'Job' | 'JobInput' | 'Execution' | 'Member' | 'Skip' | 'Audit' | 'Plugin' | 'Error' | 'Health' | 'BulkRequest' | 'Workflow' | 'BackfillRequest' | 'Backfill' | 'Queued' | 'Any';

export interface QueryParam {
  name: string;
  description: string;
  type?: 'string' | 'integer' | 'boolean';
}

export interface RouteDoc {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  summary: string;
  tag: 'jobs' | 'executions' | 'cluster' | 'admin' | 'auth' | 'ui' | 'meta';
  /** The minimum role once tokens exist (src/api/permissions.ts); null = public. */
  role?: 'read' | 'operate' | 'admin' | null;
  query?: QueryParam[];
  body?: SchemaRef;
  /** status → [description, schema, array?] */
  responses: Record<number, [string, SchemaRef?, boolean?]>;
  /** A non-JSON answer (the stream, metrics, the UI). */
  contentType?: string;
}

const paging: QueryParam[] = [
  { name: '_start', description: 'first item (react-admin paging)', type: 'integer' },
  { name: '_end', description: 'one past the last item', type: 'integer' },
];
const sorting: QueryParam[] = [
  { name: '_sort', description: 'field to sort by' },
  { name: '_order', description: 'ASC or DESC' },
];
const bad: [string, SchemaRef] = ['invalid input: the field and the reason', 'Error'];
const missing: [string, SchemaRef] = ['not found', 'Error'];

export const ROUTES: RouteDoc[] = [
  { method: 'GET', path: '/v1', summary: 'agent, leader and security summary', tag: 'meta', responses: { 200: ['agent info', 'Any'] } },
  { method: 'GET', path: '/v1/', summary: 'same as /v1', tag: 'meta', responses: { 200: ['agent info', 'Any'] } },
  { method: 'GET', path: '/health', summary: 'liveness and store reachability', tag: 'meta', role: null, responses: { 200: ['healthy', 'Health'], 503: ['degraded', 'Health'] } },
  { method: 'GET', path: '/v1/openapi.json', summary: 'this document', tag: 'meta', responses: { 200: ['OpenAPI 3.1', 'Any'] } },
  { method: 'GET', path: '/metrics', summary: 'Prometheus metrics (when --enable-prometheus)', tag: 'meta', contentType: 'text/plain', responses: { 200: ['metrics in the Prometheus text format'] } },

  {
    method: 'GET', path: '/v1/jobs', summary: 'list jobs (paged, sorted, filtered)', tag: 'jobs',
    query: [
      ...paging, ...sorting,
      { name: 'q', description: 'search in name, displayname, owner' },
      { name: 'status', description: 'success, failed, partially_failed, untriggered' },
      { name: 'disabled', description: 'true or false', type: 'boolean' },
      { name: 'owner', description: 'jobs of this owner' },
      { name: 'executor', description: 'jobs using this executor' },
      { name: 'tags', description: 'k=v (repeatable or comma list): jobs carrying every tag' },
      { name: 'metadata[KEY]', description: 'jobs whose metadata KEY has this value (dkron)' },
    ],
    responses: { 200: ['jobs; X-Total-Count has the total', 'Job', true] },
  },
  { method: 'POST', path: '/v1/jobs', summary: 'create or replace a job', tag: 'jobs', body: 'JobInput', query: [{ name: 'runoncreate', description: 'run it at once', type: 'boolean' }], responses: { 201: ['saved', 'Job'], 400: bad } },
  { method: 'PATCH', path: '/v1/jobs', summary: 'create or replace a job (dkron)', tag: 'jobs', body: 'JobInput', responses: { 201: ['saved', 'Job'], 400: bad } },
  { method: 'PUT', path: '/v1/jobs/:name', summary: 'create or replace the named job', tag: 'jobs', body: 'JobInput', responses: { 201: ['saved', 'Job'], 400: bad } },
  { method: 'GET', path: '/v1/jobs/:name', summary: 'one job', tag: 'jobs', responses: { 200: ['the job', 'Job'], 404: missing } },
  { method: 'DELETE', path: '/v1/jobs/:name', summary: 'delete a job (409 while it has dependent jobs)', tag: 'jobs', responses: { 200: ['the deleted job', 'Job'], 404: missing, 409: ['it has dependent jobs (named)', 'Error'] } },
  { method: 'POST', path: '/v1/jobs/:name', summary: 'run now', tag: 'jobs', role: 'operate', query: [{ name: 'force', description: 'run even under concurrency forbid', type: 'boolean' }], responses: { 202: ['dispatched', 'Job'], 404: missing, 409: ['not run (the reason is recorded as a skip)', 'Error'] } },
  { method: 'POST', path: '/v1/jobs/:name/run', summary: 'run now (dkron v4)', tag: 'jobs', role: 'operate', responses: { 202: ['dispatched', 'Job'], 404: missing, 409: ['not run', 'Error'] } },
  { method: 'POST', path: '/v1/jobs/:name/toggle', summary: 'enable ⇄ disable', tag: 'jobs', role: 'operate', responses: { 200: ['the job', 'Job'], 404: missing } },
  { method: 'POST', path: '/v1/jobs/bulk', summary: 'save (and prune) many jobs atomically: all or none, every error named', tag: 'jobs', body: 'BulkRequest', responses: { 200: ['what changed', 'Any'], 400: bad } },
  { method: 'GET', path: '/v1/jobs/:name/next', summary: 'the next run times, in the job zone, DST flagged', tag: 'jobs', query: [{ name: 'count', description: 'how many (default 10)', type: 'integer' }], responses: { 200: ['next runs', 'Any'], 404: missing } },
  { method: 'POST', path: '/v1/schedule/preview', summary: 'a schedule in words and its next runs (validates it)', tag: 'jobs', role: 'read', body: 'Any', responses: { 200: ['description and next runs', 'Any'], 400: bad } },

  { method: 'GET', path: '/v1/jobs/:name/executions', summary: "a job's executions, newest first: every kept one (dkron's _start/_end are ignored, as dkron does)", tag: 'executions', query: [{ name: 'offset', description: 'Kairos paging: skip this many', type: 'integer' }, { name: 'limit', description: 'Kairos paging: at most this many', type: 'integer' }, ...sorting, { name: 'output_size_limit', description: 'keep the last N characters of each output', type: 'integer' }], responses: { 200: ['executions; X-Total-Count has the total', 'Execution', true], 404: missing } },
  { method: 'DELETE', path: '/v1/jobs/:name/executions', summary: "delete a job's history", tag: 'executions', responses: { 200: ['the job', 'Job'], 404: missing } },
  { method: 'GET', path: '/v1/jobs/:name/executions/:id', summary: 'one execution', tag: 'executions', responses: { 200: ['the execution', 'Execution'], 404: missing } },
  { method: 'GET', path: '/v1/jobs/:name/executions/:id/stream', summary: 'live output (Server-Sent Events: output, info, end)', tag: 'executions', contentType: 'text/event-stream', responses: { 200: ['events until the execution ends'], 404: missing } },
  { method: 'GET', path: '/v1/jobs/:name/workflow', summary: "the job's workflow (depends_on and parent_job links, both ways) and one run of it: which jobs ran, run, failed, wait or are blocked", tag: 'executions', query: [{ name: 'run', description: 'the run key (RFC 3339, one of "runs"); default the newest' }], responses: { 200: ['the graph', 'Workflow'], 400: ['a run that is not a time', 'Error'], 404: missing } },
  { method: 'POST', path: '/v1/jobs/:name/backfill', summary: "run every tick of the job's schedule in [from, to] (time zone aware), at most `parallelism` at a time, each once; `dry_run` lists the ticks", tag: 'executions', body: 'BackfillRequest', responses: { 200: ['dry run: the ticks', 'Any'], 201: ['the backfill, with progress', 'Backfill'], 400: ['a bad range, too many ticks, or a job without a schedule of its own', 'Error'], 404: missing } },
  { method: 'GET', path: '/v1/jobs/:name/backfills', summary: "the job's backfills (the last 10), newest first, with progress", tag: 'executions', responses: { 200: ['backfills', 'Backfill', true], 404: missing } },
  { method: 'GET', path: '/v1/jobs/:name/backfills/:id', summary: 'one backfill with progress', tag: 'executions', responses: { 200: ['the backfill', 'Backfill'], 404: missing } },
  { method: 'DELETE', path: '/v1/jobs/:name/backfills/:id', summary: 'cancel a backfill: no more of its ticks start; runs under way finish', tag: 'executions', responses: { 200: ['the backfill', 'Backfill'], 404: missing, 409: ['it is not running', 'Error'] } },
  { method: 'GET', path: '/v1/jobs/:name/skips', summary: 'ticks that did not run, and why', tag: 'executions', query: paging, responses: { 200: ['skip records', 'Skip', true], 404: missing } },
  { method: 'GET', path: '/v1/busy', summary: 'executions running now, with their latest output', tag: 'executions', responses: { 200: ['running executions', 'Execution', true] } },
  { method: 'GET', path: '/v1/stats', summary: 'activity over a window (dashboard)', tag: 'executions', query: [{ name: 'window', description: '24h or 7d' }], responses: { 200: ['counts and buckets', 'Any'] } },

  { method: 'GET', path: '/v1/queue', summary: 'ticks waiting for an agent with room for their resources (the first 20), with why', tag: 'executions', responses: { 200: ['queued runs', 'Queued', true] } },
  { method: 'GET', path: '/v1/members', summary: 'the agents of the cluster', tag: 'cluster', responses: { 200: ['members', 'Member', true] } },
  { method: 'GET', path: '/v1/leader', summary: 'the leader', tag: 'cluster', responses: { 200: ['the leader', 'Member'], 503: ['no leader elected', 'Error'] } },
  { method: 'GET', path: '/v1/isleader', summary: '200 on the leader, 404 elsewhere (dkron)', tag: 'cluster', responses: { 200: ['"I am a leader"', 'Any'], 404: ['"I am a follower"', 'Any'] } },
  { method: 'POST', path: '/v1/leave', summary: 'this agent leaves the cluster and stops', tag: 'cluster', responses: { 200: ['members', 'Member', true] } },
  { method: 'GET', path: '/v1/plugins', summary: "this agent's executors and processors", tag: 'cluster', responses: { 200: ['plugins', 'Plugin', true] } },

  { method: 'GET', path: '/v1/pause', summary: 'whether new runs are paused', tag: 'admin', responses: { 200: ['pause state', 'Any'] } },
  { method: 'POST', path: '/v1/pause', summary: 'pause new runs cluster-wide', tag: 'admin', responses: { 200: ['pause state', 'Any'] } },
  { method: 'POST', path: '/v1/unpause', summary: 'resume', tag: 'admin', responses: { 200: ['pause state', 'Any'] } },
  { method: 'POST', path: '/v1/restore', summary: 'restore jobs from a JSON array (multipart "file" or body), validated as a whole first', tag: 'admin', body: 'Any', responses: { 200: ['restored', 'Any'], 400: bad } },
  { method: 'GET', path: '/v1/audit', summary: 'who changed what, newest first', tag: 'admin', query: [...paging, { name: 'job', description: 'entries of this job' }], responses: { 200: ['entries', 'Audit', true] } },

  { method: 'GET', path: '/v1/auth/whoami', summary: 'the caller: token name, role, scope', tag: 'auth', role: null, responses: { 200: ['identity', 'Any'], 401: ['no or a wrong token', 'Error'] } },
  { method: 'GET', path: '/v1/tokens', summary: 'API tokens (never their secrets)', tag: 'auth', responses: { 200: ['tokens', 'Any', true] } },
  { method: 'POST', path: '/v1/tokens', summary: 'create a token (the secret is shown once)', tag: 'auth', body: 'Any', responses: { 201: ['the token with its secret', 'Any'], 400: bad } },
  { method: 'DELETE', path: '/v1/tokens/:name', summary: 'revoke a token', tag: 'auth', responses: { 200: ['revoked', 'Any'], 404: missing } },

  { method: 'GET', path: '/', summary: 'a browser is sent to /ui/', tag: 'ui', role: null, contentType: 'text/html', responses: { 303: ['redirect to /ui/'], 404: missing } },
  { method: 'GET', path: '/ui', summary: 'redirect to /ui/', tag: 'ui', role: null, contentType: 'text/html', responses: { 301: ['redirect'] } },
  { method: 'GET', path: '/ui/*', summary: 'the web UI', tag: 'ui', role: null, contentType: 'text/html', responses: { 200: ['the app'] } },
];
