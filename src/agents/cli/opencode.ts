/**
 * opencode (`opencode`), run headless: `opencode run --format json --auto [-m PROVIDER/MODEL] [--variant E]
 * [-s ID] -- PROMPT`.
 *
 * The gateway's settings go in OPENCODE_CONFIG_CONTENT, the config layer opencode applies last (over the global
 * files and the workspace's own opencode.json): the user's files are copied unchanged, and a repository cannot
 * turn session sharing back on.
 */
import { join } from 'node:path';
import { PARSERS } from '../parsers/index.js';
import { option } from './args.js';
import { NETWORK_ENV, setting } from './env.js';
import {
  ensurePrivateDir,
  exists,
  readJsonObject,
  seedFiles,
  writePrivateFile,
  type JsonObject,
  type SeedFile,
} from './seed.js';
import type { CliAdapter, CliPrepareContext, CliRunPlan } from './types.js';

const CONFIG_DIR = '.config/opencode';
const DATA_DIR = '.local/share/opencode';
/** opencode merges these global config files in this order. */
const CONFIG_FILES: readonly string[] = ['config.json', 'opencode.json', 'opencode.jsonc'];
/** The provider the adapter defines from OPENAI_BASE_URL. */
const GATEWAY_PROVIDER = 'gateway';

const SEED: readonly SeedFile[] = [
  ...CONFIG_FILES.map((file) => ({ from: `${CONFIG_DIR}/${file}` })),
  // Keys and OAuth tokens from `opencode auth login`.
  { from: `${DATA_DIR}/auth.json` },
];

/** The providers' own key variables (opencode reads them for its builtin providers), and the base URL rule's. */
const PASS_ENV: readonly string[] = [
  'ANTHROPIC_API_KEY',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'OPENAI_MODEL',
  'GOOGLE_GENERATIVE_AI_API_KEY',
  'GEMINI_API_KEY',
  'OPENROUTER_API_KEY',
  'GROQ_API_KEY',
  'DEEPSEEK_API_KEY',
  'XAI_API_KEY',
  'MISTRAL_API_KEY',
  'OPENCODE_API_KEY',
  ...NETWORK_ENV,
];

/** What the gateway needs to know of the user's global config (all files, as opencode merges them). */
interface UserConfig {
  /** It sets a default model or defines providers: the user's choice stands. */
  choosesModel: boolean;
  /** Variables its values refer to as `{env:NAME}`. */
  envRefs: string[];
}

