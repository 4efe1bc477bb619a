/**
 * Splits a byte stream into lines for the plugin protocol. Bytes are kept until a newline
 * arrives, so a JSON message split across pipe reads (or a multi-byte character split across
 * chunks) is decoded whole. A plugin that writes a huge line without a newline would otherwise
 * grow memory without bound, so a line longer than `maxLineBytes` is an error.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** The complete lines in `chunk` (without their `\n`, a trailing `\r` dropped), or an error. */
  push(chunk: Buffer): { lines: string[] } | { error: string } {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      if (this.pendingBytes + piece.length > this.maxLineBytes) return { error: this.tooLong(piece) };
      const line = this.pendingBytes === 0 ? piece : Buffer.concat([...this.pending, piece]);
      this.pending = [];
      this.pendingBytes = 0;
      lines.push(stripCr(line.toString('utf8')));
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.pendingBytes + rest.length > this.maxLineBytes) return { error: this.tooLong(rest) };
      this.pending.push(rest);
      this.pendingBytes += rest.length;
    }
    return { lines };
  }

  /** The unterminated last line at end of stream, if any. */
  end(): string | null {
    if (this.pendingBytes === 0) return null;
    const line = Buffer.concat(this.pending).toString('utf8');
    this.pending = [];
    this.pendingBytes = 0;
    return stripCr(line);
  }

  private tooLong(next: Buffer): string {
    const head = Buffer.concat([...this.pending, next.subarray(0, 200)]).subarray(0, 200).toString('utf8');
    return `plugin wrote a protocol line longer than ${this.maxLineBytes} bytes: ${head}`;
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
