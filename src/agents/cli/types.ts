import type { ControlMessage } from '../parsers/claude-control.js';
import type { JsonObject } from '../parsers/json.js';
import type { ParserFactory } from '../parsers/types.js';
import type { InputAnswer, TaskSpec } from '../types.js';

/** The coding-agent CLIs the gateway drives, by backend type. */
export type CliType = 'claude' | 'droid' | 'codex' | 'gemini' | 'opencode' | 'qwen' | 'copilot';

/** What an adapter needs to plan one headless turn. */
export interface CliPrepareContext {
  spec: TaskSpec;
  /** Model and effort the request or the backend config asked for. */
  model?: string;
  effort?: string;
  /**
   * A private home for this conversation (one per A2A context, kept between turns so a follow-up can resume the
   * CLI's session, never shared by two contexts). The child runs with HOME set to it. The adapter writes the
   * CLI's config files here, seeded from the user's own config under `userHome` so their login, settings and
   * custom models still work.
   */
  home: string;
  /** The real home of the user the gateway runs as (where `~/.claude`, `~/.codex`, ... are). */
  userHome: string;
  /** True on the first turn of the context (the home is fresh); seeding happens then. */
  firstTurn: boolean;
  /** The gateway's environment, to read (never to pass on wholesale) settings such as `ANTHROPIC_BASE_URL`. */
  env: Readonly<NodeJS.ProcessEnv>;
  /**
   * Extra options from the backend's config. The adapter places them among its own options, before the prompt:
   * appended after it they would land behind `--` (or after `codex exec resume`) and be read as prompt text.
   */
  extraArgs?: readonly string[];
  /**
   * The caller can answer questions: plan a run that asks for permission through the CLI's control channel
   * (adapters with a {@link CliAdapter.control} only). Absent: the usual unattended run.
   */
  interactive?: boolean;
}

/** One turn's command line, as the adapter planned it. */
export interface CliRunPlan {
  /** Arguments after the command. The prompt is one element; never a shell string. */
  args: string[];
  /** Variables set for the child on top of the allowlisted environment (config homes, telemetry off, ...). */
  env: Record<string, string>;
  /**
   * Extra names to pass through from the gateway's environment for this turn, on top of the adapter's `passEnv`:
   * variables the user's own CLI config refers to by name (a Codex provider's `env_key`, opencode's `{env:NAME}`).
   * Absent when there are none.
   */
  passEnv?: string[];
  /** Text for stdin (then closed). Absent: stdin is closed at once (Codex hangs on an open stdin). */
  stdin?: string;
  /**
   * The run speaks the adapter's control protocol: stdin stays open, the prompt is written to it with
   * {@link ControlProtocol.opening} (it is not in `args`), and control requests are answered on it.
   */
  interactive?: boolean;
}

/** A CLI's bidirectional stdin/stdout protocol for questions and permission requests (Claude Code's). */
export interface ControlProtocol {
  /** The first stdin text: the prompt in the CLI's input format. */
  opening(prompt: string): string;
  /** A stdout event read as a control message; undefined for ordinary output. */
  read(event: JsonObject): ControlMessage | undefined;
  /** The stdin text that answers a permission request or question. */
  respond(request: Extract<ControlMessage, { kind: 'can_use_tool' }>, answer: InputAnswer): string;
  /** The stdin text that refuses a request the gateway does not handle. */
  refuse(requestId: string, reason: string): string;
  /** True for the event that ends the turn: stdin is closed after it, so the CLI exits. */
  endsTurn(event: JsonObject): boolean;
}

/** How a CLI continues a conversation. */
export type ResumeSupport =
  /** `--resume <session>` or the like, offline. */
  | 'native'
  /** Resuming needs the vendor's service (e.g. droid's `-s` calls Factory's API): follow-ups start a new session
   *  whose prompt carries the earlier turns' summary. */
  | 'replay';

/** Everything that differs between the coding-agent CLIs. No I/O except in `prepare`. */
export interface CliAdapter {
  type: CliType;
  /** The product name people know, for messages ("Claude Code"). */
  product: string;
  /** The command's default name on PATH. */
  defaultCommand: string;
  /** The env setting that names the command (CLAUDE_COMMAND, ...). */
  commandSetting: string;
  /**
   * Names (or `PREFIX_*`) passed through from the gateway's environment: the CLI's credentials and model API
   * settings (e.g. `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`). Nothing else of the gateway's environment reaches it.
   */
  passEnv: readonly string[];
  /** Variables any one of which means credentials are set (for `doctor`); files are checked by `hasLogin`. */
  credentialEnv: readonly string[];
  /** True when the user's own config holds a login for this CLI (a credentials file under `userHome`). */
  hasLogin(userHome: string): Promise<boolean>;
  /** Writes the config files into `ctx.home` (seeded on the first turn) and returns the command line. */
  prepare(ctx: CliPrepareContext): Promise<CliRunPlan>;
  /** Arguments that print the CLI's version (`['--version']`). */
  versionArgs: readonly string[];
  resume: ResumeSupport;
  parser: ParserFactory;
  /** The control protocol, for CLIs that can ask the caller while they run (Claude Code). */
  control?: ControlProtocol;
}
