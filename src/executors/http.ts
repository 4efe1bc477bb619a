import { request as httpRequest } from 'node:http';
import type { Agent, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { formatDuration } from '../util/duration.js';
import { HttpAgentCache } from './http-agents.js';
import { parseHeaderList, parseHttpConfig } from './http-config.js';
import type { HttpJobConfig, Problem } from './http-config.js';
import { OutputBuffer } from './output-buffer.js';
import type { ExecutionOutcome, ExecutionRequest, Executor } from './types.js';

export interface HttpExecutorOptions {
  /** Keep-alive agents kept (one per TLS setup); dkron caches 100 clients. */
  agentCacheSize?: number;
  /**
   * Bytes of the response body kept for `expectBody` (the output keeps only
   * the tail, but a pattern usually looks at the start). Beyond it the pattern
   * is matched against this prefix and the output says so.
   */
  maxMatchBytes?: number;
}

// Go's http.Client gives up after 10 redirects.
const MAX_REDIRECTS = 10;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// Headers Go drops when a redirect leaves the original host.
const SENSITIVE_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'www-authenticate']);
// setTimeout fires immediately for delays above this (with a warning).
const MAX_TIMER_MS = 2_147_483_647;

/**
 * dkron's `http` executor: one request, success decided by `expectCode` and
 * `expectBody`. The output is the response's status line and body; why a run
 * failed is appended as a last line.
 */
export class HttpExecutor implements Executor {
  readonly name = 'http';
  private readonly agents: HttpAgentCache;
  private readonly maxMatchBytes: number;

  constructor(options: HttpExecutorOptions = {}) {
    this.agents = new HttpAgentCache(options.agentCacheSize ?? 100);
    this.maxMatchBytes = options.maxMatchBytes ?? 8 * 1024 * 1024;
  }

  validate(config: Record<string, string>): Problem | null {
    const parsed = parseHttpConfig(config);
    return isProblem(parsed) ? parsed : null;
  }

  /** Closes idle keep-alive connections (agent shutdown). */
  close(): void {
    this.agents.destroy();
  }

