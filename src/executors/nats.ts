import type { NatsConnection } from '@nats-io/transport-node';
import { OutputBuffer } from './output-buffer.js';
import { AbortedError, DeadlineError, MASK, publishTimeout, redactUrl, withinDeadline } from './publish-common.js';
import type { ExecutionOutcome, ExecutionRequest, Executor } from './types.js';

type Problem = { field: string; message: string };


/**
 * dkron's `nats` executor: publishes `message` on `subject` and succeeds once
 * the server has it. Keys: `url` (comma list allowed, as the Go client),
 * `subject`, `message`, `userName`, `password`, `debug`, and `timeout`
 * (seconds or a Go duration, bounding the whole run; dkron has no such key).
 */
export class NatsExecutor implements Executor {
  readonly name = 'nats';

  validate(config: Record<string, string>): Problem | null {
    const servers = parseServers(config.url);
    if (typeof servers === 'string') return { field: 'executor_config.url', message: servers };
    const subjectProblem = checkSubject(config.subject);
    if (subjectProblem) return { field: 'executor_config.subject', message: subjectProblem };
    const timeout = publishTimeout(config.timeout);
    if (typeof timeout === 'string') return { field: 'executor_config.timeout', message: timeout };
    const hasUser = (config.userName ?? '') !== '';
    if (!hasUser && (config.password ?? '') !== '') {
      return { field: 'executor_config.userName', message: 'userName is required when password is set' };
    }
    return null;
  }

  async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    const output = new OutputBuffer(request.outputLimit);
    const note = (text: string): void => output.append(Buffer.from(`${text}\n`));
    const finish = (success: boolean): ExecutionOutcome => ({
      success,
      exitCode: null,
      output: output.toString(),
      truncated: output.truncated,
    });

    if ((request.config.debug ?? '') !== '') note(`config: ${describeConfig(request.config)}`);
    const problem = this.validate(request.config);
    if (problem) {
      note(`${problem.field}: ${problem.message}`);
      return finish(false);
    }
    const servers = parseServers(request.config.url) as string[];
    const subject = request.config.subject as string;
    const timeoutMs = publishTimeout(request.config.timeout) as number;
    const payload = Buffer.from(request.config.message ?? '', 'utf8');

    try {
      await publish(servers, subject, payload, request.config, timeoutMs, request.signal);
      note(`published ${payload.length} bytes to subject ${subject}`);
      return finish(true);
    } catch (err) {
      note(describeError(err, servers, request.config.userName));
      return finish(false);
    }
  }
}

async function publish(
  servers: string[],
  subject: string,
  payload: Buffer,
  config: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) throw new AbortedError(signal);
  // Loaded on first use: agents that never publish to NATS never load the client.
  const { connect } = await import('@nats-io/transport-node');
  let nc: NatsConnection | undefined;
  await withinDeadline(
    async (abandoned) => {
      const userName = config.userName ?? '';
      nc = await connect({
        servers,
        timeout: timeoutMs,
        // One attempt per run: the scheduler's retries, not the client's, decide what happens next.
        reconnect: false,
        maxReconnectAttempts: 0,
        name: 'kairos',
        ...(userName !== '' ? { user: userName, pass: config.password ?? '' } : {}),
      });
      if (abandoned()) return;
      nc.publish(subject, payload);
      // publish() only buffers; flush() round-trips a PING, so the server has the message.
      await nc.flush();
    },
    { timeoutMs, signal, close: () => closeQuietly(nc) },
  );
}

async function closeQuietly(nc: NatsConnection | undefined): Promise<void> {
  if (!nc || nc.isClosed()) return;
  try {
    await nc.close();
  } catch {
    // Closing a broken connection can fail; the outcome is already decided.
  }
}

function describeError(err: unknown, servers: string[], userName: string | undefined): string {
  const where = servers.map(redactUrl).join(',');
  if (err instanceof AbortedError) return err.message;
  if (err instanceof DeadlineError) return `nats: publish to ${where} ${err.message}`;
  const e = err instanceof Error ? err : new Error(String(err));
  switch (e.name) {
    case 'AuthorizationError':
      return `nats: authorization failed at ${where}${userName ? ` for user "${userName}"` : ' (no userName given)'}: ${e.message}`;
    case 'TimeoutError':
      return `nats: connecting to ${where} timed out: ${e.message}`;
    case 'ConnectionError':
      return `nats: cannot connect to ${where}: ${e.message}`;
    default:
      return `nats: ${e.name !== 'Error' ? `${e.name}: ` : ''}${e.message} (server ${where})`;
  }
}

/** The server list, or a message saying what is wrong with it. */
function parseServers(raw: string | undefined): string[] | string {
  if (raw === undefined || raw.trim() === '') return 'url is required for the nats executor (nats://host:port)';
  const servers: string[] = [];
  for (const item of raw.split(',')) {
    const s = item.trim();
    if (s === '') continue;
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      return `"${redactUrl(s)}" is not a URL; expected nats://host:port`;
    }
    if (u.protocol !== 'nats:' && u.protocol !== 'tls:') {
      return `"${redactUrl(s)}" must use the nats:// or tls:// scheme`;
    }
    if (u.hostname === '') return `"${redactUrl(s)}" has no host`;
    if ((u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '') {
      return `"${redactUrl(s)}" must be scheme://host:port, without a path or query`;
    }
    servers.push(s);
  }
  if (servers.length === 0) return 'url is required for the nats executor (nats://host:port)';
  return servers;
}

/** A problem with the subject, or null. Publishing needs a literal subject. */
function checkSubject(subject: string | undefined): string | null {
  if (subject === undefined || subject === '') return 'subject is required for the nats executor';
  if (/\s/.test(subject)) return `subject "${subject}" must not contain whitespace`;
  const tokens = subject.split('.');
  if (tokens.some((t) => t === '')) return `subject "${subject}" has an empty token (leading, trailing or double ".")`;
  if (tokens.some((t) => t === '*' || t === '>')) {
    return `subject "${subject}" contains a wildcard; messages are published to a literal subject`;
  }
  return null;
}

/** dkron's `debug` echoes the config; secrets are masked. */
function describeConfig(config: Record<string, string>): string {
  const shown: Record<string, string> = {};
  for (const key of Object.keys(config).sort()) {
    const value = config[key] as string;
    if (key === 'password') shown[key] = value === '' ? '' : MASK;
    else if (key === 'url') shown[key] = value.split(',').map(redactUrl).join(',');
    else shown[key] = value;
  }
  return JSON.stringify(shown);
}
