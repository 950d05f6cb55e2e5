/**
 * Removes secrets from text that leaves the gateway (logs, error messages, artifacts). Known secret values are
 * replaced wherever they appear; credentials in URLs and bearer tokens are masked by shape.
 */
export class SecretRedactor {
  private readonly values: string[];

  constructor(secrets: Iterable<string | undefined>) {
    // Longest first so a secret that contains another is masked whole; short values would mask ordinary words.
    this.values = [
      ...new Set([...secrets].filter((s): s is string => typeof s === 'string' && s.length >= 6)),
    ].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.values) {
      if (out.includes(value)) out = out.split(value).join('[REDACTED]');
    }
    return out
      .replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/]*):([^\s@/]+)@/gi, '$1$2:[REDACTED]@')
      .replace(/\b(Bearer)\s+[A-Za-z0-9._~+/=-]{8,}/g, '$1 [REDACTED]');
  }
}
