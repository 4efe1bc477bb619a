import { readFile } from 'node:fs/promises';
import type * as GrpcJs from '@grpc/grpc-js';
import type { GrpcReflection as GrpcReflectionClass } from 'grpc-js-reflection-client';
import { formatDuration } from '../util/duration.js';
import { parseGrpcConfig } from './grpc-config.js';
import type { GrpcJobConfig } from './grpc-config.js';
import { GrpcJsonError, fromJson, toJson } from './grpc-json.js';
import type { PbType } from './grpc-json.js';
import type { Problem } from './http-config.js';
import { OutputBuffer } from './output-buffer.js';
import type { ExecutionOutcome, ExecutionRequest, Executor } from './types.js';

/** The part of a protobufjs Service the executor uses (see grpc-json.ts for why it is structural). */
interface PbMethod {
  requestStream?: boolean;
  responseStream?: boolean;
  resolvedRequestType: PbType | null;
  resolvedResponseType: PbType | null;
  resolve(): unknown;
}
interface PbService {
  methods: Record<string, PbMethod>;
}
interface PbRoot {
  lookup(path: string): unknown;
}

/** A failure before the RPC got a status (reflection, body, connection). */
class CallSetupError extends Error {}

/**
 * dkron's `grpc` executor: one unary call, the method found through server
 * reflection (as grpcurl, which dkron embeds), the request and response in
 * protobuf JSON. Success = the call's status equals `expectCode` (default 0, OK).
 */
export class GrpcExecutor implements Executor {
  readonly name = 'grpc';

  validate(config: Record<string, string>): Problem | null {
    const parsed = parseGrpcConfig(config);
    return 'field' in parsed ? parsed : null;
  }

