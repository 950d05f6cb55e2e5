import { readFileSync, realpathSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { createHash, randomBytes } from 'node:crypto';
import { validateAllowlist } from '../push/url-guard.js';
import { engineEnvFrom } from '../runner/container.js';
import { parseAllowedHosts } from '../runner/egress-proxy.js';
import { containerSandboxIssues } from './sandbox-checks.js';
import { TestCommandError, parseTestCommand, type TestCommand } from '../verify/command.js';
import type { RepositorySettings } from '../workspace/setup.js';
import {
  envSchema,
  fileSchema,
  keysFileSchema,
  type CliBackendType,
  type BackendConfig,
  type EnvSettings,
  type FileSettings,
  type SkillOverride,
  type SANDBOX_SETTINGS,
} from './schema.js';

/** The validated, frozen configuration of one gateway process. */
export interface GatewayConfig {
  host: string;
  port: number;
  logLevel: string;
  publicUrl: string | undefined;
  trustProxy: string;
  dataDir: string;
  /** Where tasks, their event streams, conversations and push configs live (`redis`: shared by every node). */
  store: 'sqlite' | 'memory' | 'redis';
  /** The SQLite file, under `dataDir`. */
  dbFile: string;
  maxConcurrentTasks: number;
  maxQueuedTasks: number;
  defaultTimeoutSec: number;
  maxTaskTimeoutSec: number;
  killGraceMs: number;
  shutdownTimeoutMs: number;
  bodyLimitBytes: number;
  /** SSE heartbeat interval in ms (0: none). */
  sseHeartbeatMs: number;
  /** Unsent bytes a stream subscriber may have before its connection is cut (it resumes by Last-Event-ID). */
  sseMaxBufferedBytes: number;
  /** How long a question (input-required) waits for the caller's reply before the task fails, in ms. */
  inputTimeoutMs: number;
  /** The longest a task waits for its backend's usage limit to reset, in ms (0: a limit fails the task). */
  usageLimitWaitMaxMs: number;
  /** Most events kept per task for replay; past it the oldest progress updates go. */
  taskEventLogLimit: number;
  retention: { completedHours: number; failedHours: number };
  /** Directories every task workdir must be inside (real paths). */
  workspaceRoots: readonly string[];
  /** Task branches' lifetime, where non-git workdirs run, and the template fallback of the generation skills. */
  workspace: { branchRetentionHours: number; nonGit: 'copy' | 'in_place'; templateFallback: boolean };
  /** Repositories the config names, with their set-up command (the config file's `repositories`). */
  repositories: readonly RepositorySettings[];
  /** Redis, shared by several gateway processes. In this version it carries the rate-limit counts. */
  redis: { enabled: boolean; url: string; keyPrefix: string };
  /** `all`: one node that serves A2A and runs tasks; `api` and `worker` split them over nodes sharing Redis. */
  role: 'all' | 'api' | 'worker';
  /** A worker silent this long (ms) has its running task failed (BullMQ's stalled-job check). */
  workerStallTimeoutMs: number;
  /** This node's name (NODE_ID, else host name, process id and a random part). */
  nodeId: string;
  auth: {
    /** API keys: id, SHA-256 digest (hex), scopes. API_KEY becomes the key `default` with every scope and admin. */
    keys: ReadonlyArray<{ id: string; sha256: string; scopes: readonly string[] }>;
    jwt:
      | {
          jwksUrl: string;
          issuer?: string;
          audience?: string;
          scopeClaim: string;
          subjectClaim: string;
          maxLifetimeSec: number;
        }
      | undefined;
    allowUnauthenticated: boolean;
    /** Failed authentications one client address may make in a window before it gets 429 (0: no limit). */
    failureLimit: number;
    failureWindowSec: number;
  };
  /** Requests per minute per key (or per client address without keys); 0 turns the limit off. */
  rateLimitPerMinute: number;
  /** Queued plus running tasks one key may have at once; 0 turns the limit off. */
  maxTasksPerKey: number;
  corsOrigins: readonly string[];
  /** The A2A gRPC binding: its port (undefined: off), and the address the card gives (default: the card's host). */
  grpc: { port: number | undefined; publicAddress: string | undefined };
  /** The card layout for a request with no `A2A-Version`: `0.3` (0.3 fields plus the 1.0 interfaces) or strict `1.0`. */
  agentCardDefaultVersion: '0.3' | '1.0';
  /** Optional OS limits applied to every task's processes (prlimit). */
  taskLimits: { memoryMb?: number; processes?: number };
  /** How every process a task starts is ended with it (see runner/containment.ts). */
  containment: 'auto' | 'cgroup' | 'pidns' | 'tracked';
  /**
   * The sandbox around every task's processes (see runner/sandbox.ts): the setting, the network, extra writable
   * and hidden directories, and the gateway's secret files (keys, signing key, config) that runs must not read.
   */
  sandbox: {
    setting: (typeof SANDBOX_SETTINGS)[number];
    /** For `docker` / `podman`: the image, and the engine client's environment (see runner/container.ts). */
    image: string | undefined;
    engineEnv: Readonly<Record<string, string>>;
    network: 'on' | 'off' | 'allowlist';
    /** For `allowlist`: the hosts sandboxed runs may reach through the gateway's proxy. */
    allowedHosts: readonly string[];
    writable: readonly string[];
    hide: readonly string[];
    secretFiles: readonly string[];
  };
  /** Push notifications: webhook hosts allowed despite the SSRF rules, signing, retries, Slack summary. */
  push: {
    allowlist: readonly string[];
    hmacSecret: string | undefined;
    signingKeyFile: string | undefined;
    maxAttempts: number;
    slackWebhookUrl: string | undefined;
  };
  /**
   * Prometheus metrics at `/metrics`: on the main port behind the API key, or (with `port`) on a listener of their
   * own, without a key, at `host` (default HOST).
   */
  metrics: { enabled: boolean; port: number | undefined; host: string };
  /** Set when HOST was narrowed to loopback because no key is configured; says why. */
  bindNotice: string | undefined;
  backends: Readonly<Record<string, BackendConfig>>;
  skills: Readonly<Record<string, SkillOverride>>;
  defaultSkill: string;
  allowBackendOverride: boolean;
  configFile: string | undefined;
}

/** A configuration that cannot be used; `issues` name each key and what was expected. */
export class ConfigError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  env: NodeJS.ProcessEnv;
  /** `--config FILE` from the command line; wins over `A2A_GATEWAY_CONFIG`. */
  configFile?: string;
  /** Directory relative paths are resolved against (default: the process cwd). */
  cwd?: string;
  /** Skill ids the catalog knows, to check the file's skill names against. */
  knownSkills: readonly string[];
}

