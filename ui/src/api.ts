/**
 * The /v1 API from the browser: typed with the server's own types (imported from src/, types
 * only), the session's token as `Authorization: Bearer`, and the connection state the layout
 * shows ("reconnecting" while the agent can't be reached; pages keep their last data).
 */
import type { Execution, Job } from '../../src/job/types.js';
import type { SkipRecord } from '../../src/store/types.js';
import type { Member } from '../../src/cluster/types.js';
import { takeSseEvents, zeroTimeAsNull } from '../../src/api/wire.js';
import { session } from './session.js';
import { connection } from './connection.js';

export type { Execution, Job, SkipRecord, Member };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field = '',
    readonly code = '',
  ) {
    super(message);
  }
}

export interface ApiResult<T> {
  data: T;
  /** X-Total-Count, when the route pages. */
  total: number | null;
  status: number;
}

export interface ApiOptions {
  query?: Record<string, string | number | boolean | undefined | null>;
  body?: unknown;
  /** Overrides the session's token (the sign-in check); a 401 then goes to the caller only. */
  token?: string;
  signal?: AbortSignal;
}

// The bundle is served at <prefix>/ui/app.js: relative, so a reverse proxy may mount the agent under a path.
const BASE = new URL('../v1/', import.meta.url);

export function apiUrl(path: string, query: ApiOptions['query'] = {}): URL {
  const url = new URL(path.replace(/^\//, ''), BASE);
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  return url;
}

export async function api<T = unknown>(method: string, path: string, o: ApiOptions = {}): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (o.body !== undefined) headers['Content-Type'] = 'application/json';
  const bearer = o.token ?? session.token;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let res: Response;
  try {
    res = await fetch(apiUrl(path, o.query), {
      method,
      cache: 'no-store',
      credentials: 'omit',
      headers,
      body: o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body),
      signal: o.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    connection.lost((err as Error).message);
    throw new ApiError(0, `cannot reach the agent (${(err as Error).message})`);
  }
  connection.ok(res.headers.get('X-Whom'));
  const text = await res.text();
  let data: unknown = null;
  if (text !== '') {
    try {
      data = JSON.parse(text, zeroTimeAsNull);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const obj = data && typeof data === 'object' ? (data as Record<string, unknown>) : null;
    const message = obj && (obj.message || obj.error) ? String(obj.message ?? obj.error) : typeof data === 'string' && data ? data : `HTTP ${res.status}`;
    const err = new ApiError(res.status, message, typeof obj?.field === 'string' ? obj.field : '', typeof obj?.code === 'string' ? obj.code : '');
    // A 401 to what the session sends now (not a sign-in check, nor a token since replaced): ask for one.
    if (res.status === 401 && o.token === undefined && bearer === session.token) session.expired(bearer ? `Your session ended: ${message}` : '');
    throw err;
  }
  const total = res.headers.get('X-Total-Count');
  return { data: data as T, total: total === null ? null : Number(total), status: res.status };
}

export const jobPath = (name: string, rest = ''): string => `jobs/${encodeURIComponent(name)}${rest}`;

/**
 * Follow an execution's output (GET .../stream, Server-Sent Events read with fetch: EventSource
 * can't send the token). Returns a function that stops following.
 */
export function followExecution(
  job: string,
  id: string,
  on: { output(text: string): void; end(e: Execution): void; info?(message: string): void; error?(err: Error): void },
): () => void {
  const controller = new AbortController();
  const headers: Record<string, string> = { Accept: 'text/event-stream' };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  void (async () => {
    try {
      const res = await fetch(apiUrl(jobPath(job, `/executions/${encodeURIComponent(id)}/stream`)), { headers, signal: controller.signal, cache: 'no-store', credentials: 'omit' });
      if (!res.ok || !res.body) throw new ApiError(res.status, `stream answered HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let pending = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const { events, rest } = takeSseEvents(pending + value);
        pending = rest;
        for (const { event, data } of events) {
          if (event === 'output') on.output((data as { text: string }).text);
          else if (event === 'end') on.end(data as Execution);
          else if (event === 'info') on.info?.((data as { message: string }).message);
        }
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') on.error?.(err as Error);
    }
  })();
  return () => controller.abort();
}
