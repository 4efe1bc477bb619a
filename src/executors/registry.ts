import type { Executor } from './types.js';
import type { ExecutorCatalog } from '../job/schema.js';

/** Executors available on this agent: built-ins plus plugins registered at start. */
export class ExecutorRegistry implements ExecutorCatalog {
  private readonly executors = new Map<string, Executor>();

  register(executor: Executor): void {
    this.executors.set(executor.name, executor);
  }

  get(name: string): Executor | undefined {
    return this.executors.get(name);
  }

  names(): string[] {
    return [...this.executors.keys()].sort();
  }

  validate(executor: string, config: Record<string, string>): { field: string; message: string } | null {
    const impl = this.executors.get(executor);
    if (!impl) {
      return { field: 'executor', message: `unknown executor "${executor}" (available: ${this.names().join(', ')})` };
    }
    return impl.validate(config);
  }
}
