import type { Processor } from './types.js';

/** Processors available on this agent: built-ins plus plugins registered at start. */
export class ProcessorRegistry {
  private readonly processors = new Map<string, Processor>();

  register(processor: Processor): void {
    this.processors.set(processor.name, processor);
  }

  get(name: string): Processor | undefined {
    return this.processors.get(name);
  }

  names(): string[] {
    return [...this.processors.keys()].sort();
  }

  /** Save-time check: every named processor's config. Unknown names are left to placement (another agent may have it). */
  validate(processors: Record<string, Record<string, string>>): { field: string; message: string } | null {
    for (const [name, config] of Object.entries(processors)) {
      const impl = this.processors.get(name);
      if (!impl) continue;
      const problem = impl.validate(config);
      if (problem) return problem;
    }
    return null;
  }
}
