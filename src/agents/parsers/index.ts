/** One output parser per coding-agent CLI, by backend type. */
import { claudeParser } from './claude.js';
import { codexParser } from './codex.js';
import { copilotParser } from './copilot.js';
import { droidParser } from './droid.js';
import { geminiParser } from './gemini.js';
import { opencodeParser } from './opencode.js';
import { qwenParser } from './qwen.js';
import type { ParserFactory } from './types.js';

/** The CLIs the gateway can parse, by backend type. */
export type ParsedCli = 'claude' | 'droid' | 'codex' | 'gemini' | 'opencode' | 'qwen' | 'copilot';

/** A fresh parser per run: `PARSERS.claude({ cwd: workdir })`. */
export const PARSERS: Readonly<Record<ParsedCli, ParserFactory>> = {
  claude: claudeParser,
  droid: droidParser,
  codex: codexParser,
  gemini: geminiParser,
  opencode: opencodeParser,
  qwen: qwenParser,
  copilot: copilotParser,
};

export type {
  Failure,
  OutputParser,
  ParserFactory,
  ParserOptions,
  ParserState,
  ProcessExit,
} from './types.js';
