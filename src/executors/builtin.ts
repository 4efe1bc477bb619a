/**
 * The executors every agent has. Each loads its client library (NATS, AMQP, gRPC) on first use,
 * so an agent that only runs shell jobs starts and idles without them.
 */
import { GrpcExecutor } from './grpc.js';
import { HttpExecutor } from './http.js';
import { NatsExecutor } from './nats.js';
import { RabbitMQExecutor } from './rabbitmq.js';
import { ShellExecutor } from './shell.js';
import type { JobSpawner } from './spawner/job-spawner.js';
import type { Executor } from './types.js';

/** `spawner`: how the shell executor starts processes (the agent's spawner pool; default in-process). */
export function builtinExecutors(options: { spawner?: JobSpawner } = {}): Executor[] {
  return [new ShellExecutor({ spawner: options.spawner }), new HttpExecutor(), new GrpcExecutor(), new NatsExecutor(), new RabbitMQExecutor()];
}
