/**
 * OpenAI Codex (`codex`), run headless: `codex exec --json --dangerously-bypass-approvals-and-sandbox
 * --skip-git-repo-check -C DIR -c ... [-m M] [resume ID] -- PROMPT`. Stdin must be closed (an open stdin makes
 * `codex exec` wait for more input forever).
 *
 * The gateway's settings go on the command line as `-c key=value` overrides, Codex's own layer over config.toml:
 * the user's config.toml is copied unchanged (merging TOML tables by hand could break it, and there is no TOML
 * parser here), and the overrides apply on every turn.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PARSERS } from '../parsers/index.js';
import { option } from './args.js';
import { NETWORK_ENV, setting } from './env.js';
import { ensurePrivateDir, exists, seedFiles, type SeedFile } from './seed.js';
import type { CliAdapter, CliPrepareContext, CliRunPlan } from './types.js';

const CONFIG_DIR = '.codex';

/** The config (model, providers, profiles) and the login (API key or ChatGPT tokens). */
const SEED: readonly SeedFile[] = [{ from: '.codex/config.toml' }, { from: '.codex/auth.json' }];

const PASS_ENV: readonly string[] = [
  'OPENAI_API_KEY',
  'CODEX_API_KEY',
  // Codex itself ignores it for the builtin provider; the adapter turns it into a provider (see gatewayProvider).
  'OPENAI_BASE_URL',
  'OPENAI_ORGANIZATION',
  'OPENAI_PROJECT',
  ...NETWORK_ENV,
];

/** Analytics off, no update check, and the features that reach out to GitHub and chatgpt.com off. */
const QUIET: readonly string[] = [
  '-c',
  'analytics.enabled=false',
  '-c',
  'check_for_update_on_startup=false',
  ...['plugins', 'remote_plugin', 'apps', 'tool_suggest'].flatMap((feature) => ['--disable', feature]),
];

/** What the gateway needs to know of the user's config.toml, read without a TOML parser. */
interface UserConfig {
  /** It chooses a model provider (top level or in a profile). */
  choosesProvider: boolean;
  /** The variables its providers read their keys from (`env_key = "NAME"`). */
  envKeys: string[];
}

async function readUserConfig(path: string): Promise<UserConfig> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch {
    // No config.toml: Codex's defaults.
  }
  const envKeys = [...text.matchAll(/^\s*env_key\s*=\s*["']([A-Za-z_][A-Za-z0-9_]*)["']/gm)].map(
    (m) => m[1] ?? '',
  );
  return { choosesProvider: /^\s*model_provider\s*=/m.test(text), envKeys: envKeys.filter(Boolean) };
}

/**
 * A model provider for `OPENAI_BASE_URL`. Codex 0.169 ignores that variable for its builtin provider (it kept
 * calling api.openai.com), so when the gateway sets it and the user's config chooses no provider of its own, the
 * run uses a custom provider `gateway` with that base URL, speaking the Responses API, keyed by OPENAI_API_KEY (or
 * CODEX_API_KEY when only that is set). The key's value never appears on the command line, only its name.
 */
function gatewayProvider(ctx: CliPrepareContext, user: UserConfig): string[] {
  const baseUrl = setting(ctx.env, 'OPENAI_BASE_URL');
  if (!baseUrl || user.choosesProvider) return [];
  const envKey =
    !setting(ctx.env, 'OPENAI_API_KEY') && setting(ctx.env, 'CODEX_API_KEY')
      ? 'CODEX_API_KEY'
      : 'OPENAI_API_KEY';
  // JSON strings are valid TOML basic strings.
  const table = `{name="gateway",base_url=${JSON.stringify(baseUrl)},env_key="${envKey}",wire_api="responses"}`;
  return ['-c', 'model_provider="gateway"', '-c', `model_providers.gateway=${table}`];
}

async function prepare(ctx: CliPrepareContext): Promise<CliRunPlan> {
  if (ctx.firstTurn) await seedFiles(ctx.userHome, ctx.home, SEED);
  // Codex refuses to start when CODEX_HOME does not exist.
  const codexHome = await ensurePrivateDir(join(ctx.home, CONFIG_DIR));
  const user = await readUserConfig(join(codexHome, 'config.toml'));
  const resume = ctx.spec.resumeSessionId;
  const plan: CliRunPlan = {
    args: [
      'exec',
      '--json',
      // Never asks (approval policy never) and no sandbox: the workspace is the boundary, as for the other CLIs.
      '--dangerously-bypass-approvals-and-sandbox',
      // A workspace need not be a git repository.
      '--skip-git-repo-check',
      '-C',
      ctx.spec.workdir,
      ...QUIET,
      ...gatewayProvider(ctx, user),
      ...option('-m', ctx.model),
      ...(ctx.effort ? ['-c', `model_reasoning_effort=${JSON.stringify(ctx.effort)}`] : []),
      ...(ctx.extraArgs ?? []),
      // `exec [options] resume ID PROMPT`: the options stay before the subcommand.
      ...(resume ? ['resume', resume] : []),
      '--',
      ctx.spec.prompt,
    ],
    env: { CODEX_HOME: codexHome },
  };
  if (user.envKeys.length > 0) plan.passEnv = user.envKeys;
  return plan;
}

/** OpenAI Codex. */
export const codexAdapter: CliAdapter = {
  type: 'codex',
  product: 'OpenAI Codex',
  defaultCommand: 'codex',
  commandSetting: 'CODEX_COMMAND',
  passEnv: PASS_ENV,
  credentialEnv: ['OPENAI_API_KEY', 'CODEX_API_KEY'],
  hasLogin: (userHome) => exists(join(userHome, CONFIG_DIR, 'auth.json')),
  prepare,
  versionArgs: ['--version'],
  resume: 'native',
  parser: PARSERS.codex,
};
