/**
 * Label values that come from outside the gateway's own code (tool names a CLI reports, model names, skills a
 * config declares) kept to a bounded set: the first `max` distinct values are used as they are (cut to a safe
 * length and alphabet), every later one becomes `other`. A scrape can then never grow without bound, whatever a
 * CLI or a caller sends.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(private readonly max: number) {}

  /** The label value to use for `raw` (`unknown` when absent or blank). */
  of(raw: string | undefined): string {
    if (raw === undefined) return 'unknown';
    const value = raw
      .trim()
      .replace(/[^A-Za-z0-9_.:/@-]/g, '_')
      .slice(0, 64);
    if (value === '') return 'unknown';
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(value);
    return value;
  }
}