function describeIssues(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((issue) => {
    const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `${prefix}${key}: ${issue.message}`;
  });
}

/** Only the variables the schema knows, and empty strings treated as unset so `PORT=` means the default. */
function pickEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  return picked;
}

function readKeysFile(path: string): Array<{ id: string; sha256: string; scopes: string[] }> {
  const result = keysFileSchema.safeParse(readConfigFile(path));
  if (!result.success) throw new ConfigError(describeIssues(result.error, `API_KEYS_FILE ${path}: `));
  const ids = new Set<string>();
  for (const key of result.data.keys) {
    if (ids.has(key.id)) throw new ConfigError([`API_KEYS_FILE ${path}: key id "${key.id}" appears twice`]);
    ids.add(key.id);
  }
  return result.data.keys.map((k) => ({
    id: k.id,
    sha256: k.hash.slice('sha256:'.length),
    scopes: k.scopes,
  }));
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([
      `config file ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    ]);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError([`config file ${path}: not valid YAML (${(err as Error).message.split('\n')[0]})`]);
  }
}

function cli(type: CliBackendType, command: string): BackendConfig {
  return { type, command, extraArgs: [], env: {}, passEnv: [] };
}

/** The backends every gateway has, named as the skills' defaults name them; the file may redefine them. */
function builtinBackends(env: EnvSettings): Record<string, BackendConfig> {
  return {
    claude: cli('claude', env.CLAUDE_COMMAND),
    droid: cli('droid', env.DROID_COMMAND),
    codex: cli('codex', env.CODEX_COMMAND),
    gemini: cli('gemini', env.GEMINI_COMMAND),
    opencode: cli('opencode', env.OPENCODE_COMMAND),
    qwen: cli('qwen', env.QWEN_COMMAND),
    copilot: cli('copilot', env.COPILOT_COMMAND),
    template: { type: 'template' },
  };
}

/** The `<TYPE>_COMMAND` setting of each CLI type: the command of every backend of that type that names none. */
const COMMAND_SETTING: Record<CliBackendType, keyof EnvSettings> = {
  claude: 'CLAUDE_COMMAND',
  droid: 'DROID_COMMAND',
  codex: 'CODEX_COMMAND',
  gemini: 'GEMINI_COMMAND',
  opencode: 'OPENCODE_COMMAND',
  qwen: 'QWEN_COMMAND',
  copilot: 'COPILOT_COMMAND',
};

function withDefaultCommands(
  backends: Record<string, BackendConfig>,
  env: EnvSettings,
): Record<string, BackendConfig> {
  const out: Record<string, BackendConfig> = {};
  for (const [name, backend] of Object.entries(backends)) {
    const setting = (COMMAND_SETTING as Partial<Record<string, keyof EnvSettings>>)[backend.type];
    out[name] =
      setting && 'extraArgs' in backend && backend.command === undefined
        ? { ...backend, command: String(env[setting]) }
        : backend;
  }
  return out;
}

function crossCheck(
  file: FileSettings,
  backends: Record<string, BackendConfig>,
  knownSkills: readonly string[],
): string[] {
  const issues: string[] = [];
  const backendNames = Object.keys(backends).sort().join(', ');
  for (const [skill, override] of Object.entries(file.skills)) {
    if (!knownSkills.includes(skill)) {
      issues.push(`skills.${skill}: unknown skill; expected one of ${knownSkills.join(', ')}`);
    }
    if (override.backend !== undefined && !(override.backend in backends)) {
      issues.push(
        `skills.${skill}.backend: unknown backend "${override.backend}"; expected one of ${backendNames}`,
      );
    }
  }
  if (!knownSkills.includes(file.defaultSkill)) {
    issues.push(
      `defaultSkill: unknown skill "${file.defaultSkill}"; expected one of ${knownSkills.join(', ')}`,
    );
  }
  return issues;
}

/**
 * The config file's repositories, each at its real path (a worktree's repository is found by its real top level),
 * with its set-up command parsed like a test command: no shell, so shell syntax is refused here, at start-up.
 */
function readRepositories(file: FileSettings, cwd: string, issues: string[]): RepositorySettings[] {
  const out: RepositorySettings[] = [];
  for (const [i, repo] of file.repositories.entries()) {
    const field = `repositories.${i}`;
    const path = resolve(cwd, repo.path);
    let root: string;
    try {
      root = realpathSync(path);
    } catch {
      issues.push(`${field}.path: ${path} does not exist; expected a repository's top level`);
      continue;
    }
    let setup: TestCommand | undefined;
    if (typeof repo.setup === 'string') {
      try {
        setup = parseTestCommand(repo.setup);
      } catch (err) {
        const detail = err instanceof TestCommandError ? err.detail : (err as Error).message;
        issues.push(`${field}.setup: ${detail}`);
        continue;
      }
    } else if (repo.setup) {
      setup = { text: repo.setup.join(' '), argv: repo.setup, env: {} };
    }
    out.push({ root, setupTimeoutMs: repo.setupTimeout * 1000, ...(setup ? { setup } : {}) });
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Reads the environment and the optional YAML file once, validates both, and returns a frozen config.
 * Throws {@link ConfigError} listing every bad key; the caller prints it and exits non-zero.
 */
export function loadConfig(opts: LoadConfigOptions): GatewayConfig {
  const cwd = opts.cwd ?? process.cwd();
  const envResult = envSchema.safeParse(pickEnv(opts.env));
  if (!envResult.success) throw new ConfigError(describeIssues(envResult.error, ''));
  const env = envResult.data;

  const configPath = opts.configFile ?? env.A2A_GATEWAY_CONFIG;
  const configFile = configPath ? resolve(cwd, configPath) : undefined;
  const fileResult = fileSchema.safeParse(configFile ? readConfigFile(configFile) : {});
  if (!fileResult.success) {
    throw new ConfigError(describeIssues(fileResult.error, configFile ? `${configFile}: ` : ''));
  }
  const file = fileResult.data;

  const backends = { ...builtinBackends(env), ...withDefaultCommands(file.backends, env) };
  const issues = crossCheck(file, backends, opts.knownSkills);
  if (env.DEFAULT_TIMEOUT > env.MAX_TASK_TIMEOUT) {
    issues.push(
      `DEFAULT_TIMEOUT: ${env.DEFAULT_TIMEOUT} is above MAX_TASK_TIMEOUT (${env.MAX_TASK_TIMEOUT})`,
    );
  }
  try {
    validateAllowlist(env.PUSH_ALLOWLIST ?? []);
  } catch (err) {
    issues.push(`PUSH_ALLOWLIST: ${(err as Error).message}`);
  }
  try {
    parseAllowedHosts(env.SANDBOX_ALLOWED_HOSTS ?? []);
  } catch (err) {
    issues.push(`SANDBOX_ALLOWED_HOSTS: ${(err as Error).message}`);
  }
  if (env.SANDBOX_NETWORK === 'allowlist' && (env.SANDBOX_ALLOWED_HOSTS ?? []).length === 0) {
    issues.push(
      'SANDBOX_ALLOWED_HOSTS: SANDBOX_NETWORK=allowlist needs the hosts runs may reach (e.g. api.anthropic.com:443); for no network at all set SANDBOX_NETWORK=off',
    );
  }
  issues.push(...containerSandboxIssues(env, backends));
  if (env.API_KEY && env.API_KEYS_FILE) {
    issues.push('API_KEY: set either API_KEY or API_KEYS_FILE, not both');
  }
  // With Redis, tasks live in Redis unless STORE says otherwise; without it, in the SQLite file.
  const store = env.STORE ?? (env.REDIS_ENABLED ? 'redis' : 'sqlite');
  if (store === 'redis' && !env.REDIS_ENABLED) {
    issues.push('STORE: redis needs REDIS_ENABLED=true and REDIS_URL');
  }
  if (env.GATEWAY_ROLE !== 'all' && !env.REDIS_ENABLED) {
    issues.push(
      `GATEWAY_ROLE: --role ${env.GATEWAY_ROLE} needs REDIS_ENABLED=true (API and worker nodes share tasks and the queue through Redis); without Redis run --role all`,
    );
  } else if (env.GATEWAY_ROLE !== 'all' && store !== 'redis') {
    issues.push(
      `GATEWAY_ROLE: --role ${env.GATEWAY_ROLE} needs the tasks in Redis (STORE=redis, the default with REDIS_ENABLED=true); STORE is ${store}`,
    );
  }
  const repositories = readRepositories(file, cwd, issues);
  if (issues.length > 0) throw new ConfigError(issues);

  const keys = env.API_KEYS_FILE
    ? readKeysFile(resolve(cwd, env.API_KEYS_FILE))
    : env.API_KEY
      ? [
          {
            id: 'default',
            sha256: createHash('sha256').update(env.API_KEY, 'utf8').digest('hex'),
            scopes: ['*', 'admin'],
          },
        ]
      : [];
  const jwt = env.JWT_JWKS_URL
    ? {
        jwksUrl: env.JWT_JWKS_URL,
        scopeClaim: env.JWT_SCOPE_CLAIM,
        subjectClaim: env.JWT_SUBJECT_CLAIM,
        maxLifetimeSec: env.JWT_MAX_LIFETIME,
        ...(env.JWT_ISSUER ? { issuer: env.JWT_ISSUER } : {}),
        ...(env.JWT_AUDIENCE ? { audience: env.JWT_AUDIENCE } : {}),
      }
    : undefined;
  // Fail closed: a gateway that runs coding agents must not be reachable from the network without a key.
  let host = env.HOST;
  let bindNotice: string | undefined;
  if (keys.length === 0 && !jwt && !env.ALLOW_UNAUTHENTICATED && !LOOPBACK_HOSTS.has(host)) {
    bindNotice = `no API key is configured, so the gateway listens on 127.0.0.1 only (not ${host}); set API_KEY or API_KEYS_FILE, or ALLOW_UNAUTHENTICATED=true to listen on ${host} without one`;
    host = '127.0.0.1';
  }

  const dataDir = resolve(cwd, env.DATA_DIR ?? join(homedir(), '.a2a-gateway'));
  const roots = (env.WORKSPACE_ROOTS ?? [cwd]).map((r) => (isAbsolute(r) ? r : resolve(cwd, r)));

  return deepFreeze<GatewayConfig>({
    host,
    port: env.PORT,
    logLevel: env.LOG_LEVEL,
    publicUrl: env.PUBLIC_URL?.replace(/\/+$/, ''),
    trustProxy: env.TRUST_PROXY,
    dataDir,
    store,
    dbFile: join(dataDir, 'gateway.db'),
    maxConcurrentTasks: env.MAX_CONCURRENT_TASKS,
    maxQueuedTasks: env.MAX_QUEUED_TASKS,
    defaultTimeoutSec: env.DEFAULT_TIMEOUT,
    maxTaskTimeoutSec: env.MAX_TASK_TIMEOUT,
    killGraceMs: Math.round(env.KILL_GRACE * 1000),
    shutdownTimeoutMs: Math.round(env.SHUTDOWN_TIMEOUT * 1000),
    bodyLimitBytes: env.BODY_LIMIT,
    sseHeartbeatMs: Math.round(env.SSE_HEARTBEAT_SECONDS * 1000),
    sseMaxBufferedBytes: env.SSE_MAX_BUFFERED,
    inputTimeoutMs: env.INPUT_TIMEOUT * 1000,
    usageLimitWaitMaxMs: env.USAGE_LIMIT_WAIT_MAX * 1000,
    taskEventLogLimit: env.TASK_EVENT_LOG_LIMIT,
    retention: { completedHours: env.RETENTION_COMPLETED_HOURS, failedHours: env.RETENTION_FAILED_HOURS },
    workspaceRoots: roots,
    workspace: {
      branchRetentionHours: env.BRANCH_RETENTION_HOURS,
      nonGit: env.NON_GIT_WORKSPACE,
      templateFallback: env.TEMPLATE_FALLBACK,
    },
    repositories,
    redis: { enabled: env.REDIS_ENABLED, url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX },
    role: env.GATEWAY_ROLE,
    workerStallTimeoutMs: Math.round(env.WORKER_STALL_TIMEOUT * 1000),
    nodeId: env.NODE_ID ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    auth: {
      keys,
      jwt,
      allowUnauthenticated: env.ALLOW_UNAUTHENTICATED,
      failureLimit: env.AUTH_FAILURE_LIMIT,
      failureWindowSec: env.AUTH_FAILURE_WINDOW,
    },
    rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
    maxTasksPerKey: env.MAX_TASKS_PER_KEY,
    corsOrigins: env.CORS_ORIGINS ?? [],
    agentCardDefaultVersion: env.AGENT_CARD_DEFAULT_VERSION,
    grpc: { port: env.GRPC_PORT, publicAddress: env.GRPC_PUBLIC_ADDRESS },
    taskLimits: {
      ...(env.TASK_MAX_MEMORY_MB ? { memoryMb: env.TASK_MAX_MEMORY_MB } : {}),
      ...(env.TASK_MAX_PROCESSES ? { processes: env.TASK_MAX_PROCESSES } : {}),
    },
    containment: env.PROCESS_CONTAINMENT,
    sandbox: {
      setting: env.SANDBOX,
      image: env.SANDBOX_IMAGE,
      engineEnv: engineEnvFrom(opts.env),
      network: env.SANDBOX_NETWORK,
      allowedHosts: env.SANDBOX_ALLOWED_HOSTS ?? [],
      writable: (env.SANDBOX_WRITABLE ?? []).map((p) => resolve(cwd, p)),
      hide: (env.SANDBOX_HIDE ?? []).map((p) => resolve(cwd, p)),
      secretFiles: [env.API_KEYS_FILE, env.PUSH_SIGNING_KEY_FILE, configFile]
        .filter((f): f is string => f !== undefined)
        .map((f) => resolve(cwd, f)),
    },
    bindNotice,
    metrics: { enabled: env.METRICS_ENABLED, port: env.METRICS_PORT, host: env.METRICS_HOST ?? host },
    push: {
      allowlist: env.PUSH_ALLOWLIST ?? [],
      hmacSecret: env.PUSH_HMAC_SECRET,
      signingKeyFile: env.PUSH_SIGNING_KEY_FILE ? resolve(cwd, env.PUSH_SIGNING_KEY_FILE) : undefined,
      maxAttempts: env.PUSH_MAX_ATTEMPTS,
      slackWebhookUrl: env.SLACK_WEBHOOK_URL,
    },
    backends,
    skills: file.skills,
    defaultSkill: file.defaultSkill,
    allowBackendOverride: file.allowBackendOverride,
    configFile,
  });
}
