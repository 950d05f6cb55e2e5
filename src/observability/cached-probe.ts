/**
 * A slow check (running each CLI's `--version`) made at most once per `ttlMs`, however many requests ask: the
 * first ask starts it, later asks share the same answer until it is older than `ttlMs`. A probe that throws is
 * not cached.
 */
export class CachedProbe<T> {
  private current: { at: number; value: Promise<T> } | undefined;

  constructor(
    private readonly probe: () => Promise<T>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<T> {
    const t = this.now();
    if (!this.current || t - this.current.at > this.ttlMs) {
      const value = this.probe();
      const entry = { at: t, value };
      this.current = entry;
      value.catch(() => {
        if (this.current === entry) this.current = undefined;
      });
    }
    return this.current.value;
  }

  /**
   * The answer if it comes within `waitMs`, else undefined (the probe goes on, and a later ask gets its answer).
   */
  async within(waitMs: number): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), waitMs);
    });
    try {
      return await Promise.race([this.get(), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
