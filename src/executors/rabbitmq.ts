import type { ChannelModel, ConfirmChannel, Message } from 'amqplib';
import { OutputBuffer } from './output-buffer.js';
import { AbortedError, publishTimeout, redactUrl, withinDeadline } from './publish-common.js';
import type { ExecutionOutcome, ExecutionRequest, Executor } from './types.js';

type Problem = { field: string; message: string };

const BOOLEAN_KEYS = ['queue.create', 'queue.durable', 'queue.auto_delete', 'queue.exclusive'] as const;
// Go's base64.StdEncoding: standard alphabet, padding required.
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * dkron's `rabbitmq` executor: publishes one message to `exchange` (default:
 * the default exchange) with routing key `queue.name`, optionally declaring the
 * queue first. Publishes on a confirm channel, as mandatory, so success means
 * the broker took the message and routed it somewhere. `timeout` (seconds or a
 * Go duration, default 10 s) bounds the whole run; dkron has no such key.
 */
export class RabbitMQExecutor implements Executor {
  readonly name = 'rabbitmq';

  validate(config: Record<string, string>): Problem | null {
    const urlProblem = checkUrl(config.url);
    if (urlProblem) return { field: 'executor_config.url', message: urlProblem };
    if ((config['queue.name'] ?? '') === '') {
      return { field: 'executor_config.queue.name', message: 'queue.name is required (it is the routing key)' };
    }
    for (const key of BOOLEAN_KEYS) {
      const v = config[key];
      if (v !== undefined && v !== '' && v !== 'true' && v !== 'false') {
        return { field: `executor_config.${key}`, message: `${key} must be "true" or "false", got "${v}"` };
      }
    }
    const mode = config['message.delivery_mode'];
    if (mode !== undefined && mode !== '' && mode !== '1' && mode !== '2') {
      return {
        field: 'executor_config.message.delivery_mode',
        message: `message.delivery_mode must be 1 (transient) or 2 (persistent), got "${mode}"`,
      };
    }
    const body = config['message.body'] ?? '';
    const b64 = config['message.base64Body'] ?? '';
    if (body !== '' && b64 !== '') {
      return { field: 'executor_config.message.base64Body', message: 'set message.body or message.base64Body, not both' };
    }
    if (b64 !== '' && !STD_BASE64.test(b64)) {
      return { field: 'executor_config.message.base64Body', message: 'message.base64Body is not valid padded base64' };
    }
    const timeout = publishTimeout(config.timeout);
    if (typeof timeout === 'string') return { field: 'executor_config.timeout', message: timeout };
    return null;
  }

  async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    const output = new OutputBuffer(request.outputLimit);
    const finish = (success: boolean, line: string): ExecutionOutcome => {
      output.append(Buffer.from(`${line}\n`));
      return { success, exitCode: null, output: output.toString(), truncated: output.truncated };
    };
    const problem = this.validate(request.config);
    if (problem) return finish(false, `${problem.field}: ${problem.message}`);

    const c = request.config;
    const queue = c['queue.name'] as string;
    // dkron's docs and UI name the default exchange "amq.default"; RabbitMQ only knows it as "".
    const exchange = c.exchange === undefined || c.exchange === 'amq.default' ? '' : c.exchange;
    const b64 = c['message.base64Body'] ?? '';
    const body = b64 !== '' ? Buffer.from(b64, 'base64') : Buffer.from(c['message.body'] ?? '', 'utf8');
    const mode = c['message.delivery_mode'] ?? '';
    const plan: Plan = {
      url: c.url as string,
      exchange,
      queue,
      declare:
        c['queue.create'] === 'true'
          ? {
              durable: c['queue.durable'] === 'true',
              autoDelete: c['queue.auto_delete'] === 'true',
              exclusive: c['queue.exclusive'] === 'true',
            }
          : null,
      body,
      contentType: (c['message.content_type'] ?? '') === '' ? 'text/plain' : (c['message.content_type'] as string),
      deliveryMode: mode === '' ? undefined : Number(mode),
      messageId: (c['message.messageId'] ?? '') === '' ? undefined : c['message.messageId'],
      timeoutMs: publishTimeout(c.timeout) as number,
    };
    const target = `exchange ${exchange === '' ? '(default)' : `"${exchange}"`} with routing key "${queue}"`;
    try {
      await publish(plan, request.signal);
      return finish(true, `published ${body.length} bytes to ${target}`);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (err instanceof AbortedError) return finish(false, reason);
      return finish(false, `rabbitmq: publishing to ${target} at ${redactUrl(plan.url)} failed: ${reason}`);
    }
  }
}