async function readUserConfig(dir: string): Promise<UserConfig> {
  const configs = await Promise.all(CONFIG_FILES.map((file) => readJsonObject(join(dir, file))));
  const present = configs.filter((config): config is JsonObject => config !== undefined);
  const envRefs = new Set<string>();
  for (const match of JSON.stringify(present).matchAll(/\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
    if (match[1]) envRefs.add(match[1]);
  }
  return { choosesModel: present.some((c) => 'model' in c || 'provider' in c), envRefs: [...envRefs] };
}

/**
 * opencode does not read OPENAI_BASE_URL, so when it is set and the user's config chooses no model or provider of
 * its own, the run gets an OpenAI-compatible provider `gateway` for it. This is the model id to declare on it: a
 * requested model without a provider (`gpt-5`, or `gateway/gpt-5`), else OPENAI_MODEL. A requested
 * `provider/model` names another provider and is passed as it is; with no model at all there is nothing to declare.
 */
function gatewayModel(ctx: CliPrepareContext, user: UserConfig): string | undefined {
  if (!setting(ctx.env, 'OPENAI_BASE_URL') || user.choosesModel) return undefined;
  if (ctx.model?.startsWith(`${GATEWAY_PROVIDER}/`)) return ctx.model.slice(GATEWAY_PROVIDER.length + 1);
  if (ctx.model !== undefined) return ctx.model.includes('/') ? undefined : ctx.model;
  return setting(ctx.env, 'OPENAI_MODEL');
}

/** The `gateway` provider; its key stays in the environment (`{env:OPENAI_API_KEY}`). */
function gatewayConfig(ctx: CliPrepareContext, model: string): JsonObject {
  const provider = {
    npm: '@ai-sdk/openai-compatible',
    name: 'Gateway',
    options: { baseURL: setting(ctx.env, 'OPENAI_BASE_URL'), apiKey: '{env:OPENAI_API_KEY}' },
    models: { [model]: { name: model, tool_call: true } },
  };
  return { provider: { [GATEWAY_PROVIDER]: provider }, model: `${GATEWAY_PROVIDER}/${model}` };
}

/**
 * opencode npm-installs its plugin package into every config dir it uses (a registry download per run, 10-20 s,
 * and traffic off the machine) unless the dir already has node_modules and a package-lock.json listing it. An
 * empty marker is enough; the plugin itself is bundled.
 */
async function markPluginInstalled(configDir: string): Promise<void> {
  await ensurePrivateDir(join(configDir, 'node_modules'));
  const lock = join(configDir, 'package-lock.json');
  if (!(await exists(lock))) {
    await writePrivateFile(
      lock,
      JSON.stringify({ packages: { '': { dependencies: { '@opencode-ai/plugin': '*' } } } }),
    );
  }
}

async function prepare(ctx: CliPrepareContext): Promise<CliRunPlan> {
  if (ctx.firstTurn) await seedFiles(ctx.userHome, ctx.home, SEED);
  await markPluginInstalled(join(ctx.home, CONFIG_DIR));
  const user = await readUserConfig(join(ctx.home, CONFIG_DIR));
  const gateway = gatewayModel(ctx, user);
  const overlay: JsonObject = {
    autoupdate: false,
    share: 'disabled',
    ...(gateway ? gatewayConfig(ctx, gateway) : {}),
  };
  const model = gateway ? `${GATEWAY_PROVIDER}/${gateway}` : ctx.model;
  const plan: CliRunPlan = {
    args: [
      'run',
      '--format',
      'json',
      // Approves every permission not explicitly denied: a denied one fails the tool call, nothing waits.
      '--auto',
      ...option('-m', model),
      ...option('--variant', ctx.effort),
      ...option('-s', ctx.spec.resumeSessionId),
      ...(ctx.extraArgs ?? []),
      // The message is a positional list: after `--`, a prompt starting with `-` is not an option.
      '--',
      ctx.spec.prompt,
    ],
    env: {
      // opencode follows the XDG layout: config, data (sessions, auth), state and cache, all in the private home.
      XDG_CONFIG_HOME: join(ctx.home, '.config'),
      XDG_DATA_HOME: join(ctx.home, '.local/share'),
      XDG_STATE_HOME: join(ctx.home, '.local/state'),
      XDG_CACHE_HOME: join(ctx.home, '.cache'),
      OPENCODE_CONFIG_CONTENT: JSON.stringify(overlay),
      // The bundled model list is used instead of fetching models.dev.
      OPENCODE_DISABLE_MODELS_FETCH: '1',
      OPENCODE_DISABLE_AUTOUPDATE: '1',
    },
  };
  if (user.envRefs.length > 0) plan.passEnv = user.envRefs;
  return plan;
}

/** opencode. */
export const opencodeAdapter: CliAdapter = {
  type: 'opencode',
  product: 'opencode',
  defaultCommand: 'opencode',
  commandSetting: 'OPENCODE_COMMAND',
  passEnv: PASS_ENV,
  credentialEnv: [
    'ANTHROPIC_API_KEY',
    'OPENAI_API_KEY',
    'GOOGLE_GENERATIVE_AI_API_KEY',
    'OPENROUTER_API_KEY',
  ],
  hasLogin: (userHome) => exists(join(userHome, DATA_DIR, 'auth.json')),
  prepare,
  versionArgs: ['--version'],
  resume: 'native',
  parser: PARSERS.opencode,
};
