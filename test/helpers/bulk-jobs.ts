/** Jobs and executors for bulk-write tests that call applyBulk without an agent. */
import { ExecutorRegistry } from '../../src/executors/registry.js';
import { builtinExecutors } from '../../src/executors/builtin.js';

export function bulkExecutors(): ExecutorRegistry {
  const registry = new ExecutorRegistry();
  for (const e of builtinExecutors()) registry.register(e);
  return registry;
}

export function bulkJob(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, schedule: '@every 1h', executor: 'shell', executor_config: { command: `echo ${name}` }, metadata: { team: 'bulk' }, ...extra };
}
