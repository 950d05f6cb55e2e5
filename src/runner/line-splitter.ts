import { StringDecoder } from 'node:string_decoder';

/**
 * Cuts `text` to at most `maxBytes` bytes of UTF-8 without splitting a character (a cut character is dropped
 * whole rather than turned into U+FFFD).
 */
export function cutUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the character that straddles the cut.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.toString('utf8', 0, end);
}

/**
 * Turns a byte stream into text lines. Lines end at `\n`; a `\r` before it is dropped. A UTF-8 character split
 * across chunks is decoded whole. A line longer than `maxLineBytes` is cut to that length and the rest of it, up
 * to the next `\n`, is discarded, so memory stays bounded however long a line runs. {@link LineSplitter.end}
 * flushes a last line that has no newline.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #maxLineBytes: number;
  readonly #onLine: (line: string) => void;
  #parts: string[] = [];
  #bytes = 0;
  #cut = false;

  constructor(maxLineBytes: number, onLine: (line: string) => void) {
    this.#maxLineBytes = maxLineBytes;
    this.#onLine = onLine;
  }

  push(chunk: Buffer): void {
    this.#split(this.#decoder.write(chunk));
  }

  end(): void {
    this.#split(this.#decoder.end());
    if (this.#parts.length > 0) this.#emit();
  }

  #split(text: string): void {
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline === -1) {
        this.#append(text.slice(start));
        return;
      }
      this.#append(text.slice(start, newline));
      this.#emit();
      start = newline + 1;
    }
  }

  #append(piece: string): void {
    if (this.#cut || piece === '') return;
    this.#parts.push(piece);
    this.#bytes += Buffer.byteLength(piece, 'utf8');
    // One byte of slack so that a line of exactly maxLineBytes followed by "\r" is not cut.
    if (this.#bytes > this.#maxLineBytes + 1) {
      this.#parts = [cutUtf8(this.#parts.join(''), this.#maxLineBytes)];
      this.#cut = true;
    }
  }

  #emit(): void {
    let line = this.#parts.join('');
    if (!this.#cut) {
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (this.#bytes > this.#maxLineBytes) line = cutUtf8(line, this.#maxLineBytes);
    }
    this.#parts = [];
    this.#bytes = 0;
    this.#cut = false;
    this.#onLine(line);
  }
}
