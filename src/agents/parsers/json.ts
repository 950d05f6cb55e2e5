/** Narrowing helpers for the untyped JSON the CLIs print: read what is there, never trust a shape. */

import type { Usage } from '../types.js';

export type JsonObject = Record<string, unknown>;

/** The value as a plain object, or undefined. */
export function asRecord(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}

/** The value as a string, or undefined. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The value as a finite number, or undefined. */
export function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The value as an array (empty when it is not one). */
export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The line as a JSON object; undefined for anything else (not JSON, or JSON that is not an object). */
export function parseJsonObject(line: string): JsonObject | undefined {
  // Cheap pre-check: a line that cannot be an object is not worth a JSON.parse (a 100 KB progress bar, say).
  if (!line.startsWith('{')) return undefined;
  try {
    return asRecord(JSON.parse(line));
  } catch {
    return undefined;
  }
}

/** The object without its undefined fields, so events carry no `key: undefined` (they compare and log cleanly). */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The token counts of an Anthropic-style `usage` block (`input_tokens`, `output_tokens`, `cache_read_input_tokens`,
 * `cache_creation_input_tokens`), which Claude Code, Qwen Code and droid all report.
 */
export function anthropicTokens(
  usage: unknown,
): Pick<Usage, 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens'> {
  const u = asRecord(usage);
  return {
    inputTokens: num(u?.input_tokens),
    outputTokens: num(u?.output_tokens),
    cacheReadTokens: num(u?.cache_read_input_tokens),
    cacheWriteTokens: num(u?.cache_creation_input_tokens),
  };
}
