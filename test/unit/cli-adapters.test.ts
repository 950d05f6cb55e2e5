// The CLI adapters: the headless command line each one plans, the private config home it sets up from the user's
// own config, and the environment it lets through. Real files in temp dirs; the CLIs themselves are not run here
// (the end-to-end suite runs them against the scripted model server).
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI_ADAPTERS, CliSetupError, type CliType } from '../../src/agents/cli/index.js';
import { bypassesProxy } from '../../src/agents/cli/env.js';
import { deepMerge } from '../../src/agents/cli/seed.js';
import type { CliPrepareContext, CliRunPlan } from '../../src/agents/cli/types.js';
import { PARSERS } from '../../src/agents/parsers/index.js';
import { buildChildEnv } from '../../src/runner/env.js';

const CLIS = Object.keys(CLI_ADAPTERS) as CliType[];
/** Quotes, a command substitution, a newline and a leading dash: must reach the CLI as one untouched argument. */
const PROMPT = `-rf "quoted" 'single' $(rm -rf /) \`id\`\nsecond line; echo $HOME`;
const SESSION = '3f6c1f4e-5a8b-4c1d-9e2f-0a1b2c3d4e5f';

const roots: string[] = [];
after(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

interface Dirs {
  home: string;
  userHome: string;
  workdir: string;
}

async function dirs(): Promise<Dirs> {
  const root = await mkdtemp(join(tmpdir(), 'cli-adapters-'));
  roots.push(root);
  const d = { home: join(root, 'home'), userHome: join(root, 'user'), workdir: join(root, 'work') };
  await Promise.all(Object.values(d).map((path) => mkdir(path, { recursive: true })));
  return d;
}

async function put(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

function context(d: Dirs, over: Partial<CliPrepareContext> = {}): CliPrepareContext {
  return {
    spec: {
      taskId: 't1',
      contextId: 'c1',
      skill: 'code',
      prompt: PROMPT,
      input: {},
      workdir: d.workdir,
      timeoutMs: 60_000,
    },
    home: d.home,
    userHome: d.userHome,
    firstTurn: true,
    env: {},
    ...over,
  };
}

async function plan(type: CliType, d: Dirs, over: Partial<CliPrepareContext> = {}): Promise<CliRunPlan> {
  return CLI_ADAPTERS[type].prepare(context(d, over));
}

function withResume(d: Dirs): Partial<CliPrepareContext> {
  return { spec: { ...context(d).spec, resumeSessionId: SESSION } };
}

/** True when `needle` appears in `args` as consecutive elements. */
function hasRun(args: readonly string[], needle: readonly string[]): boolean {
  return args.some((_, i) => needle.every((value, j) => args[i + j] === value));
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

async function missing(path: string): Promise<boolean> {
  return lstat(path).then(
    () => false,
    () => true,
  );
}

/** Per CLI: the headless and no-prompt flags, and how model, effort and resume show up when asked for. */
const EXPECT: Record<
  CliType,
  { headless: string[][]; model: string[]; effort: string[] | null; resume: string[]; configVar: string }
> = {
  claude: {
    headless: [
      ['-p'],
      ['--output-format', 'stream-json', '--verbose'],
      ['--permission-mode', 'bypassPermissions'],
    ],
    model: ['--model', 'm1'],
    effort: ['--effort', 'high'],
    resume: ['--resume', SESSION],
    configVar: 'CLAUDE_CONFIG_DIR',
  },
  droid: {
    headless: [['exec', '--output-format', 'stream-json'], ['--auto', 'high'], ['--cwd']],
    model: ['-m', 'm1'],
    effort: ['-r', 'high'],
    resume: [],
    configVar: 'FACTORY_HOME_OVERRIDE',
  },
  codex: {
    headless: [
      ['exec', '--json'],
      ['--dangerously-bypass-approvals-and-sandbox'],
      ['--skip-git-repo-check'],
      ['-C'],
    ],
    model: ['-m', 'm1'],
    effort: ['-c', 'model_reasoning_effort="high"'],
    resume: ['resume', SESSION, '--', PROMPT],
    configVar: 'CODEX_HOME',
  },
  gemini: {
    headless: [['--output-format', 'stream-json'], ['--yolo'], ['--skip-trust']],
    model: ['-m', 'm1'],
    effort: null,
    resume: ['--resume', SESSION],
    configVar: 'GEMINI_CLI_HOME',
  },
  opencode: {
    headless: [['run', '--format', 'json', '--auto']],
    model: ['-m', 'm1'],
    effort: ['--variant', 'high'],
    resume: ['-s', SESSION],
    configVar: 'XDG_CONFIG_HOME',
  },
  qwen: {
    headless: [['--output-format', 'stream-json'], ['--yolo']],
    model: ['-m', 'm1'],
    effort: null,
    resume: ['--resume', SESSION],
    configVar: 'QWEN_HOME',
  },
  copilot: {
    headless: [['--output-format', 'json', '--allow-all', '--no-ask-user']],
    model: ['--model', 'm1'],
    effort: ['--reasoning-effort', 'high'],
    resume: [`--resume=${SESSION}`],
    configVar: 'COPILOT_HOME',
  },
};

describe('the headless command line', () => {
  for (const type of CLIS) {
    describe(type, () => {
      it('carries the prompt as one argument, untouched, that no option parser can mistake for a flag', async () => {
        const { args } = await plan(type, await dirs());
        const carriers = args.filter((a) => a.includes('second line'));
        assert.equal(carriers.length, 1, `prompt in ${JSON.stringify(args)}`);
        const [carrier = ''] = carriers;
        if (carrier === PROMPT) {
          // A bare positional prompt comes right after `--`.
          assert.equal(args[args.indexOf(PROMPT) - 1], '--');
        } else {
          assert.equal(carrier, `--prompt=${PROMPT}`);
        }
      });

      it('runs headless with structured output and a permission mode that never stops to ask', async () => {
        const { args } = await plan(type, await dirs());
        for (const run of EXPECT[type].headless)
          assert.ok(hasRun(args, run), `${run.join(' ')} in ${args.join(' ')}`);
      });

      it('passes model, effort and resume only when asked', async () => {
        const d = await dirs();
        const { model, effort, resume } = EXPECT[type];
        const bare = await plan(type, d);
        assert.ok(!bare.args.includes(model[0] ?? ''), 'no model flag');
        assert.ok(!bare.args.includes(SESSION) && !bare.args.includes(`--resume=${SESSION}`), 'no resume');
        // Codex's effort is a `-c model_reasoning_effort=...` override; the others have a flag of their own.
        const effortFlag = effort?.[0] === '-c' ? 'model_reasoning_effort' : effort?.[0];
        if (effortFlag) assert.ok(!bare.args.some((a) => a.split('=')[0] === effortFlag), 'no effort flag');

        const asked = await plan(type, d, {
          ...withResume(d),
          model: 'm1',
          effort: 'high',
          firstTurn: false,
        });
        assert.ok(hasRun(asked.args, model), `${model.join(' ')} in ${asked.args.join(' ')}`);
        if (effort) assert.ok(hasRun(asked.args, effort), `${effort.join(' ')} in ${asked.args.join(' ')}`);
        else
          assert.ok(
            !asked.args.some((a) => a.includes('high')),
            'an effort this CLI has no setting for is ignored',
          );
        if (resume.length > 0)
          assert.ok(hasRun(asked.args, resume), `${resume.join(' ')} in ${asked.args.join(' ')}`);
        else assert.ok(!asked.args.includes(SESSION), 'droid replays instead of resuming');
      });

      it("places the backend's extra options among its own, before the prompt and any subcommand", async () => {
        const d = await dirs();
        const { args } = await plan(type, d, { ...withResume(d), extraArgs: ['--extra', 'x'] });
        const at = args.indexOf('--extra');
        assert.ok(hasRun(args, ['--extra', 'x']));
        // An attached `--prompt=...` may sit anywhere; a positional prompt must come after every option.
        const prompt = args.indexOf(PROMPT);
        for (const later of [prompt, args.indexOf('--'), args.indexOf('resume')].filter((i) => i >= 0)) {
          assert.ok(at < later, `--extra before ${args[later]} in ${JSON.stringify(args)}`);
        }
      });

      it('points the config home into the private home and declares its parser and resume mode', async () => {
        const d = await dirs();
        const { env } = await plan(type, d);
        const value = env[EXPECT[type].configVar];
        assert.ok(value?.startsWith(d.home), `${EXPECT[type].configVar}=${value}`);
        const adapter = CLI_ADAPTERS[type];
        assert.equal(adapter.type, type);
        assert.equal(adapter.parser, PARSERS[type]);
        assert.equal(adapter.resume, type === 'droid' ? 'replay' : 'native');
        assert.deepEqual(adapter.versionArgs, ['--version']);
        assert.equal(adapter.commandSetting, `${type.toUpperCase()}_COMMAND`);
        assert.equal(adapter.defaultCommand, type);
      });

      it("lets the CLI's credentials and proxies through, and none of the gateway's own secrets", () => {
        const adapter = CLI_ADAPTERS[type];
        const base = {
          API_KEY: 'gw',
          API_KEYS_FILE: '/etc/keys',
          REDIS_URL: 'redis://:pw@r',
          DATABASE_URL: 'postgres://x',
          AWS_SECRET_ACCESS_KEY: 'aws',
          HTTPS_PROXY: 'http://proxy:3128',
          NO_PROXY: 'internal',
        };
        const child = buildChildEnv({ base, allow: adapter.passEnv });
        for (const name of [
          'API_KEY',
          'API_KEYS_FILE',
          'REDIS_URL',
          'DATABASE_URL',
          'AWS_SECRET_ACCESS_KEY',
        ]) {
          assert.equal(child[name], undefined, `${name} reached ${type}`);
        }
        assert.equal(child.HTTPS_PROXY, 'http://proxy:3128');
        assert.equal(child.NO_PROXY, 'internal');
        assert.ok(!adapter.passEnv.includes('*'));
        for (const name of adapter.credentialEnv) {
          const reached = buildChildEnv({ base: { [name]: 'x' }, allow: adapter.passEnv });
          assert.equal(reached[name], 'x', `credential ${name} is passed`);
        }
      });

      it('puts no credential value in the variables it sets', async () => {
        const secrets = {
          OPENAI_API_KEY: 'sk-secret-1',
          ANTHROPIC_API_KEY: 'sk-secret-2',
          GEMINI_API_KEY: 'sk-3',
        };
        const { env } = await plan(type, await dirs(), {
          env: { ...secrets, OPENAI_BASE_URL: 'http://m/v1' },
        });
        const text = JSON.stringify(env);
        for (const value of Object.values(secrets)) assert.ok(!text.includes(value), `${value} in ${text}`);
      });
    });
  }
});

/** Per CLI: a user's config files (all must land in the private home) and the login file `hasLogin` looks for. */
const USER_FILES: Record<CliType, { files: Record<string, string>; login: string; sessions: string }> = {
  claude: {
    files: { '.claude/settings.json': '{"model":"opus"}', '.claude/.credentials.json': '{"t":1}' },
    login: '.claude/.credentials.json',
    sessions: '.claude/projects/x/s.jsonl',
  },
  droid: {
    files: {
      '.factory/settings.json': '{"customModels":[]}',
      '.factory/auth.v2.file': 'enc',
      '.factory/auth.v2.key': 'k',
    },
    login: '.factory/auth.v2.file',
    sessions: '.factory/sessions/x/s.jsonl',
  },
  codex: {
    files: { '.codex/config.toml': 'model = "gpt-5"\n', '.codex/auth.json': '{"OPENAI_API_KEY":"k"}' },
    login: '.codex/auth.json',
    sessions: '.codex/sessions/2026/01/01/rollout.jsonl',
  },
  gemini: {
    files: { '.gemini/oauth_creds.json': '{"t":1}', '.gemini/google_accounts.json': '{}' },
    login: '.gemini/oauth_creds.json',
    sessions: '.gemini/tmp/x/chats/s.json',
  },
  opencode: {
    files: {
      '.config/opencode/opencode.json': '{"theme":"x"}',
      '.local/share/opencode/auth.json': '{"a":1}',
    },
    login: '.local/share/opencode/auth.json',
    sessions: '.local/share/opencode/storage/session/s.json',
  },
  qwen: {
    files: { '.qwen/oauth_creds.json': '{"t":1}' },
    login: '.qwen/oauth_creds.json',
    sessions: '.qwen/projects/x/chats/s.jsonl',
  },
  copilot: {
    files: { '.copilot/config.json': '// managed\n{"logged_in_users":[{"login":"me"}]}' },
    login: '.copilot/config.json',
    sessions: '.copilot/session-state/s/events.jsonl',
  },
};

/** Where a user file lands in the private home (Claude Code keeps `~/.claude.json` inside its config dir). */
function landing(path: string): string {
  return path === '.claude.json' ? '.claude/.claude.json' : path;
}

describe('the private config home', () => {
  for (const type of CLIS) {
    describe(type, () => {
      it("copies the user's config and credential files privately, and no sessions", async () => {
        const d = await dirs();
        const { files, sessions } = USER_FILES[type];
        for (const [path, content] of Object.entries(files)) await put(join(d.userHome, path), content);
        await put(join(d.userHome, sessions), '{"secret":"old session"}');
        await plan(type, d);
        for (const [path, content] of Object.entries(files)) {
          const copy = join(d.home, landing(path));
          assert.equal(await readFile(copy, 'utf8'), content, path);
          assert.equal(await mode(copy), 0o600, `${path} is private`);
        }
        assert.ok(await missing(join(d.home, sessions)), 'sessions stay the user’s');
      });

      it("does not follow a symlink out of the user's home", async () => {
        const d = await dirs();
        const outside = join(dirname(d.home), 'elsewhere', 'secret.json');
        await put(outside, '{"stolen":true}');
        const [path = ''] = Object.keys(USER_FILES[type].files);
        await mkdir(dirname(join(d.userHome, path)), { recursive: true });
        await symlink(outside, join(d.userHome, path));
        await plan(type, d);
        const copy = await readFile(join(d.home, landing(path)), 'utf8').catch(() => '');
        assert.ok(!copy.includes('stolen'), `${path} followed the symlink`);
      });

      it('leaves the home alone on a later turn, but still plans the whole command', async () => {
        const d = await dirs();
        const [path = '', content = ''] = Object.entries(USER_FILES[type].files)[0] ?? [];
        await put(join(d.userHome, path), content);
        const first = await plan(type, d);
        // The CLI's session written during turn 1, and the user's own file changing afterwards.
        const session = join(d.home, USER_FILES[type].sessions);
        await put(session, 'turn 1');
        const before = await readFile(join(d.home, landing(path)), 'utf8');
        await put(join(d.userHome, path), '{"changed":true}');
        const second = await plan(type, d, { firstTurn: false });
        assert.equal(await readFile(session, 'utf8'), 'turn 1');
        assert.equal(await readFile(join(d.home, landing(path)), 'utf8'), before);
        assert.deepEqual(second.args, first.args);
      });

      it('hasLogin sees the login file', async () => {
        const d = await dirs();
        const adapter = CLI_ADAPTERS[type];
        assert.equal(await adapter.hasLogin(d.userHome), false);
        await put(
          join(d.userHome, USER_FILES[type].login),
          USER_FILES[type].files[USER_FILES[type].login] ?? '{}',
        );
        assert.equal(await adapter.hasLogin(d.userHome), true);
      });
    });
  }

  it("follows a symlink that stays inside the user's home (dotfiles)", async () => {
    const d = await dirs();
    await put(join(d.userHome, 'dotfiles/claude-settings.json'), '{"theme":"dark"}');
    await mkdir(join(d.userHome, '.claude'), { recursive: true });
    await symlink(
      join(d.userHome, 'dotfiles/claude-settings.json'),
      join(d.userHome, '.claude/settings.json'),
    );
    await plan('claude', d);
    assert.equal(await readFile(join(d.home, '.claude/settings.json'), 'utf8'), '{"theme":"dark"}');
    assert.ok(!(await lstat(join(d.home, '.claude/settings.json'))).isSymbolicLink(), 'a copy, not a link');
  });

  it("claude's global state file moves into its config dir", async () => {
    const d = await dirs();
    await put(join(d.userHome, '.claude.json'), '{"hasCompletedOnboarding":true}');
    await plan('claude', d);
    assert.equal(
      await readFile(join(d.home, '.claude/.claude.json'), 'utf8'),
      '{"hasCompletedOnboarding":true}',
    );
  });

  it('a settings file that is not JSON fails with the file named, rather than being replaced', async () => {
    const d = await dirs();
    await put(join(d.userHome, '.gemini/settings.json'), '{ not json');
    await assert.rejects(plan('gemini', d), (error: unknown) => {
      assert.ok(error instanceof CliSetupError);
      assert.match(error.message, /settings\.json/);
      return true;
    });
  });
});

async function settings(d: Dirs, path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(d.home, path), 'utf8')) as Record<string, unknown>;
}

describe('gemini and qwen settings', () => {
  it("gemini keeps the user's theme and comments-tolerant settings, and gains telemetry and updates off", async () => {
    const d = await dirs();
    await put(join(d.userHome, '.gemini/settings.json'), '{\n  // mine\n  "ui": {"theme": "Dracula"},\n}');
    await plan('gemini', d, { env: { GEMINI_API_KEY: 'k' } });
    assert.deepEqual(await settings(d, '.gemini/settings.json'), {
      ui: { theme: 'Dracula' },
      privacy: { usageStatisticsEnabled: false },
      telemetry: { enabled: false },
      general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
      security: { auth: { selectedType: 'gemini-api-key' } },
    });
  });

  it("gemini keeps the user's own auth method, and picks none when no key is set", async () => {
    const d = await dirs();
    await put(
      join(d.userHome, '.gemini/settings.json'),
      '{"security":{"auth":{"selectedType":"oauth-personal"}}}',
    );
    await plan('gemini', d, { env: { GEMINI_API_KEY: 'k' } });
    assert.deepEqual((await settings(d, '.gemini/settings.json')).security, {
      auth: { selectedType: 'oauth-personal' },
    });

    const bare = await dirs();
    await plan('gemini', bare, { env: { GOOGLE_GENAI_USE_VERTEXAI: 'true', GEMINI_API_KEY: 'k' } });
    assert.equal((await settings(bare, '.gemini/settings.json')).security, undefined);
  });

  it('qwen uses the OpenAI-compatible auth when OPENAI_API_KEY is set, and turns the memory agent off', async () => {
    const d = await dirs();
    await plan('qwen', d, { env: { OPENAI_API_KEY: 'k' } });
    const s = await settings(d, '.qwen/settings.json');
    assert.deepEqual(s.security, { auth: { selectedType: 'openai' } });
    assert.deepEqual(s.memory, { enableManagedAutoMemory: false });
    assert.deepEqual(s.privacy, { usageStatisticsEnabled: false });
  });

  it('qwen, which ignores NO_PROXY, gets no proxy when its model endpoint is loopback or exempt', async () => {
    const proxy = { HTTPS_PROXY: 'http://proxy:3128', http_proxy: 'http://proxy:3128' };
    const local = await plan('qwen', await dirs(), {
      env: { ...proxy, OPENAI_BASE_URL: 'http://127.0.0.1:8080/v1' },
    });
    assert.equal(local.env.HTTPS_PROXY, '');
    assert.equal(local.env.http_proxy, '');
    const exempt = await plan('qwen', await dirs(), {
      env: { ...proxy, NO_PROXY: '.corp.example', OPENAI_BASE_URL: 'https://llm.corp.example/v1' },
    });
    assert.equal(exempt.env.HTTPS_PROXY, '');
    const remote = await plan('qwen', await dirs(), {
      env: { ...proxy, OPENAI_BASE_URL: 'https://api.example/v1' },
    });
    assert.equal(remote.env.HTTPS_PROXY, undefined, 'a remote endpoint keeps the proxy');
  });
});

describe('codex', () => {
  it('turns telemetry, update checks and the network features off on the command line', async () => {
    const { args, env } = await plan('codex', await dirs());
    for (const run of [
      ['-c', 'analytics.enabled=false'],
      ['-c', 'check_for_update_on_startup=false'],
      ['--disable', 'plugins'],
      ['--disable', 'remote_plugin'],
      ['--disable', 'apps'],
      ['--disable', 'tool_suggest'],
    ]) {
      assert.ok(hasRun(args, run), run.join(' '));
    }
    assert.ok(
      (await stat(env.CODEX_HOME ?? '')).isDirectory(),
      'CODEX_HOME exists (codex refuses a missing one)',
    );
  });

  it('defines a provider for OPENAI_BASE_URL unless the user chose one', async () => {
    const url = 'http://127.0.0.1:9/v1';
    const { args } = await plan('codex', await dirs(), {
      env: { OPENAI_BASE_URL: url, OPENAI_API_KEY: 'sk-x' },
    });
    assert.ok(hasRun(args, ['-c', 'model_provider="gateway"']));
    const table = args.find((a) => a.startsWith('model_providers.gateway='));
    assert.equal(
      table,
      `model_providers.gateway={name="gateway",base_url="${url}",env_key="OPENAI_API_KEY",wire_api="responses"}`,
    );
    assert.ok(!args.join(' ').includes('sk-x'));

    const own = await dirs();
    await put(
      join(own.userHome, '.codex/config.toml'),
      'model_provider = "azure"\n[model_providers.azure]\nenv_key = "AZURE_OPENAI_API_KEY"\n',
    );
    const mine = await plan('codex', own, { env: { OPENAI_BASE_URL: url } });
    assert.ok(!mine.args.some((a) => a.includes('gateway')));
    assert.deepEqual(mine.passEnv, ['AZURE_OPENAI_API_KEY'], "the user's provider key is let through");
  });

  it('without OPENAI_BASE_URL it leaves the provider to codex', async () => {
    const { args, passEnv } = await plan('codex', await dirs(), { env: { OPENAI_API_KEY: 'k' } });
    assert.ok(!args.some((a) => a.includes('model_provider')));
    assert.equal(passEnv, undefined);
  });
});

function overlay(p: CliRunPlan): Record<string, unknown> {
  return JSON.parse(p.env.OPENCODE_CONFIG_CONTENT ?? '{}') as Record<string, unknown>;
}

describe('opencode', () => {
  it('lays autoupdate off and sharing disabled over every config, and keeps models offline', async () => {
    const p = await plan('opencode', await dirs());
    assert.deepEqual(overlay(p), { autoupdate: false, share: 'disabled' });
    assert.equal(p.env.OPENCODE_DISABLE_MODELS_FETCH, '1');
    assert.equal(p.env.OPENCODE_DISABLE_AUTOUPDATE, '1');
  });

  it('defines an OpenAI-compatible provider from OPENAI_BASE_URL when the user configured none', async () => {
    const env = { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_API_KEY: 'sk-x', OPENAI_MODEL: 'qwen3' };
    const p = await plan('opencode', await dirs(), { env });
    const config = overlay(p);
    assert.equal(config.model, 'gateway/qwen3');
    assert.deepEqual(config.provider, {
      gateway: {
        npm: '@ai-sdk/openai-compatible',
        name: 'Gateway',
        options: { baseURL: 'http://127.0.0.1:9/v1', apiKey: '{env:OPENAI_API_KEY}' },
        models: { qwen3: { name: 'qwen3', tool_call: true } },
      },
    });
    assert.ok(hasRun(p.args, ['-m', 'gateway/qwen3']));
    const requested = await plan('opencode', await dirs(), { env, model: 'anthropic/claude-x' });
    assert.ok(
      hasRun(requested.args, ['-m', 'anthropic/claude-x']),
      'a provider/model request is passed as is',
    );
    assert.equal(overlay(requested).provider, undefined);
  });

  it("keeps the user's own provider, and lets through the variables their config names", async () => {
    const d = await dirs();
    await put(
      join(d.userHome, '.config/opencode/opencode.jsonc'),
      '{ // mine\n "provider": {"corp": {"options": {"apiKey": "{env:CORP_LLM_KEY}"}}} }',
    );
    const p = await plan('opencode', d, { env: { OPENAI_BASE_URL: 'http://x/v1', OPENAI_MODEL: 'm' } });
    assert.equal(overlay(p).provider, undefined);
    assert.deepEqual(p.passEnv, ['CORP_LLM_KEY']);
  });
});

describe('droid', () => {
  it('airgaps only runs that cannot need Factory: a BYOK model, or no Factory login', async () => {
    const d = await dirs();
    assert.equal((await plan('droid', d)).env.FACTORY_AIRGAP_ENABLED, '1', 'no login at all');
    const keyed = await plan('droid', await dirs(), { env: { FACTORY_API_KEY: 'fk' } });
    assert.equal(keyed.env.FACTORY_AIRGAP_ENABLED, undefined);
    const byok = await plan('droid', await dirs(), {
      env: { FACTORY_API_KEY: 'fk' },
      model: 'custom:Mine-0',
    });
    assert.equal(byok.env.FACTORY_AIRGAP_ENABLED, '1');
    const loggedIn = await dirs();
    await put(join(loggedIn.userHome, '.factory/auth.v2.file'), 'enc');
    assert.equal((await plan('droid', loggedIn)).env.FACTORY_AIRGAP_ENABLED, undefined);
    const forcedOff = await plan('droid', await dirs(), {
      env: { FACTORY_AIRGAP_ENABLED: '0' },
      model: 'custom:M-0',
    });
    assert.equal(
      forcedOff.env.FACTORY_AIRGAP_ENABLED,
      undefined,
      "the user's own setting passes through untouched",
    );
    assert.equal((await plan('droid', d)).env.FACTORY_DROID_AUTO_UPDATE_ENABLED, 'false');
  });

  it('counts BYOK models in the settings as a login', async () => {
    const d = await dirs();
    await put(join(d.userHome, '.factory/settings.json'), '{"customModels":[{"model":"m","apiKey":"k"}]}');
    assert.equal(await CLI_ADAPTERS.droid.hasLogin(d.userHome), true);
  });
});

describe('claude', () => {
  it('turns non-essential traffic off, and says it is sandboxed only when running as root', async () => {
    const { env } = await plan('claude', await dirs());
    assert.equal(env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC, '1');
    assert.equal(env.DISABLE_AUTOUPDATER, '1');
    assert.equal(env.DISABLE_TELEMETRY, '1');
    assert.equal(env.IS_SANDBOX, process.getuid?.() === 0 ? '1' : undefined);
  });

  it('lets through named CLAUDE_CODE_ settings only, not a parent Claude Code session', () => {
    const child = buildChildEnv({
      base: {
        CLAUDE_CODE_OAUTH_TOKEN: 't',
        CLAUDE_CODE_ENTRYPOINT: 'cli',
        CLAUDECODE: '1',
        ANTHROPIC_BASE_URL: 'u',
      },
      allow: CLI_ADAPTERS.claude.passEnv,
    });
    assert.deepEqual(Object.keys(child).sort(), ['ANTHROPIC_BASE_URL', 'CLAUDE_CODE_OAUTH_TOKEN']);
  });
});

describe('copilot', () => {
  it("shares the user's unpacked package cache instead of unpacking 235 MB per context", async () => {
    const d = await dirs();
    assert.equal((await plan('copilot', d)).env.COPILOT_PKG_CACHE_HOME, join(d.userHome, '.cache/copilot'));
    const set = await plan('copilot', d, { env: { XDG_CACHE_HOME: '/cache' } });
    assert.equal(set.env.COPILOT_PKG_CACHE_HOME, '/cache/copilot');
    assert.equal(set.env.COPILOT_AUTO_UPDATE, 'false');
  });
});

describe('helpers', () => {
  it('bypassesProxy follows NO_PROXY and always exempts loopback', () => {
    assert.equal(bypassesProxy('http://127.0.0.1:8080/v1', undefined), true);
    assert.equal(bypassesProxy('http://localhost/v1', ''), true);
    assert.equal(bypassesProxy('http://[::1]:1/v1', ''), true);
    assert.equal(bypassesProxy('https://api.example.com/v1', ''), false);
    assert.equal(bypassesProxy('https://api.example.com/v1', 'example.com'), true);
    assert.equal(bypassesProxy('https://api.example.com/v1', '.example.com'), true);
    assert.equal(bypassesProxy('https://api.example.com/v1', '*.example.com'), true);
    assert.equal(bypassesProxy('https://api.example.com/v1', 'other.com, *'), true);
    assert.equal(bypassesProxy('https://api.example.com/v1', 'api.example.com:8443'), false);
    assert.equal(bypassesProxy('https://api.example.com:8443/v1', 'api.example.com:8443'), true);
    assert.equal(bypassesProxy('https://notexample.com/v1', 'example.com'), false);
    assert.equal(bypassesProxy('not a url', '*'), false);
  });

  it('deepMerge merges nested objects and keeps __proto__ a plain key', () => {
    const base = JSON.parse('{"a":{"x":1,"y":2},"__proto__":{"polluted":true}}') as Record<string, unknown>;
    const merged = deepMerge(base, { a: { y: 3 }, b: [1] });
    // Written as JSON: in an object literal, `__proto__` would set the prototype instead.
    assert.equal(JSON.stringify(merged), '{"a":{"x":1,"y":3},"__proto__":{"polluted":true},"b":[1]}');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(merged), Object.prototype);
  });
});
