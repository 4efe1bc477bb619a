/** One-line notices after an action ("Job x saved"), cleared after a few seconds. */
import { Emitter } from './emitter.js';

class Flash extends Emitter {
  message = '';
  kind: 'ok' | 'error' = 'ok';
  private timer: ReturnType<typeof setTimeout> | null = null;

  show(message: string, kind: 'ok' | 'error' = 'ok'): void {
    this.message = message;
    this.kind = kind;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.message = '';
      this.emit();
    }, 6000);
    this.emit();
  }
}

export const flash = new Flash();