  async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    const output = new OutputBuffer(request.outputLimit);
    try {
      return await this.run(request, output);
    } catch (err) {
      // Never reject: a surprise here is a failed attempt, not a lost run.
      return outcome(output, false, (err as Error).message);
    }
  }

  private async run(request: ExecutionRequest, output: OutputBuffer): Promise<ExecutionOutcome> {
    const config = parseGrpcConfig(request.config);
    if ('field' in config) return outcome(output, false, `${config.field}: ${config.message}`);
    if (request.signal.aborted) return outcome(output, false, abortedNote(request.signal));
    const emit = (text: string): void => {
      const chunk = Buffer.from(text);
      output.append(chunk);
      try {
        request.onOutput?.(chunk);
      } catch {
        // A broken live-output consumer must not break the run itself.
      }
    };

    // Loaded on first use: agents that never run gRPC jobs never load them.
    const grpc = await import('@grpc/grpc-js');
    const { GrpcReflection } = await import('grpc-js-reflection-client');

    let credentials: GrpcJs.ChannelCredentials;
    if (config.tls.enabled) {
      let ca: Buffer | null = null;
      if (config.tls.caFile !== '') {
        try {
          ca = await readFile(config.tls.caFile);
        } catch (err) {
          return outcome(output, false, `cannot read TLS file "${config.tls.caFile}": ${(err as Error).message}`);
        }
      }
      credentials = grpc.credentials.createSsl(ca, null, null, { rejectUnauthorized: !config.tls.noVerifyPeer });
    } else {
      credentials = grpc.credentials.createInsecure();
    }

    // One channel for reflection and the call, closed when the run ends.
    const channel = new grpc.Channel(config.address, credentials, {});
    const deadline = new Date(Date.now() + config.timeoutMs);
    const metadata = new grpc.Metadata();
    for (const [key, value] of config.metadata) {
      if (key.endsWith('-bin')) metadata.add(key, Buffer.from(value, 'base64'));
      else metadata.add(key, value);
    }
    const timeoutNote = `timeout after ${formatDuration(config.timeoutMs)}`;
    // Aborting rejects `aborted` (which every await below races) and cancels the call in flight.
    let cancelCall: (() => void) | undefined;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => {
        cancelCall?.();
        reject(new CallSetupError(abortedNote(request.signal)));
      };
      request.signal.addEventListener('abort', onAbort, { once: true });
    });
    // The race below may never settle it; a rejection nobody awaits must not crash the agent.
    aborted.catch(() => undefined);

    try {
      const lookup = this.findMethod(config, channel, credentials, metadata, deadline, GrpcReflection, timeoutNote);
      // After an abort wins the race, the lookup still ends (at the deadline at the latest) unobserved.
      lookup.catch(() => undefined);
      const { requestType, responseType } = await Promise.race([lookup, aborted]);

      let payload: Buffer;
      try {
        payload = Buffer.from(requestType.encode(requestType.fromObject(fromJson(requestType, config.body))).finish());
      } catch (err) {
        const why = err instanceof GrpcJsonError ? err.message : `cannot encode body: ${(err as Error).message}`;
        throw new CallSetupError(`executor_config.body: ${why}`);
      }

      const client = new grpc.Client(config.address, credentials, { channelOverride: channel });
      const result = await Promise.race([
        new Promise<{ error: GrpcJs.ServiceError | null; response: Buffer | undefined }>((resolve) => {
          const call = client.makeUnaryRequest(
            `/${config.service}/${config.method}`,
            (b: Buffer) => b,
            (b: Buffer) => b,
            payload,
            metadata,
            { deadline },
            (error, response) => resolve({ error, response }),
          );
          cancelCall = () => call.cancel();
        }),
        aborted,
      ]);

      const code = result.error?.code ?? grpc.status.OK;
      if (result.error) {
        emit(`ERROR:\n  Code: ${statusName(grpc, code)}\n  Message: ${result.error.details}\n`);
      } else if (result.response) {
        emit(`${JSON.stringify(toJson(responseType, responseType.decode(result.response)), null, 2)}\n`);
      }
      if (code === config.expectCode) return outcome(output, true, '');
      const timedOut = code === grpc.status.DEADLINE_EXCEEDED && Date.now() >= deadline.getTime();
      return outcome(
        output,
        false,
        `server returned ${statusName(grpc, code)} (${code}), expected ${statusName(grpc, config.expectCode)} (${config.expectCode})${timedOut ? `: ${timeoutNote}` : ''}`,
      );
    } catch (err) {
      if (err instanceof CallSetupError) return outcome(output, false, err.message);
      throw err;
    } finally {
      if (onAbort) request.signal.removeEventListener('abort', onAbort);
      channel.close();
    }
  }

  /** Resolves the service and method through server reflection (v1, then v1alpha, as grpcurl). */
  private async findMethod(
    config: GrpcJobConfig,
    channel: GrpcJs.Channel,
    credentials: GrpcJs.ChannelCredentials,
    metadata: GrpcJs.Metadata,
    deadline: Date,
    Reflection: typeof GrpcReflectionClass,
    timeoutNote: string,
  ): Promise<{ requestType: PbType; responseType: PbType }> {
    let root: PbRoot | undefined;
    let lastError = '';
    for (const version of ['v1', 'v1alpha']) {
      try {
        // channelOverride is a Client option the library passes through to its client.
        const reflection = new Reflection(config.address, credentials, { channelOverride: channel } as GrpcJs.ChannelOptions, version);
        const descriptor = await reflection.getDescriptorBySymbol(config.service, metadata, { deadline });
        root = descriptor.getProtobufJsRoot() as unknown as PbRoot;
        break;
      } catch (err) {
        // The library flattens the gRPC error into its message ("Error: 12 UNIMPLEMENTED: …").
        lastError = (err as Error).message.replace(/^Error: /, '');
        if (!/\b12 UNIMPLEMENTED\b/.test(lastError)) break;
      }
    }
    if (!root) {
      if (/\b4 DEADLINE_EXCEEDED\b/.test(lastError)) throw new CallSetupError(`${timeoutNote} (server reflection)`);
      if (/Symbol not found/i.test(lastError)) throw new CallSetupError(`service "${config.service}" not found on ${config.address} (server reflection)`);
      throw new CallSetupError(`server reflection failed on ${config.address}: ${lastError}`);
    }

    const service = root.lookup(config.service);
    if (!service || typeof service !== 'object' || !('methods' in service)) {
      throw new CallSetupError(`"${config.service}" on ${config.address} is not a service`);
    }
    const methods = (service as PbService).methods;
    const method = Object.hasOwn(methods, config.method) ? methods[config.method] : undefined;
    if (!method) {
      const known = Object.keys(methods).sort().join(', ') || 'none';
      throw new CallSetupError(`service "${config.service}" has no method "${config.method}" (methods: ${known})`);
    }
    if (method.requestStream || method.responseStream) {
      throw new CallSetupError(`${config.service}/${config.method} is a streaming method; only unary calls are supported`);
    }
    method.resolve();
    if (!method.resolvedRequestType || !method.resolvedResponseType) {
      throw new CallSetupError(`cannot resolve the message types of ${config.service}/${config.method}`);
    }
    return { requestType: method.resolvedRequestType, responseType: method.resolvedResponseType };
  }
}

function statusName(grpc: typeof GrpcJs, code: number): string {
  // grpc.status is a numeric enum: its reverse mapping gives the name.
  return (grpc.status as unknown as Record<number, string | undefined>)[code] ?? `CODE_${code}`;
}

function abortedNote(signal: AbortSignal): string {
  // The reason is whatever the agent aborted with; any value is printable.
  const reason: unknown = signal.reason;
  return `aborted: ${reason instanceof Error ? reason.message : String(reason ?? 'aborted')}`;
}

function outcome(output: OutputBuffer, success: boolean, note: string): ExecutionOutcome {
  const text = output.toString();
  let full = text;
  if (note !== '') full = `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${note}\n`;
  // No process ran: exitCode stays null, as the interface asks.
  return { success, exitCode: null, output: full, truncated: output.truncated };
}
