/**
 * GitHub Copilot CLI (`copilot`), run headless: `copilot --prompt=PROMPT --output-format json --allow-all
 * --no-ask-user --disable-client-telemetry [--model M] [--reasoning-effort E] [--resume=ID]`.
 */
import { join } from 'node:path';
import { PARSERS } from '../parsers/index.js';
import { inlineOption, option } from './args.js';
import { NETWORK_ENV, setting } from './env.js';
import { getPath, readJsonObject, seedFiles, type SeedFile } from './seed.js';
import type { CliAdapter, CliPrepareContext, CliRunPlan } from './types.js';

const CONFIG_DIR = '.copilot';

/** The config (logged-in accounts, and their tokens when stored in plain text) and the settings. */
const SEED: readonly SeedFile[] = [{ from: '.copilot/config.json' }, { from: '.copilot/settings.json' }];

const PASS_ENV: readonly string[] = [
  // GitHub auth, in Copilot's order of precedence, and the host for GitHub Enterprise.
  'COPILOT_GITHUB_TOKEN',
  'GH_TOKEN',
  'GITHUB_TOKEN',
  'GH_HOST',
  'COPILOT_GH_HOST',
  'COPILOT_MODEL',
  // BYOK: Copilot's own namespace for a custom model provider (base URL, type, key, wire API, limits).
  'COPILOT_PROVIDER_*',
  'COPILOT_OFFLINE',
  ...NETWORK_ENV,
];

/**
 * Where Copilot unpacks its own code (about 235 MB per version). It is keyed by version and holds no user data, so
 * every context shares the user's copy instead of unpacking it again into each private home.
 */
function packageCache(ctx: CliPrepareContext): string {
  return (
    setting(ctx.env, 'COPILOT_PKG_CACHE_HOME') ??
    setting(ctx.env, 'COPILOT_CACHE_HOME') ??
    join(setting(ctx.env, 'XDG_CACHE_HOME') ?? join(ctx.userHome, '.cache'), 'copilot')
  );
}

async function prepare(ctx: CliPrepareContext): Promise<CliRunPlan> {
  if (ctx.firstTurn) await seedFiles(ctx.userHome, ctx.home, SEED);
  const resume = ctx.spec.resumeSessionId;
  return {
    args: [
      // One argument: as two, a prompt starting with `-` would be read as options.
      inlineOption('--prompt', ctx.spec.prompt),
      '--output-format',
      'json',
      // Tools, paths and URLs all allowed; no ask_user tool, so the agent never waits for an answer.
      '--allow-all',
      '--no-ask-user',
      '--disable-client-telemetry',
      ...option('--model', ctx.model),
      ...option('--reasoning-effort', ctx.effort),
      // The value is optional (`--resume` alone opens a picker), so it is attached.
      ...(resume ? [inlineOption('--resume', resume)] : []),
      ...(ctx.extraArgs ?? []),
    ],
    env: {
      // The `.copilot` directory itself.
      COPILOT_HOME: join(ctx.home, CONFIG_DIR),
      COPILOT_PKG_CACHE_HOME: packageCache(ctx),
      COPILOT_AUTO_UPDATE: 'false',
    },
  };
}

/** An account in Copilot's config (its token is in the system keychain or, by choice, in the config itself). */
async function hasLogin(userHome: string): Promise<boolean> {
  try {
    const config = await readJsonObject(join(userHome, CONFIG_DIR, 'config.json'));
    const users = getPath(config, 'logged_in_users') ?? getPath(config, 'loggedInUsers');
    const last = getPath(config, 'last_logged_in_user') ?? getPath(config, 'lastLoggedInUser');
    return (Array.isArray(users) && users.length > 0) || (typeof last === 'object' && last !== null);
  } catch {
    return false;
  }
}

/** GitHub Copilot CLI. */
export const copilotAdapter: CliAdapter = {
  type: 'copilot',
  product: 'GitHub Copilot CLI',
  defaultCommand: 'copilot',
  commandSetting: 'COPILOT_COMMAND',
  passEnv: PASS_ENV,
  credentialEnv: [
    'COPILOT_GITHUB_TOKEN',
    'GH_TOKEN',
    'GITHUB_TOKEN',
    'COPILOT_PROVIDER_API_KEY',
    'COPILOT_PROVIDER_BASE_URL',
  ],
  hasLogin,
  prepare,
  versionArgs: ['--version'],
  resume: 'native',
  parser: PARSERS.copilot,
};
