/**
 * GET /v1/jobs/NAME/executions/ID/stream: an execution's output as Server-Sent Events while it
 * runs, then its record. Events: `output` ({"text"}), `info` ({"message"}), `end` (the finished
 * execution); a comment line every 15 s keeps proxies from closing an idle stream.
 *
 * The output lives in the memory of the agent running the execution: asked elsewhere, this agent
 * relays that agent's stream (?local=1 stops a second hop); when that agent can't be reached it
 * says so and waits for the stored result instead. A finished execution is answered at once.
 * Browsers read it with fetch (EventSource can't send a token); `kairos logs -f` too.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import { NotFoundError } from '../../core/errors.js';
import type { Execution } from '../../job/types.js';
import { takeSseEvents } from '../wire.js';

const HEARTBEAT_MS = 15_000;
const CHECK_MS = 2000;

type Params = { name: string; id: string };

export async function streamRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get<{ Params: Params; Querystring: { local?: string } }>('/v1/jobs/:name/executions/:id/stream', async (request, reply) => {
    const { name, id } = request.params;
    await ctx.jobs.getRaw(name, request.principal);
    const execution = await ctx.store.getExecution(name, id);
    if (!execution) throw new NotFoundError(`execution "${id}" of job "${name}" not found`, '', 'KAIROS_EXECUTION_NOT_FOUND');

    const sse = open(request, reply);
    try {
      if (execution.finished_at !== null) {
        finished(sse, execution);
      } else if (execution.node_name === ctx.nodeName || request.query.local === '1') {
        await followHere(ctx, sse, execution);
      } else {
        const relayed = await relay(ctx, request, sse, execution);
        if (relayed !== true && !sse.closed) {
          sse.send('info', { message: `live output unavailable: ${relayed}; the output follows when the execution finishes` });
          await followHere(ctx, sse, execution);
        }
      }
    } finally {
      sse.close();
    }
  });
}

/**
 * Runs (or is about to run) on this agent: its output as it comes, then the record. The store is
 * re-read now and then, for an end this agent never sees (closed by the leader, or by recovery).
 */
function followHere(ctx: ApiContext, sse: Sse, e: Execution): Promise<void> {
  return new Promise<void>((resolve) => {
    let streamed = false;
    let done = false;
    const end = (record: Execution | null): void => {
      if (done) return;
      done = true;
      handle.stop();
      clearInterval(timer);
      if (record) finished(sse, record, !streamed);
      resolve();
    };
    const handle = ctx.follow(
      e.id,
      (text) => {
        streamed = true;
        sse.send('output', { text });
      },
      (record) => end(record),
    );
    const check = async (): Promise<void> => {
      const now = await ctx.store.getExecution(e.job_name, e.id).catch(() => undefined);
      if (now === null) {
        sse.send('info', { message: `execution ${e.id} no longer exists` });
        end(null);
      } else if (now && now.finished_at !== null) {
        end(now);
      }
    };
    const timer = setInterval(() => void check(), CHECK_MS);
    sse.onClose(() => end(null));
    // It may have finished between the first read and the subscription.
    void check();
  });
}

interface Sse {
  send(event: string, data: unknown): void;
  comment(text: string): void;
  onClose(fn: () => void): void;
  close(): void;
  readonly closed: boolean;
}

function open(request: FastifyRequest, reply: FastifyReply): Sse {
  // Headers set by the guard (CORS) are kept: hijacking bypasses fastify's own send.
  const headers: Record<string, string | number | string[]> = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v;
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // nginx buffers responses by default, which would hold the stream back.
    'x-accel-buffering': 'no',
  });
  let closed = false;
  const closers: (() => void)[] = [];
  const heartbeat = setInterval(() => write(': ping\n\n'), HEARTBEAT_MS);
  const onGone = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    for (const fn of closers.splice(0)) fn();
  };
  request.raw.once('close', onGone);
  raw.once('close', onGone);
  function write(text: string): void {
    if (!closed) raw.write(text);
  }
  return {
    send: (event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    comment: (text) => write(`: ${text}\n\n`),
    onClose: (fn) => (closed ? fn() : closers.push(fn)),
    close: () => {
      if (closed) return;
      onGone();
      raw.end();
    },
    get closed() {
      return closed;
    },
  };
}

/** A finished execution: its stored output (unless streamed already), then the record. */
function finished(sse: Sse, e: Execution, withOutput = true): void {
  if (withOutput && e.output !== '') sse.send('output', { text: e.output });
  sse.send('end', e);
}

/** Pipe the running agent's stream through. True when it ended normally; else why it couldn't. */
async function relay(ctx: ApiContext, request: FastifyRequest, sse: Sse, e: Execution): Promise<true | string> {
  const member = (await ctx.cluster.members().catch(() => [])).find((m) => m.Name === e.node_name);
  if (!member) return `agent ${e.node_name} is not a member right now`;
  const host = member.Addr === '' || member.Addr === '0.0.0.0' || member.Addr === '::' ? '127.0.0.1' : member.Addr;
  const url = `${request.protocol}://${host.includes(':') ? `[${host}]` : host}:${member.Port}/v1/jobs/${encodeURIComponent(e.job_name)}/executions/${encodeURIComponent(e.id)}/stream?local=1`;
  const controller = new AbortController();
  sse.onClose(() => controller.abort());
  try {
    const auth = request.headers.authorization;
    const res = await fetch(url, { headers: auth ? { authorization: auth } : {}, signal: controller.signal });
    if (!res.ok || !res.body) return `agent ${e.node_name} answered ${res.status}`;
    const decoder = new TextDecoder();
    let pending = '';
    for await (const chunk of res.body) {
      const { events, rest } = takeSseEvents(pending + decoder.decode(chunk as Uint8Array, { stream: true }));
      pending = rest;
      // Whole events only, re-sent through send(): heartbeats and closing stay in one place.
      for (const e of events) sse.send(e.event, e.data);
    }
    return true;
  } catch (err) {
    if (sse.closed) return true;
    return `agent ${e.node_name} unreachable (${(err as Error).message})`;
  }
}

