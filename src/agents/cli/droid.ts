/**
 * Factory droid (`droid`), run headless: `droid exec --output-format stream-json --auto high --cwd DIR [-m M]
 * [-r E] -- PROMPT`. Follow-ups are replayed in the prompt: `exec -s ID` asks Factory's service for the session
 * (offline or in airgap mode it fails with no output), so it is never passed.
 */
import { join } from 'node:path';
import { PARSERS } from '../parsers/index.js';
import { option } from './args.js';
import { NETWORK_ENV, setting } from './env.js';
import { anyExists, getPath, readJsonObject, seedFiles, type SeedFile } from './seed.js';
import type { CliAdapter, CliPrepareContext, CliRunPlan } from './types.js';

const CONFIG_DIR = '.factory';

/**
 * Files that hold a Factory login: the encrypted file store and its key, the legacy store, and the markers that say
 * the login is in the system keyring (which a changed HOME still reaches).
 */
const LOGIN_FILES: readonly string[] = [
  'auth.v2.file',
  'auth.v2.key',
  'auth.v2.keyring',
  'auth.v2.loginkeychain',
  'auth.encrypted',
];

/** Settings (BYOK `customModels` included), the legacy `config.json` (`custom_models`), and the login. */
const SEED: readonly SeedFile[] = [
  { from: '.factory/settings.json' },
  { from: '.factory/settings.local.json' },
  { from: '.factory/config.json' },
  ...LOGIN_FILES.map((file) => ({ from: `${CONFIG_DIR}/${file}` })),
];

const PASS_ENV: readonly string[] = [
  'FACTORY_API_KEY',
  // Enterprise deployments point droid at their own Factory API; the user may force airgap on or off.
  'FACTORY_API_BASE_URL',
  'FACTORY_AIRGAP_ENABLED',
  ...NETWORK_ENV,
];

/**
 * Airgap mode stops every call to Factory's own service (telemetry, cloud sync: about 9 s and a dozen requests per
 * run) but also Factory-hosted models. So it is on only when the run cannot need Factory: the model is a BYOK
 * `custom:` one, or there is no Factory login at all.
 */
async function airgapSafe(ctx: CliPrepareContext): Promise<boolean> {
  // The user's own FACTORY_AIRGAP_ENABLED (passed through) decides, either way.
  if (setting(ctx.env, 'FACTORY_AIRGAP_ENABLED') !== undefined) return false;
  if (ctx.model?.startsWith('custom:')) return true;
  if (setting(ctx.env, 'FACTORY_API_KEY')) return false;
  return !(await anyExists(join(ctx.home, CONFIG_DIR), LOGIN_FILES));
}

/** A Factory login, or BYOK models (with their own keys) in the settings. */
async function hasLogin(userHome: string): Promise<boolean> {
  const dir = join(userHome, CONFIG_DIR);
  if (await anyExists(dir, LOGIN_FILES)) return true;
  const nonEmpty = (value: unknown): boolean => Array.isArray(value) && value.length > 0;
  try {
    const [settings, legacy] = await Promise.all([
      readJsonObject(join(dir, 'settings.json')),
      readJsonObject(join(dir, 'config.json')),
    ]);
    return nonEmpty(getPath(settings, 'customModels')) || nonEmpty(getPath(legacy, 'custom_models'));
  } catch {
    return false;
  }
}

async function prepare(ctx: CliPrepareContext): Promise<CliRunPlan> {
  if (ctx.firstTurn) await seedFiles(ctx.userHome, ctx.home, SEED);
  const env: Record<string, string> = {
    // The directory holding `.factory` (HOME is the same; this keeps droid there whatever HOME says).
    FACTORY_HOME_OVERRIDE: ctx.home,
    FACTORY_DROID_AUTO_UPDATE_ENABLED: 'false',
  };
  if (await airgapSafe(ctx)) env.FACTORY_AIRGAP_ENABLED = '1';
  return {
    args: [
      'exec',
      '--output-format',
      'stream-json',
      // Without --auto droid is read-only; `high` never stops to ask, it refuses what it may not do.
      '--auto',
      'high',
      '--cwd',
      ctx.spec.workdir,
      ...option('-m', ctx.model),
      ...option('-r', ctx.effort),
      ...(ctx.extraArgs ?? []),
      '--',
      ctx.spec.prompt,
    ],
    env,
  };
}

/** Factory droid. */
export const droidAdapter: CliAdapter = {
  type: 'droid',
  product: 'Factory droid',
  defaultCommand: 'droid',
  commandSetting: 'DROID_COMMAND',
  passEnv: PASS_ENV,
  credentialEnv: ['FACTORY_API_KEY'],
  hasLogin,
  prepare,
  versionArgs: ['--version'],
  resume: 'replay',
  parser: PARSERS.droid,
};
