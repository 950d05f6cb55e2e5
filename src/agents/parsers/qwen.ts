/** Qwen Code (`qwen -p … --output-format stream-json`): Claude Code's protocol, with a less reliable `is_error`. */
import { ClaudeStreamParser } from './claude-stream.js';
import type { ParserFactory } from './types.js';

/**
 * Parser for Qwen Code. Like Claude Code's, except that a result whose text carries `[API Error` is a failure even
 * with `is_error:false` (Qwen Code reports connection failures that way, with exit 0).
 */
export const qwenParser: ParserFactory = (options = {}) =>
  new ClaudeStreamParser({ ...options, product: 'Qwen Code', apiErrorInText: true });
