/**
 * How a user points each coding CLI at a given model endpoint, for one headless turn: the argv after the
 * command, a complete environment (PATH, HOME and only what the CLI needs) and the config files it reads,
 * written into a private HOME. Verified against the scripted model server (test/fixtures/mock-llm) with the
 * versions pinned in test/e2e/package.json; see test/e2e/clis-vs-mock.test.ts and
 * /work/shared/research/coding-cli-headless.md.
 *
 * No proxy variables are passed: Qwen Code ignores NO_PROXY and would send 127.0.0.1 through a proxy.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RequestKind } from '../../fixtures/mock-llm/index.js';

export const CLI_NAMES = ['claude', 'droid', 'codex', 'gemini', 'opencode', 'qwen', 'copilot'] as const;
export type CliName = (typeof CLI_NAMES)[number];

/** Where scripts/install-e2e-clis.mjs installs the pinned CLIs. */
export const E2E_BIN_DIR = fileURLToPath(new URL('../node_modules/.bin/', import.meta.url));

export interface TurnOptions {
  /** The model server, `http://127.0.0.1:PORT` without a trailing slash. */
  mockUrl: string;
  /** A private, writable HOME; the CLI's config files are written here. */
  home: string;
  /** The repository the CLI works in (the spawn's cwd). */
  workdir: string;
  prompt: string;
  /** A session id from an earlier turn (see {@link CliProfile.sessionId}) to continue. */
  resume?: string;
}

export interface CliInvocation {
  /** Absolute path of the executable. */
  command: string;
  /** Arguments after the command. */
  args: string[];
  /** The complete environment: nothing else is inherited. */
  env: Record<string, string>;
  cwd: string;
}

/** A JSON line the CLI printed on stdout. */
export type CliEvent = Record<string, unknown>;

/** How a turn ended, judged from its events the way the research recommends for each CLI. */
export type TurnOutcome = 'success' | 'error' | 'unknown';

export interface CliProfile {
  name: CliName;
  /** The npm package (pinned in test/e2e/package.json) that provides it. */
  packageName: string;
  /** The model API it calls with the configuration below. */
  api: RequestKind;
  /** Writes the config files into `home` and returns what to spawn. */
  turn(options: TurnOptions): CliInvocation;
  /** The id to pass back as `resume`, from the turn's events. */
  sessionId(events: readonly CliEvent[]): string | undefined;
  /** Success or failure as the events report it; the exit code alone is not reliable (Qwen exits 0 on a 401). */
  outcome(events: readonly CliEvent[]): TurnOutcome;
}

const API_KEY = 'sk-mock';

function bin(name: string): string {
  return join(E2E_BIN_DIR, name);
}

function baseEnv(home: string): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8' };
}

function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

