/** Claude Code (`claude -p … --output-format stream-json --verbose`). */
import { ClaudeStreamParser } from './claude-stream.js';
import type { ParserFactory } from './types.js';

/**
 * Parser for Claude Code. Success is `result.is_error === false` and exit 0: `subtype` stays "success" on API
 * errors, and SIGINT yields an `error_during_execution` result with exit 0.
 */
export const claudeParser: ParserFactory = (options = {}) =>
  new ClaudeStreamParser({ ...options, product: 'Claude Code', apiErrorInText: false });
