/**
 * Keeps the last `limit` bytes of a job's output. Jobs can print gigabytes, so
 * chunks are kept as they arrive and trimmed from the head instead of building
 * one growing buffer.
 */
export class OutputBuffer {
  readonly limit: number;
  /** True once any byte has been dropped to stay within `limit`. */
  truncated = false;
  /** All bytes ever appended, kept or not. */
  totalBytes = 0;

  private chunks: Buffer[] = [];
  // Index of the first live chunk; advancing it avoids Array#shift's O(n) per drop.
  private head = 0;
  private held = 0;

  constructor(limit: number) {
    this.limit = Number.isNaN(limit) ? 0 : Math.max(0, Math.floor(limit));
  }

  /** Bytes currently kept (at most `limit`). */
  get bytes(): number {
    return this.held;
  }

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.totalBytes += chunk.length;
    if (chunk.length >= this.limit) {
      // The new chunk alone fills the window: everything older goes.
      if (this.held > 0 || chunk.length > this.limit) this.truncated = true;
      this.chunks = this.limit === 0 ? [] : [chunk.subarray(chunk.length - this.limit)];
      this.head = 0;
      this.held = this.limit;
      return;
    }
    this.chunks.push(chunk);
    this.held += chunk.length;
    while (this.held > this.limit) {
      const first = this.chunks[this.head] as Buffer;
      const excess = this.held - this.limit;
      this.truncated = true;
      if (first.length <= excess) {
        this.head++;
        this.held -= first.length;
      } else {
        this.chunks[this.head] = first.subarray(excess);
        this.held -= excess;
      }
    }
    // Compact lazily so dropped chunks can be garbage collected.
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  toString(): string {
    let buf = Buffer.concat(this.head === 0 ? this.chunks : this.chunks.slice(this.head), this.held);
    if (this.truncated) {
      // The cut may have landed inside a UTF-8 sequence: skip its orphaned
      // continuation bytes (10xxxxxx, at most 3) rather than emit U+FFFD.
      let skip = 0;
      while (skip < 3 && skip < buf.length && ((buf[skip] as number) & 0xc0) === 0x80) skip++;
      if (skip > 0) buf = buf.subarray(skip);
    }
    return buf.toString('utf8');
  }
}