function writeJson(path: string, value: unknown): void {
  writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function last(events: readonly CliEvent[], type: string): CliEvent | undefined {
  return events.findLast((event) => event['type'] === type);
}

function has(events: readonly CliEvent[], type: string): boolean {
  return events.some((event) => event['type'] === type);
}

/** The first string `field` of an event matching `match`. */
function firstField(
  events: readonly CliEvent[],
  field: string,
  match: (event: CliEvent) => boolean = () => true,
): string | undefined {
  for (const event of events) {
    const value = match(event) ? str(event[field]) : undefined;
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * Claude Code: Anthropic Messages at ANTHROPIC_BASE_URL. IS_SANDBOX=1 is required as root with
 * bypassPermissions; CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 drops the title call and all telemetry and
 * feature-flag traffic. `--verbose` is required by stream-json. Resume: `--resume <session_id>`.
 */
export const claude: CliProfile = {
  name: 'claude',
  packageName: '@anthropic-ai/claude-code',
  api: 'anthropic',
  turn({ mockUrl, home, workdir, prompt, resume }) {
    const configDir = join(home, '.claude');
    mkdirSync(configDir, { recursive: true });
    return {
      command: bin('claude'),
      args: [
        '-p',
        prompt,
        '--output-format',
        'stream-json',
        '--verbose',
        '--permission-mode',
        'bypassPermissions',
        ...(resume === undefined ? [] : ['--resume', resume]),
      ],
      env: {
        ...baseEnv(home),
        CLAUDE_CONFIG_DIR: configDir,
        ANTHROPIC_BASE_URL: mockUrl,
        ANTHROPIC_API_KEY: 'sk-ant-mock',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        // It retries even a 401 ten times with backoff (minutes); tests want the failure at once.
        CLAUDE_CODE_MAX_RETRIES: '0',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_TELEMETRY: '1',
        IS_SANDBOX: '1',
      },
      cwd: workdir,
    };
  },
  sessionId: (events) => firstField(events, 'session_id'),
  outcome: (events) => {
    // `subtype` stays "success" on API errors; `is_error` tells.
    const result = last(events, 'result');
    if (result === undefined) return 'unknown';
    return result['is_error'] === true ? 'error' : 'success';
  },
};

/** The model id droid derives from the first custom model's display name: `custom:<name, - for spaces>-<index>`. */
export const DROID_MODEL = 'custom:Mock-Anthropic-0';

/**
 * droid: BYOK custom model (provider `anthropic`) in ~/.factory/settings.json; no Factory login. A first turn runs
 * with FACTORY_AIRGAP_ENABLED=1 (no Factory cloud calls, ~2 s). Airgap breaks `-s <session>` (exec -s always asks
 * the Factory API for the session), so a resumed turn instead points Factory's own API, telemetry and OTEL
 * endpoints at the mock, which 404s them all: slower (a cloud-sync flush times out) but fully local.
 */
export const droid: CliProfile = {
  name: 'droid',
  packageName: 'droid',
  api: 'anthropic',
  turn({ mockUrl, home, workdir, prompt, resume }) {
    writeJson(join(home, '.factory', 'settings.json'), {
      customModels: [
        {
          model: 'claude-sonnet-4-5',
          displayName: 'Mock Anthropic',
          baseUrl: mockUrl,
          apiKey: API_KEY,
          provider: 'anthropic',
          maxOutputTokens: 8192,
        },
      ],
    });
    const cloud: Record<string, string> =
      resume === undefined
        ? { FACTORY_AIRGAP_ENABLED: '1' }
        : {
            FACTORY_API_BASE_URL: mockUrl,
            FACTORY_TELEMETRY_INGEST_BASE_URL: mockUrl,
            OTEL_PRODUCT_ENDPOINT: mockUrl,
            OTEL_CUSTOMER_ENDPOINT: mockUrl,
          };
    return {
      command: bin('droid'),
      args: [
        'exec',
        '--output-format',
        'stream-json',
        '--auto',
        'high',
        '--model',
        DROID_MODEL,
        '--cwd',
        workdir,
        ...(resume === undefined ? [] : ['--session-id', resume]),
        prompt,
      ],
      env: { ...baseEnv(home), FACTORY_DROID_AUTO_UPDATE_ENABLED: 'false', ...cloud },
      cwd: workdir,
    };
  },
  sessionId: (events) => firstField(events, 'session_id'),
  outcome: (events) => (has(events, 'error') ? 'error' : has(events, 'completion') ? 'success' : 'unknown'),
};

/**
 * Codex: a custom Responses provider in $CODEX_HOME/config.toml (OPENAI_BASE_URL is not honoured by the built-in
 * provider). Retries off so errors surface at once; analytics and the plugin/app features off, else it reaches
 * for github.com and chatgpt.com. Top-level keys must precede the tables. Resume: `exec resume <thread_id> PROMPT`.
 */
export const codex: CliProfile = {
  name: 'codex',
  packageName: '@openai/codex',
  api: 'openai-responses',
  turn({ mockUrl, home, workdir, prompt, resume }) {
    const codexHome = join(home, '.codex');
    writeFile(
      join(codexHome, 'config.toml'),
      [
        // A slug from `codex debug models --bundled`: an unknown one gets a reduced tool set without apply_patch.
        'model = "gpt-5.5"',
        'model_provider = "mock"',
        'check_for_update_on_startup = false',
        '',
        '[model_providers.mock]',
        'name = "Mock LLM"',
        `base_url = ${JSON.stringify(`${mockUrl}/v1`)}`,
        'env_key = "MOCK_API_KEY"',
        'wire_api = "responses"',
        'request_max_retries = 0',
        'stream_max_retries = 0',
        '',
        '[analytics]',
        'enabled = false',
        '',
        '[features]',
        'plugins = false',
        'remote_plugin = false',
        'apps = false',
        'tool_suggest = false',
        '',
      ].join('\n'),
    );
    const common = ['--json', '--dangerously-bypass-approvals-and-sandbox'];
    return {
      command: bin('codex'),
      args: ['exec', ...common, ...(resume === undefined ? [] : ['resume', resume]), prompt],
      env: { ...baseEnv(home), CODEX_HOME: codexHome, MOCK_API_KEY: API_KEY },
      cwd: workdir,
    };
  },
  sessionId: (events) => firstField(events, 'thread_id', (event) => event['type'] === 'thread.started'),
  outcome: (events) =>
    has(events, 'turn.failed') ? 'error' : has(events, 'turn.completed') ? 'success' : 'unknown',
};

/**
 * Gemini CLI: Gemini API at GOOGLE_GEMINI_BASE_URL (http allowed for 127.0.0.1 only) with an API key. Without
 * `security.auth.selectedType` it exits 41; without the trust variable `--yolo` is downgraded; without
 * NO_RELAUNCH it re-execs itself as a child that ignores signals sent to the pid we spawned. A fixed model skips
 * the `auto` router call. Resume: `--resume <session_id from init>`.
 */
export const gemini: CliProfile = {
  name: 'gemini',
  packageName: '@google/gemini-cli',
  api: 'gemini',
  turn({ mockUrl, home, workdir, prompt, resume }) {
    writeJson(join(home, '.gemini', 'settings.json'), {
      security: { auth: { selectedType: 'gemini-api-key' } },
      privacy: { usageStatisticsEnabled: false },
      telemetry: { enabled: false },
      general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
    });
    return {
      command: bin('gemini'),
      args: [
        '-p',
        prompt,
        '--output-format',
        'stream-json',
        '--yolo',
        '-m',
        'gemini-2.5-pro',
        ...(resume === undefined ? [] : ['--resume', resume]),
      ],
      env: {
        ...baseEnv(home),
        GEMINI_API_KEY: 'mock-key',
        GOOGLE_GEMINI_BASE_URL: mockUrl,
        GEMINI_CLI_TRUST_WORKSPACE: 'true',
        GEMINI_CLI_NO_RELAUNCH: 'true',
      },
      cwd: workdir,
    };
  },
  sessionId: (events) => firstField(events, 'session_id', (event) => event['type'] === 'init'),
  outcome: (events) => {
    const status = last(events, 'result')?.['status'];
    return status === 'success' ? 'success' : status === 'error' ? 'error' : 'unknown';
  },
};

/**
 * opencode: an `@ai-sdk/openai-compatible` provider (bundled, nothing downloaded) in
 * ~/.config/opencode/opencode.json, Chat Completions at `<url>/v1`. Resume: `--session <sessionID>`.
 */
export const opencode: CliProfile = {
  name: 'opencode',
  packageName: 'opencode-ai',
  api: 'openai-chat',
  turn({ mockUrl, home, workdir, prompt, resume }) {
    const configDir = join(home, '.config', 'opencode');
    // opencode npm-installs @opencode-ai/plugin into every config dir (registry.npmjs.org) unless node_modules
    // exists and package-lock.json already lists it; this marker is enough, nothing needs to be installed.
    mkdirSync(join(configDir, 'node_modules'), { recursive: true });
    writeJson(join(configDir, 'package-lock.json'), {
      packages: { '': { dependencies: { '@opencode-ai/plugin': '*' } } },
    });
    writeJson(join(configDir, 'opencode.json'), {
      $schema: 'https://opencode.ai/config.json',
      autoupdate: false,
      share: 'disabled',
      provider: {
        mock: {
          npm: '@ai-sdk/openai-compatible',
          name: 'Mock',
          options: { baseURL: `${mockUrl}/v1`, apiKey: API_KEY },
          models: { 'mock-model': { name: 'Mock Model', tool_call: true } },
        },
      },
      model: 'mock/mock-model',
    });
    return {
      command: bin('opencode'),
      args: [
        'run',
        '--format',
        'json',
        '--auto',
        ...(resume === undefined ? [] : ['--session', resume]),
        prompt,
      ],
      env: {
        ...baseEnv(home),
        OPENCODE_DISABLE_MODELS_FETCH: '1',
        OPENCODE_DISABLE_AUTOUPDATE: '1',
        OPENCODE_DISABLE_DEFAULT_PLUGINS: '1',
        OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
        OPENCODE_DISABLE_SHARE: '1',
      },
      cwd: workdir,
    };
  },
  sessionId: (events) => firstField(events, 'sessionID'),
  outcome: (events) => {
    if (has(events, 'error')) return 'error';
    const finish = last(events, 'step_finish')?.['part'] as Record<string, unknown> | undefined;
    return finish?.['reason'] === 'stop' ? 'success' : 'unknown';
  },
};

/**
 * Qwen Code: Chat Completions at OPENAI_BASE_URL with auth type `openai` in ~/.qwen/settings.json. The managed
 * auto-memory background agent is switched off (the mock would answer it anyway). Never give it a proxy: it
 * ignores NO_PROXY. Resume: `--resume <session_id>`.
 */
export const qwen: CliProfile = {
  name: 'qwen',
  packageName: '@qwen-code/qwen-code',
  api: 'openai-chat',
  turn({ mockUrl, home, workdir, prompt, resume }) {
    writeJson(join(home, '.qwen', 'settings.json'), {
      security: { auth: { selectedType: 'openai' } },
      memory: { enableManagedAutoMemory: false },
      privacy: { usageStatisticsEnabled: false },
      telemetry: { enabled: false },
      general: { enableAutoUpdate: false },
    });
    return {
      command: bin('qwen'),
      args: [
        '-p',
        prompt,
        '--output-format',
        'stream-json',
        '--yolo',
        ...(resume === undefined ? [] : ['--resume', resume]),
      ],
      env: {
        ...baseEnv(home),
        OPENAI_BASE_URL: `${mockUrl}/v1`,
        OPENAI_API_KEY: API_KEY,
        OPENAI_MODEL: 'mock-model',
      },
      cwd: workdir,
    };
  },
  sessionId: (events) => firstField(events, 'session_id'),
  outcome: (events) => {
    // A failed API call is reported as a successful result whose text is `[API Error: …]`.
    const result = last(events, 'result');
    if (result === undefined) return 'unknown';
    const text = str(result['result']) ?? '';
    return result['is_error'] === true || text.startsWith('[API Error') ? 'error' : 'success';
  },
};

/**
 * GitHub Copilot CLI: offline BYOK (`copilot help environment`), Chat Completions at `<url>/v1`; no GitHub
 * login. Resume: `--resume <sessionId from result>`.
 */
export const copilot: CliProfile = {
  name: 'copilot',
  packageName: '@github/copilot',
  api: 'openai-chat',
  turn({ mockUrl, home, workdir, prompt, resume }) {
    return {
      command: bin('copilot'),
      args: [
        '-p',
        prompt,
        '--output-format',
        'json',
        '--allow-all',
        '--no-ask-user',
        ...(resume === undefined ? [] : ['--resume', resume]),
      ],
      env: {
        ...baseEnv(home),
        COPILOT_OFFLINE: 'true',
        COPILOT_PROVIDER_BASE_URL: `${mockUrl}/v1`,
        COPILOT_PROVIDER_TYPE: 'openai',
        COPILOT_PROVIDER_API_KEY: API_KEY,
        COPILOT_MODEL: 'gpt-5',
      },
      cwd: workdir,
    };
  },
  sessionId: (events) => firstField(events, 'sessionId', (event) => event['type'] === 'result'),
  outcome: (events) => {
    const result = last(events, 'result');
    if (has(events, 'session.error') || (result !== undefined && result['exitCode'] !== 0)) return 'error';
    return result === undefined ? 'unknown' : 'success';
  },
};

export const CLIS: Readonly<Record<CliName, CliProfile>> = {
  claude,
  droid,
  codex,
  gemini,
  opencode,
  qwen,
  copilot,
};

/**
 * The environment every e2e gateway starts with: the pinned CLIs first on PATH, the user's home, its data and
 * workspace directories, and a closed local proxy for anything a CLI tries to reach besides the model server.
 */
export function e2eGatewayEnv(opts: {
  home: string;
  dataDir: string;
  roots: string;
}): Record<string, string> {
  return {
    PATH: `${E2E_BIN_DIR}:${process.env.PATH ?? ''}`,
    HOME: opts.home,
    DATA_DIR: opts.dataDir,
    WORKSPACE_ROOTS: opts.roots,
    LOG_LEVEL: 'info',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    HTTP_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '127.0.0.1,localhost',
  };
}
