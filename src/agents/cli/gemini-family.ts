/**
 * Set-up shared by Gemini CLI and its fork Qwen Code: both keep a `settings.json` (nested since their settings v2)
 * with the auth method under `security.auth.selectedType`, and exit at once in headless mode without one.
 */
import { getPath, mergeJsonFile, readJsonObject, seedFiles, type JsonObject, type SeedFile } from './seed.js';
import type { CliPrepareContext } from './types.js';

export interface GeminiFamilySetup {
  seed: readonly SeedFile[];
  /** The settings file in the private home. */
  settingsPath: string;
  /** The gateway's settings, merged over the user's. */
  settings: JsonObject;
  /** The auth method to write when the user's settings choose none; undefined leaves it to the CLI. */
  defaultAuth: (env: Readonly<NodeJS.ProcessEnv>) => string | undefined;
}

/** Seeds the user's files, then merges the gateway's settings (and a default auth method) into settings.json. */
export async function setUpGeminiFamily(ctx: CliPrepareContext, setup: GeminiFamilySetup): Promise<void> {
  await seedFiles(ctx.userHome, ctx.home, setup.seed);
  const current = await readJsonObject(setup.settingsPath);
  // `selectedAuthType` is the flat pre-v2 spelling, which both CLIs still migrate.
  const chosen = getPath(current, 'security.auth.selectedType') ?? getPath(current, 'selectedAuthType');
  const auth = chosen === undefined ? setup.defaultAuth(ctx.env) : undefined;
  await mergeJsonFile(
    setup.settingsPath,
    auth ? { ...setup.settings, security: { auth: { selectedType: auth } } } : setup.settings,
  );
}
