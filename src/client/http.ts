/**
 * Transport of the `kairos` client commands: one HTTP(S) request to an agent's
 * API with the bearer token and TLS options, and the API's error body turned
 * into a typed error whose exit code scripts can rely on.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { takeSseEvents, zeroTimeAsNull } from '../api/wire.js';

export const DEFAULT_ADDRESS = 'http://127.0.0.1:8080';

/** Exit codes of the client commands (README "Command line"). */
export const EXIT = {
  ok: 0,
  /** API or server error, or the agent can't be reached. */
  error: 1,
  usage: 2,
  notFound: 3,
  /** 401 or 403. */
  auth: 4,
  conflict: 5,
} as const;

export interface ClientOptions {
  /** Base URL of an agent, e.g. http://127.0.0.1:8080 (a bare host:port means http). */
  address?: string;
  token?: string;
  /** PEM file of a CA to trust for https. */
  ca?: string;
  /** PEM client certificate and key (agents started with --tls-client-ca). */
  cert?: string;
  key?: string;
  /** Skip the server certificate check. */
  insecure?: boolean;
  /** Per-request timeout in ms (default 60 s). */
  timeoutMs?: number;
}

/** An error answer of the API (or a failure to reach it), with the exit code it maps to. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string = '',
    readonly field: string = '',
    readonly body: unknown = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get exitCode(): number {
    if (this.status === 404) return EXIT.notFound;
    if (this.status === 401 || this.status === 403) return EXIT.auth;
    if (this.status === 409) return EXIT.conflict;
    return EXIT.error;
  }
}

/** A mistake in how a command was called (exit 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface HttpResponse<T> {
  status: number;
  headers: IncomingHttpHeaders;
  body: T;
}

export class HttpClient {
  readonly base: URL;
  private readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean };

  constructor(private readonly options: ClientOptions = {}) {
    let address = (options.address ?? '').trim() || DEFAULT_ADDRESS;
    if (!/^[a-z]+:\/\//i.test(address)) address = `http://${address}`;
    let base: URL;
    try {
      base = new URL(address);
    } catch {
      throw new UsageError(`--address "${options.address ?? ''}" is not a URL (e.g. http://127.0.0.1:8080)`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new UsageError(`--address must be http:// or https://, got "${base.protocol}"`);
    this.base = base;
    if ((options.cert === undefined) !== (options.key === undefined)) throw new UsageError('--cert and --key go together');
    const read = (what: string, file: string | undefined): Buffer | undefined => {
      if (file === undefined) return undefined;
      try {
        return readFileSync(file);
      } catch (err) {
        throw new UsageError(`cannot read ${what} ${file}: ${(err as Error).message}`);
      }
    };
    this.tls = { ca: read('--ca', options.ca), cert: read('--cert', options.cert), key: read('--key', options.key), rejectUnauthorized: !options.insecure };
  }

  /** Sends one request; resolves any status (the caller decides), rejects only when the agent can't be reached. */
  raw<T = unknown>(method: string, path: string, body?: unknown): Promise<HttpResponse<T>> {
    const url = new URL(path.replace(/^\//, ''), this.base.href.endsWith('/') ? this.base.href : `${this.base.href}/`);
    const payload = body === undefined ? undefined : Buffer.from(body instanceof JsonText ? body.text : JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const https = url.protocol === 'https:';
    const send = https ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers, ...(https ? this.tls : {}), timeout: this.options.timeoutMs ?? 60_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            // A reviver makes JSON.parse several times slower (100k names of an apply: 0.6 s): only when needed.
            parsed = text === '' ? null : text.includes('"0001-01-01') ? JSON.parse(text, zeroTimeAsNull) : JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed as T });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${(this.options.timeoutMs ?? 60_000) / 1000} s`)));
      req.on('error', (err) => reject(new ApiError(`cannot reach ${this.base.origin}: ${err.message}`, 0)));
      req.end(payload);
    });
  }

  /**
   * Server-Sent Events from a GET (the execution stream): calls `onEvent` per event until the
   * agent ends the stream. Errors before the stream starts are ApiErrors like `call`'s.
   */
  events(path: string, onEvent: (event: string, data: unknown) => void): Promise<void> {
    const url = new URL(path.replace(/^\//, ''), this.base.href.endsWith('/') ? this.base.href : `${this.base.href}/`);
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const https = url.protocol === 'https:';
    const send = https ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method: 'GET', headers, ...(https ? this.tls : {}) }, (res) => {
        const status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        if (status < 200 || status >= 300) {
          let text = '';
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              // not JSON
            }
            reject(toApiError(status, body));
          });
          return;
        }
        let pending = '';
        res.on('data', (c: string) => {
          const { events, rest } = takeSseEvents(pending + c);
          pending = rest;
          for (const e of events) onEvent(e.event, e.data);
        });
        res.on('error', reject);
        res.on('end', () => resolve());
      });
      req.on('error', (err) => reject(new ApiError(`cannot reach ${this.base.origin}: ${err.message}`, 0)));
      req.end();
    });
  }

  /** Sends one request and throws ApiError for any status outside 2xx. */
  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<HttpResponse<T>> {
    const res = await this.raw<T>(method, path, body);
    if (res.status >= 200 && res.status < 300) return res;
    throw toApiError(res.status, res.body);
  }
}

/** A request body that is JSON text already; sent as is. */
export class JsonText {
  constructor(readonly text: string) {}
}

export function toApiError(status: number, body: unknown): ApiError {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as Record<string, unknown>;
    const message = typeof b.message === 'string' ? b.message : typeof b.error === 'string' ? b.error : `HTTP ${status}`;
    return new ApiError(message, status, typeof b.code === 'string' ? b.code : '', typeof b.field === 'string' ? b.field : '', body);
  }
  const text = typeof body === 'string' && body !== '' ? body : `HTTP ${status}`;
  return new ApiError(text, status, '', '', body);
}
