/**
 * Whether the agent answers. A failed request marks it lost; pages keep the data they show and
 * the layout shows a "reconnecting" banner while /health is polled, until any answer comes back.
 */
import { Emitter } from './emitter.js';

const RETRY_MS = 2000;

class Connection extends Emitter {
  online = true;
  reason = '';
  /** The agent answering (X-Whom), shown in the header. */
  agent = '';
  /** Bumped when the agent comes back, so pages reload what they show. */
  generation = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  lost(reason: string): void {
    this.reason = reason;
    if (!this.online) return;
    this.online = false;
    this.emit();
    this.poll();
  }

  ok(agent: string | null): void {
    const changed = !this.online || (agent !== null && agent !== this.agent);
    if (agent !== null) this.agent = agent;
    if (!this.online) {
      this.online = true;
      this.generation++;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
    }
    if (changed) this.emit();
  }

  private poll(): void {
    this.timer = setTimeout(() => {
      fetch(new URL('../health', import.meta.url), { cache: 'no-store', credentials: 'omit' })
        .then((res) => this.ok(res.headers.get('X-Whom')))
        .catch(() => this.poll());
    }, RETRY_MS);
  }
}

export const connection = new Connection();