  async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    const output = new OutputBuffer(request.outputLimit);
    try {
      return await this.run(request, output);
    } catch (err) {
      // Never reject: a surprise here is a failed attempt, not a lost run.
      return outcome(output, false, `${(err as Error).message}`);
    }
  }

  private async run(request: ExecutionRequest, output: OutputBuffer): Promise<ExecutionOutcome> {
    const config = parseHttpConfig(request.config);
    if (isProblem(config)) return outcome(output, false, `${config.field}: ${config.message}`);

    const emit = (chunk: Buffer): void => {
      output.append(chunk);
      if (request.onOutput) {
        try {
          request.onOutput(chunk);
        } catch {
          // A broken live-output consumer must not break the run itself.
        }
      }
    };
    if (config.debug) emit(Buffer.from(`Config: ${JSON.stringify(maskedConfig(request.config))}\n`));
    if (request.signal.aborted) return outcome(output, false, abortedNote(request.signal));

    // One controller ends the whole exchange (redirects and body included, as
    // Go's Client.Timeout): on timeout or on the agent's abort.
    const stop = new AbortController();
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => stop.abort(request.signal.reason);
    request.signal.addEventListener('abort', onAbort, { once: true });
    if (config.timeoutMs > 0) {
      const deadline = Date.now() + config.timeoutMs;
      const arm = (): void => {
        const left = deadline - Date.now();
        if (left > MAX_TIMER_MS) {
          timer = setTimeout(arm, MAX_TIMER_MS);
          return;
        }
        timer = setTimeout(() => {
          timedOut = true;
          stop.abort(new Error('timeout'));
        }, Math.max(1, left));
      };
      arm();
    }

    try {
      const res = await this.follow(config, stop.signal);
      emit(Buffer.from(`HTTP/${res.httpVersion} ${res.statusCode ?? 0} ${res.statusMessage ?? ''}\n`));
      const kept: Buffer[] = [];
      let keptBytes = 0;
      let bodyBytes = 0;
      for await (const chunk of res as AsyncIterable<Buffer>) {
        emit(chunk);
        bodyBytes += chunk.length;
        if (keptBytes < this.maxMatchBytes) {
          const part = chunk.subarray(0, this.maxMatchBytes - keptBytes);
          kept.push(part);
          keptBytes += part.length;
        }
      }

      const notes: string[] = [];
      const status = res.statusCode ?? 0;
      if (config.expectCodes && !config.expectCodes.includes(status)) {
        notes.push(`expected status ${config.expectCodes.join(',')}, got ${status}`);
      }
      if (config.expectBody) {
        const text = Buffer.concat(kept, keptBytes).toString('utf8');
        if (!config.expectBody.test(text)) {
          const partial = bodyBytes > keptBytes ? ` (first ${keptBytes} of ${bodyBytes} bytes checked)` : '';
          notes.push(`body did not match ${String(config.expectBody)}${partial}`);
        }
      }
      return outcome(output, notes.length === 0, notes.join('\n'));
    } catch (err) {
      if (timedOut) return outcome(output, false, `timeout after ${formatDuration(config.timeoutMs)}`);
      if (request.signal.aborted) return outcome(output, false, abortedNote(request.signal));
      return outcome(output, false, `request failed: ${describeError(err)}`);
    } finally {
      if (timer) clearTimeout(timer);
      request.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Sends the request, following redirects as Go's http.Client does; resolves on the final response's headers. */
  private async follow(config: HttpJobConfig, signal: AbortSignal): Promise<IncomingMessage> {
    let url = config.url;
    let method = config.method;
    let body: string | null = config.body;
    const headers: OutgoingHttpHeaders = { 'user-agent': 'kairos-http-executor' };
    for (const [name, value] of config.headers) headers[name.toLowerCase()] = value;

    for (let hop = 0; ; hop++) {
      const agent = await this.agents.get(url.protocol as 'http:' | 'https:', config.tls);
      const res = await send(url, method, headers, body, agent, signal);
      const location = res.headers.location;
      const status = res.statusCode ?? 0;
      if (!REDIRECT_STATUSES.has(status) || location === undefined) return res;
      // Drain so the keep-alive socket can be reused for the next hop.
      res.resume();
      if (hop >= MAX_REDIRECTS) throw new Error(`stopped after ${MAX_REDIRECTS} redirects`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new Error(`redirect to an invalid location "${location}"`);
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new Error(`redirect to unsupported protocol "${next.protocol}"`);
      }
      if (next.host !== url.host) {
        for (const name of SENSITIVE_HEADERS) delete headers[name];
      }
      if ((status === 301 || status === 302 || status === 303) && method !== 'GET' && method !== 'HEAD') {
        // As browsers and Go: the follow-up is a GET without the body.
        method = 'GET';
        body = null;
        delete headers['content-type'];
        delete headers['content-length'];
      }
      url = next;
    }
  }
}

function send(
  url: URL,
  method: string,
  headers: OutgoingHttpHeaders,
  body: string | null,
  agent: Agent,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers, agent, signal });
    req.once('response', resolve);
    req.once('error', reject);
    req.end(body === null || body === '' ? undefined : body);
  });
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  // TLS failures carry the useful part in the code (e.g. DEPTH_ZERO_SELF_SIGNED_CERT).
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}

function abortedNote(signal: AbortSignal): string {
  // The reason is whatever the agent aborted with; any value is printable.
  const reason: unknown = signal.reason;
  return `aborted: ${reason instanceof Error ? reason.message : String(reason ?? 'aborted')}`;
}

/** The config as `debug` echoes it, with credentials replaced by `***`. */
function maskedConfig(config: Record<string, string>): Record<string, string> {
  const masked = { ...config };
  const headers = parseHeaderList(config.headers, 'headers');
  if (Array.isArray(headers)) {
    masked.headers = JSON.stringify(
      headers.map(([name, value]) => `${name}: ${SENSITIVE_HEADERS.has(name.toLowerCase()) ? '***' : value}`),
    );
  }
  if (config.url) {
    try {
      const url = new URL(config.url);
      if (url.password !== '') {
        url.password = '***';
        masked.url = url.toString();
      }
    } catch {
      // Not a URL: validation already reported it, nothing to mask.
    }
  }
  return masked;
}

function outcome(output: OutputBuffer, success: boolean, note: string): ExecutionOutcome {
  const text = output.toString();
  let full = text;
  if (note !== '') full = `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${note}\n`;
  // No process ran: exitCode stays null, as the interface asks.
  return { success, exitCode: null, output: full, truncated: output.truncated };
}

function isProblem(value: HttpJobConfig | Problem): value is Problem {
  return 'field' in value;
}
