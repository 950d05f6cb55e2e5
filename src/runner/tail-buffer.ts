/**
 * Keeps the last `capBytes` bytes of a stream. The end of a run's output is what a caller needs (the final result
 * line, the fatal error after a flood of warnings), so the start is what gets dropped. Memory stays under about
 * twice the cap plus one chunk: chunks are compacted when they pass that.
 */
export class TailBuffer {
  readonly #capBytes: number;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #truncated = false;

  constructor(capBytes: number) {
    this.#capBytes = capBytes;
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    // The chunk count bound stops a trickle of tiny writes from pinning many small buffers.
    if (this.#bytes > 2 * this.#capBytes || this.#chunks.length > 1024) this.#compact();
  }

  /** The kept bytes as UTF-8; when truncated, a character cut at the start is skipped rather than garbled. */
  toString(): string {
    this.#compact();
    const kept = this.#chunks[0];
    if (!kept) return '';
    let start = 0;
    if (this.#truncated) while (start < kept.length && ((kept[start] ?? 0) & 0xc0) === 0x80) start++;
    return kept.toString('utf8', start);
  }

  #compact(): void {
    if (this.#chunks.length === 0) return;
    const all =
      this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#bytes);
    if (all.length > this.#capBytes) {
      this.#truncated = true;
      // Copy, so the kept tail does not pin the whole concatenation.
      const tail = Buffer.from(all.subarray(all.length - this.#capBytes));
      this.#chunks = tail.length > 0 ? [tail] : [];
      this.#bytes = tail.length;
    } else {
      this.#chunks = [all];
      this.#bytes = all.length;
    }
  }
}
