/**
 * Gemini CLI (`gemini`), run headless: `gemini --prompt=PROMPT --output-format stream-json --yolo --skip-trust
 * [-m M] [--resume ID]`. Gemini has no effort setting; a requested effort is ignored.
 */
import { join } from 'node:path';
import { PARSERS } from '../parsers/index.js';
import { inlineOption, option } from './args.js';
import { NETWORK_ENV, setting } from './env.js';
import { setUpGeminiFamily } from './gemini-family.js';
import { anyExists, type JsonObject, type SeedFile } from './seed.js';
import type { CliAdapter, CliPrepareContext, CliRunPlan } from './types.js';

const CONFIG_DIR = '.gemini';

/** Settings, the Google login (OAuth tokens and the account), and `.gemini/.env`, where Gemini CLI's docs put keys. */
const SEED: readonly SeedFile[] = [
  { from: '.gemini/settings.json' },
  { from: '.gemini/oauth_creds.json' },
  { from: '.gemini/google_accounts.json' },
  { from: '.gemini/.env' },
];

const PASS_ENV: readonly string[] = [
  'GEMINI_API_KEY',
  'GEMINI_MODEL',
  'GOOGLE_API_KEY',
  'GOOGLE_GEMINI_BASE_URL',
  'GOOGLE_VERTEX_BASE_URL',
  'GOOGLE_GENAI_USE_VERTEXAI',
  'GOOGLE_GENAI_USE_GCA',
  'GOOGLE_GENAI_API_VERSION',
  'GOOGLE_CLOUD_PROJECT',
  'GOOGLE_CLOUD_LOCATION',
  'GOOGLE_APPLICATION_CREDENTIALS',
  ...NETWORK_ENV,
];

/** Usage statistics, telemetry and auto-update off. */
const GATEWAY_SETTINGS: JsonObject = {
  privacy: { usageStatisticsEnabled: false },
  telemetry: { enabled: false },
  general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
};

/**
 * Headless Gemini exits 41 without an auth method. With GOOGLE_GENAI_USE_GCA or GOOGLE_GENAI_USE_VERTEXAI it takes
 * one from the environment; otherwise a set GOOGLE_GEMINI_BASE_URL makes it pick "gateway", which it then rejects.
 * So when the user's settings choose none and a GEMINI_API_KEY is set, the key is chosen explicitly.
 */
function defaultAuth(env: Readonly<NodeJS.ProcessEnv>): string | undefined {
  if (env.GOOGLE_GENAI_USE_GCA === 'true' || env.GOOGLE_GENAI_USE_VERTEXAI === 'true') return undefined;
  return setting(env, 'GEMINI_API_KEY') ? 'gemini-api-key' : undefined;
}

async function prepare(ctx: CliPrepareContext): Promise<CliRunPlan> {
  if (ctx.firstTurn) {
    const settingsPath = join(ctx.home, CONFIG_DIR, 'settings.json');
    await setUpGeminiFamily(ctx, { seed: SEED, settingsPath, settings: GATEWAY_SETTINGS, defaultAuth });
  }
  return {
    args: [
      // One argument: as two, a prompt starting with `-` would be read as options.
      inlineOption('--prompt', ctx.spec.prompt),
      '--output-format',
      'stream-json',
      '--yolo',
      // An untrusted folder downgrades --yolo to prompting (which headless cannot answer).
      '--skip-trust',
      ...option('-m', ctx.model),
      ...option('--resume', ctx.spec.resumeSessionId),
      ...(ctx.extraArgs ?? []),
    ],
    env: {
      // The directory that holds `.gemini`.
      GEMINI_CLI_HOME: ctx.home,
      // Otherwise gemini re-spawns itself as a child that ignores the signals sent to the parent.
      GEMINI_CLI_NO_RELAUNCH: 'true',
      // Wins over a workspace's own .gemini/settings.json, which the gateway does not control.
      GEMINI_TELEMETRY_ENABLED: 'false',
    },
  };
}

/** Gemini CLI. */
export const geminiAdapter: CliAdapter = {
  type: 'gemini',
  product: 'Gemini CLI',
  defaultCommand: 'gemini',
  commandSetting: 'GEMINI_COMMAND',
  passEnv: PASS_ENV,
  credentialEnv: ['GEMINI_API_KEY', 'GOOGLE_API_KEY', 'GOOGLE_APPLICATION_CREDENTIALS'],
  hasLogin: (userHome) => anyExists(join(userHome, CONFIG_DIR), ['oauth_creds.json', '.env']),
  prepare,
  versionArgs: ['--version'],
  resume: 'native',
  parser: PARSERS.gemini,
};
