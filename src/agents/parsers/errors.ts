/** Model-API errors as the CLIs print them, turned into a {@link Failure} a person can act on. */
import type { AgentErrorKind } from '../types.js';
import { asRecord, num, str } from './json.js';
import { oneLine } from './summarize.js';
import type { Failure } from './types.js';

const AUTH_TEXT =
  /\b(401|403)\b|unauthori[sz]ed|unauthenticated|authenticat|invalid[ _-]?(x-)?api[ _-]?key|api[ _-]?key\b.{0,40}\b(invalid|missing|not valid|expired)|forbidden/i;
// Gemini's 403 status word. Case-sensitive on purpose: a shell's "Permission denied" is no credential problem.
const AUTH_STATUS_WORD = /\bPERMISSION_DENIED\b/;
const RATE_TEXT =
  /\b429\b|rate[ _-]?limit|usage[ _-]?limit|too many requests|resource[_ ]exhausted|\bquota\b/i;
const API_TEXT =
  /\b5\d\d\b|server[ _]error|internal error|overloaded|high demand|service unavailable|bad gateway|api error/i;
// The model API could not be reached at all: still the API's side, not the agent's.
const UNREACHABLE_TEXT =
  /could not connect|connection (refused|failed|reset)|econnrefused|enotfound|etimedout|socket hang up|other side closed/i;

/** The kind of an error, from its HTTP status when known, else from its words. */
export function classifyError(text: string, status?: number): AgentErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'rate_limit';
  if (status !== undefined && status >= 400) return 'api';
  if (AUTH_TEXT.test(text) || AUTH_STATUS_WORD.test(text)) return 'auth';
  if (RATE_TEXT.test(text)) return 'rate_limit';
  if (API_TEXT.test(text) || UNREACHABLE_TEXT.test(text)) return 'api';
  return 'other';
}

const STATUS_PATTERNS = [
  /"(?:code|status)"\s*:\s*([45]\d\d)\b/,
  /\bstatus(?: code)?[\s:=]+([45]\d\d)\b/i,
  /^([45]\d\d)\b/,
  /\(([45]\d\d)\)/,
  /\b([45]\d\d) (?:Unauthorized|Forbidden|Too Many Requests|Internal Server Error|Bad Gateway|Service Unavailable)\b/i,
];

/** The HTTP status an error text mentions in one of the usual ways, if any. */
export function statusInText(text: string): number | undefined {
  for (const pattern of STATUS_PATTERNS) {
    const match = pattern.exec(text);
    if (match?.[1]) return Number(match[1]);
  }
  return undefined;
}

/**
 * The human part of an error text that embeds an API error body, e.g. `[API Error: {"error":{"message":"…"}}]`
 * (Gemini, Qwen) or `401 {"type":"error","error":{"message":"…"}}` (droid); the text itself otherwise.
 */
function readableMessage(text: string): string {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start === -1 || end <= start) return text;
  let body: unknown;
  try {
    body = JSON.parse(text.slice(start, end + 1));
  } catch {
    return text;
  }
  const outer = asRecord(body);
  const inner = asRecord(outer?.error) ?? outer;
  return str(inner?.message) ?? str(outer?.message) ?? text;
}

/** A {@link Failure} from an error text, with the status read from the text when not given. */
export function toFailure(text: string, status?: number): Failure {
  const code = status ?? statusInText(text);
  const failure: Failure = { message: readableMessage(text.trim()), kind: classifyError(text, code) };
  if (code !== undefined) failure.status = code;
  return failure;
}

/** The same, for an error object (`{message, code?, status?}`) or a string. */
export function failureFrom(error: unknown, fallback: string): Failure {
  const record = asRecord(error);
  if (!record) return toFailure(str(error) ?? fallback);
  const message = str(record.message) ?? str(asRecord(record.data)?.message) ?? str(record.name) ?? fallback;
  return toFailure(message, num(record.code) ?? num(record.status));
}

/** The outcome reason for a failure reported by `product`, saying what a person can do about it. */
export function describeFailure(product: string, failure: Failure): string {
  const status = failure.status !== undefined ? ` (HTTP ${failure.status})` : '';
  const message = oneLine(failure.message, 300);
  switch (failure.kind) {
    case 'auth':
      return `${product} could not authenticate with its model API${status}: ${message}. Check the API key or login it uses.`;
    case 'rate_limit':
      return `${product} was rate-limited by its model API${status}: ${message}. Try again later.`;
    case 'api':
      return `${product}'s model API call failed${status}: ${message}`;
    case 'not_installed':
    case 'other':
      return `${product} failed: ${message}`;
    default: {
      const never: never = failure.kind;
      return `${product} failed (${String(never)}): ${message}`;
    }
  }
}
