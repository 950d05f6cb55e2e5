/**
 * A least-recently-used map of values that hold text (a task's stored JSON, its answer), bounded by count and by
 * the characters it holds: a poll of the same tasks is served from memory, and a few tasks with megabytes of
 * output (an agent's whole log as its summary) neither stay pinned nor push the gateway's memory up. A value
 * larger than `maxEntryChars` is not kept at all.
 */
export class TextCache<V> {
  private readonly entries = new Map<string, { value: V; chars: number }>();
  private chars = 0;

  constructor(
    private readonly limits: { maxEntries: number; maxChars: number; maxEntryChars: number },
    private readonly charsOf: (value: V) => number,
  ) {}

  /** The value, now the most recently used. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V): void {
    this.delete(key);
    const chars = this.charsOf(value);
    if (chars > this.limits.maxEntryChars) return;
    this.entries.set(key, { value, chars });
    this.chars += chars;
    while (this.entries.size > this.limits.maxEntries || this.chars > this.limits.maxChars) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.chars -= entry.chars;
  }

  clear(): void {
    this.entries.clear();
    this.chars = 0;
  }

  get size(): number {
    return this.entries.size;
  }
}
