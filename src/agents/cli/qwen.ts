/**
 * Qwen Code (`qwen`), run headless: `qwen --prompt=PROMPT --output-format stream-json --include-partial-messages
 * --yolo [-m M] [--resume ID]`. Qwen has no effort setting; a requested effort is ignored.
 */
import { join } from 'node:path';
import { PARSERS } from '../parsers/index.js';
import { inlineOption, option } from './args.js';
import { bypassesProxy, NETWORK_ENV, PROXY_VARS, setting } from './env.js';
import { setUpGeminiFamily } from './gemini-family.js';
import { anyExists, type JsonObject, type SeedFile } from './seed.js';
import type { CliAdapter, CliPrepareContext, CliRunPlan } from './types.js';

const CONFIG_DIR = '.qwen';

/** Settings, the Qwen OAuth login, and `.qwen/.env`. */
const SEED: readonly SeedFile[] = [
  { from: '.qwen/settings.json' },
  { from: '.qwen/oauth_creds.json' },
  { from: '.qwen/.env' },
];

const PASS_ENV: readonly string[] = [
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'OPENAI_MODEL',
  'DASHSCOPE_API_KEY',
  // Proxies pass too; see proxyOverrides for the one case where they must not.
  ...NETWORK_ENV,
];

/** Usage statistics (sent to Alibaba), telemetry, auto-update and the background memory agent off. */
const GATEWAY_SETTINGS: JsonObject = {
  privacy: { usageStatisticsEnabled: false },
  telemetry: { enabled: false },
  general: { enableAutoUpdate: false },
  // After tool turns it starts a memory-extraction agent that costs a model call and outlives the answer.
  memory: { enableManagedAutoMemory: false },
};

/** The OpenAI-compatible auth when OPENAI_API_KEY is set (and the user's settings choose none). */
function defaultAuth(env: Readonly<NodeJS.ProcessEnv>): string | undefined {
  return setting(env, 'OPENAI_API_KEY') ? 'openai' : undefined;
}

/**
 * Qwen sends every request through HTTPS_PROXY and ignores NO_PROXY, so a model endpoint on loopback or named in
 * NO_PROXY would be sent to the proxy. Then the proxy variables are blanked (Qwen treats empty as unset). The
 * agent's own shell commands lose the proxy too in that case.
 */
function proxyOverrides(env: Readonly<NodeJS.ProcessEnv>): Record<string, string> {
  const baseUrl = setting(env, 'OPENAI_BASE_URL');
  const hasProxy = PROXY_VARS.some((name) => setting(env, name) !== undefined);
  if (!baseUrl || !hasProxy || !bypassesProxy(baseUrl, env.NO_PROXY ?? env.no_proxy)) return {};
  return Object.fromEntries(PROXY_VARS.map((name) => [name, '']));
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
      '--include-partial-messages',
      '--yolo',
      ...option('-m', ctx.model),
      ...option('--resume', ctx.spec.resumeSessionId),
      ...(ctx.extraArgs ?? []),
    ],
    env: {
      // The `.qwen` directory itself.
      QWEN_HOME: join(ctx.home, CONFIG_DIR),
      // Otherwise qwen re-spawns itself as a child (for heap flags), one more process to signal.
      QWEN_CODE_NO_RELAUNCH: 'true',
      ...proxyOverrides(ctx.env),
    },
  };
}

/** Qwen Code. */
export const qwenAdapter: CliAdapter = {
  type: 'qwen',
  product: 'Qwen Code',
  defaultCommand: 'qwen',
  commandSetting: 'QWEN_COMMAND',
  passEnv: PASS_ENV,
  credentialEnv: ['OPENAI_API_KEY', 'DASHSCOPE_API_KEY'],
  hasLogin: (userHome) => anyExists(join(userHome, CONFIG_DIR), ['oauth_creds.json', '.env']),
  prepare,
  versionArgs: ['--version'],
  resume: 'native',
  parser: PARSERS.qwen,
};
