/** The smallest store: listeners told "something changed"; components re-read what they show (see hooks.ts). */
export class Emitter {
  private readonly listeners = new Set<() => void>();

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  protected emit(): void {
    for (const fn of [...this.listeners]) fn();
  }
}
