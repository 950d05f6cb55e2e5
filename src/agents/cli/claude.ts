/**
 * Claude Code (`claude`), run headless: `claude -p --output-format stream-json --verbose
 * --include-partial-messages --permission-mode bypassPermissions [--model M] [--effort E] [--resume ID] -- PROMPT`.
 * A skill that may ask runs it with `--input-format stream-json --permission-mode default --permission-prompt-tool
 * stdio` instead: the prompt goes in on stdin and permission requests come back on the control channel.
 */
import { join } from 'node:path';
import {
  controlError,
  controlResponse,
  readControlMessage,
  userMessageLine,
} from '../parsers/claude-control.js';
import { PARSERS } from '../parsers/index.js';
import { option } from './args.js';
import { NETWORK_ENV, runningAsRoot } from './env.js';
import { exists, seedFiles, type SeedFile } from './seed.js';
import type { CliAdapter, CliPrepareContext, CliRunPlan } from './types.js';

const CONFIG_DIR = '.claude';

/**
 * The login (`.credentials.json`, Linux; macOS keeps it in the keychain), the user's settings, and the global state
 * file. With CLAUDE_CONFIG_DIR set, Claude Code reads that state from `$CLAUDE_CONFIG_DIR/.claude.json` instead of
 * `~/.claude.json`, so it moves into the config dir.
 */
const SEED: readonly SeedFile[] = [
  { from: '.claude/.credentials.json' },
  { from: '.claude/settings.json' },
  { from: '.claude.json', to: '.claude/.claude.json' },
];

/**
 * Credentials and model API settings. `ANTHROPIC_*` is Anthropic's own namespace (keys, base URL, model names,
 * Bedrock/Vertex endpoints); `CLAUDE_CODE_*` is named one by one because a gateway started from inside Claude Code
 * inherits session variables (`CLAUDE_CODE_ENTRYPOINT`, ...) that must not reach the child.
 */
const PASS_ENV: readonly string[] = [
  'ANTHROPIC_*',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'CLAUDE_CODE_USE_BEDROCK',
  'CLAUDE_CODE_USE_VERTEX',
  'CLAUDE_CODE_USE_FOUNDRY',
  'CLAUDE_CODE_SKIP_BEDROCK_AUTH',
  'CLAUDE_CODE_SKIP_VERTEX_AUTH',
  'CLAUDE_CODE_MAX_OUTPUT_TOKENS',
  'CLAUDE_CODE_MAX_RETRIES',
  'API_TIMEOUT_MS',
  // Bedrock and Vertex: region, profile and credential-file pointers (the private HOME has no ~/.aws or gcloud).
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_BEARER_TOKEN_BEDROCK',
  'CLOUD_ML_REGION',
  'GOOGLE_APPLICATION_CREDENTIALS',
  ...NETWORK_ENV,
];

async function prepare(ctx: CliPrepareContext): Promise<CliRunPlan> {
  if (ctx.firstTurn) await seedFiles(ctx.userHome, ctx.home, SEED);
  const env: Record<string, string> = {
    CLAUDE_CONFIG_DIR: join(ctx.home, CONFIG_DIR),
    // Telemetry, error reports, feature flags and the title call: off, and the only outbound traffic is the model.
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
  };
  // bypassPermissions exits at once as root ("cannot be used with root/sudo privileges") unless told it is sandboxed.
  if (runningAsRoot()) env.IS_SANDBOX = '1';
  // On macOS the login lives in the keychain under a name derived from CLAUDE_CONFIG_DIR; an empty value keeps the
  // default name, so the user's own login is found (on Linux the copied .credentials.json is used).
  if (process.platform === 'darwin') env.CLAUDE_SECURESTORAGE_CONFIG_DIR = '';
  if (ctx.interactive) {
    return {
      args: [
        '-p',
        '--input-format',
        'stream-json',
        '--output-format',
        'stream-json',
        '--verbose',
        '--include-partial-messages',
        // `default` asks before shell commands and edits; the answers come from the caller, through stdio.
        '--permission-mode',
        'default',
        '--permission-prompt-tool',
        'stdio',
        ...option('--model', ctx.model),
        ...option('--effort', ctx.effort),
        ...option('--resume', ctx.spec.resumeSessionId),
        ...(ctx.extraArgs ?? []),
      ],
      env,
      interactive: true,
    };
  }
  return {
    args: [
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--include-partial-messages',
      '--permission-mode',
      'bypassPermissions',
      ...option('--model', ctx.model),
      ...option('--effort', ctx.effort),
      ...option('--resume', ctx.spec.resumeSessionId),
      ...(ctx.extraArgs ?? []),
      // `-p` is a switch and the prompt a positional: after `--`, a prompt starting with `-` is not an option.
      '--',
      ctx.spec.prompt,
    ],
    env,
  };
}

/** Claude Code. */
export const claudeAdapter: CliAdapter = {
  type: 'claude',
  product: 'Claude Code',
  defaultCommand: 'claude',
  commandSetting: 'CLAUDE_COMMAND',
  passEnv: PASS_ENV,
  credentialEnv: ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN'],
  hasLogin: (userHome) => exists(join(userHome, CONFIG_DIR, '.credentials.json')),
  prepare,
  versionArgs: ['--version'],
  resume: 'native',
  parser: PARSERS.claude,
  control: {
    opening: userMessageLine,
    read: readControlMessage,
    respond: controlResponse,
    refuse: controlError,
    // With stream-json input the CLI waits for the next message after each result; end of input ends it.
    endsTurn: (event) => event.type === 'result',
  },
};