interface Plan {
  url: string;
  exchange: string;
  queue: string;
  declare: { durable: boolean; autoDelete: boolean; exclusive: boolean } | null;
  body: Buffer;
  contentType: string;
  deliveryMode: number | undefined;
  messageId: string | undefined;
  timeoutMs: number;
}

async function publish(plan: Plan, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw new AbortedError(signal);
  // Loaded on first use: agents that never publish to RabbitMQ never load the client.
  const amqp = await import('amqplib');
  let conn: ChannelModel | undefined;
  // The broker's own words (e.g. 404 NOT_FOUND - no exchange) arrive as a
  // channel 'error'; the confirm callback only says "channel closed".
  let brokerError: Error | undefined;
  try {
    await withinDeadline(
      async (abandoned) => {
        conn = await amqp.connect(plan.url, { timeout: plan.timeoutMs });
        // Without listeners these events would be thrown as uncaught errors.
        conn.on('error', (err: Error) => (brokerError ??= err));
        if (abandoned()) return;
        const ch: ConfirmChannel = await conn.createConfirmChannel();
        ch.on('error', (err: Error) => (brokerError ??= err));
        let returned: Message | undefined;
        ch.on('return', (msg: Message) => (returned = msg));
        if (plan.declare) await ch.assertQueue(plan.queue, plan.declare);
        if (abandoned()) return;
        await new Promise<void>((resolve, reject) => {
          ch.publish(
            plan.exchange,
            plan.queue,
            plan.body,
            {
              contentType: plan.contentType,
              deliveryMode: plan.deliveryMode,
              messageId: plan.messageId,
              // dkron publishes non-mandatory, so a message nobody can receive is dropped
              // and the run still succeeds; here the broker hands it back and the run fails.
              mandatory: true,
            },
            (err: unknown) => {
              if (err) reject(brokerError ?? (err instanceof Error ? err : new Error(String(err))));
              else resolve();
            },
          );
        });
        // RabbitMQ sends basic.return before the confirm of the same message.
        if (returned) throw new Error(describeReturn(returned));
      },
      { timeoutMs: plan.timeoutMs, signal, close: () => closeQuietly(conn) },
    );
  } catch (err) {
    // amqplib reports a failed RPC (assertQueue) with its own wrapper; the broker's reason is more useful.
    if (brokerError && !(err instanceof AbortedError)) throw brokerError;
    throw err;
  }
}

async function closeQuietly(conn: ChannelModel | undefined): Promise<void> {
  if (!conn) return;
  try {
    // Closing the connection closes its channels.
    await conn.close();
  } catch {
    // Already closed (or broken); the outcome is already decided.
  }
}

function describeReturn(msg: Message): string {
  // basic.return carries replyCode/replyText, which amqplib's Message type omits.
  const fields = msg.fields as Message['fields'] & { replyCode?: number; replyText?: string };
  return `the broker could not route the message (${fields.replyCode ?? '?'} ${fields.replyText ?? 'returned'}): no queue is bound for it; set queue.create to "true" or bind a queue`;
}

function checkUrl(raw: string | undefined): string | null {
  if (raw === undefined || raw.trim() === '') return 'url is required for the rabbitmq executor (amqp://user:pass@host:port/vhost)';
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return `"${redactUrl(raw)}" is not a URL; expected amqp://user:pass@host:port/vhost`;
  }
  if (u.protocol !== 'amqp:' && u.protocol !== 'amqps:') return `"${redactUrl(raw)}" must use the amqp:// or amqps:// scheme`;
  if (u.hostname === '') return `"${redactUrl(raw)}" has no host`;
  return null;
}

