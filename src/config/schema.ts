import { z } from 'zod';
import { IMAGE_PATTERN } from '../runner/container.js';

/**
 * One schema for all configuration. Environment settings are read as strings and coerced here; the optional
 * YAML file declares backends and maps skills to them. Unknown keys in the file are rejected so a typo is an
 * error, not a silently ignored setting.
 */

/** Where each task's processes run: see SANDBOX below. */
export const SANDBOX_SETTINGS = ['auto', 'bwrap', 'off', 'docker', 'podman'] as const;

const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().nonnegative();

const boolFromEnv = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', ''])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes' || v === 'on');

/** Levels as the brief names them (DEBUG, INFO, WARNING, ERROR) and as pino names them. */
const LOG_LEVELS: Record<string, string> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  silent: 'silent',
};

const logLevel = z
  .string()
  .transform((v) => v.trim().toLowerCase())
  .refine((v) => v in LOG_LEVELS, {
    message: `expected one of DEBUG, INFO, WARNING, ERROR (or trace, fatal, silent)`,
  })
  .transform((v) => LOG_LEVELS[v] ?? 'info');

/** Sizes such as `10mb`, `512kb` or a byte count. */
const byteSize = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, { message: 'expected a size such as 10mb, 512kb or 1048576' })
  .transform((v) => {
    const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(v);
    const n = Number(m?.[1] ?? 0);
    const unit = (m?.[2] ?? 'b').toLowerCase();
    const mult = unit === 'gb' ? 1024 ** 3 : unit === 'mb' ? 1024 ** 2 : unit === 'kb' ? 1024 : 1;
    return Math.floor(n * mult);
  });

/** Comma-separated values (URLs may hold colons). */
const list = z.string().transform((v) =>
  v
    .split(/,/)
    .map((s) => s.trim())
    .filter(Boolean),
);

/** Directories: comma- or colon-separated, like PATH. */
const pathList = z.string().transform((v) =>
  v
    .split(/[,:]/)
    .map((s) => s.trim())
    .filter(Boolean),
);

/** Settings read from the environment (names as in the README table). */
export const envSchema = z.object({
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  LOG_LEVEL: logLevel.default('info'),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  TRUST_PROXY: z.string().default('loopback'),
  DATA_DIR: z.string().min(1).optional(),
  /** Where tasks live: `sqlite` (default), `memory`, or `redis` (the default when REDIS_ENABLED=true). */
  STORE: z.enum(['sqlite', 'memory', 'redis']).optional(),
  MAX_CONCURRENT_TASKS: positiveInt.default(5),
  MAX_QUEUED_TASKS: nonNegativeInt.default(100),
  DEFAULT_TIMEOUT: positiveInt.default(600),
  MAX_TASK_TIMEOUT: positiveInt.default(3600),
  KILL_GRACE: z.coerce.number().positive().default(5),
  SHUTDOWN_TIMEOUT: z.coerce.number().nonnegative().default(30),
  BODY_LIMIT: byteSize.default(10 * 1024 * 1024),
  SSE_HEARTBEAT_SECONDS: z.coerce.number().nonnegative().default(15),
  SSE_MAX_BUFFERED: byteSize.default(1024 * 1024),
  INPUT_TIMEOUT: positiveInt.default(300),
  USAGE_LIMIT_WAIT_MAX: nonNegativeInt.default(3600),
  TASK_EVENT_LOG_LIMIT: z.coerce.number().int().min(10).default(1000),
  RETENTION_COMPLETED_HOURS: z.coerce.number().positive().default(24),
  RETENTION_FAILED_HOURS: z.coerce.number().positive().default(168),
  WORKSPACE_ROOTS: pathList.optional(),
  BRANCH_RETENTION_HOURS: z.coerce.number().positive().default(72),
  NON_GIT_WORKSPACE: z.enum(['copy', 'in_place']).default('copy'),
  TEMPLATE_FALLBACK: boolFromEnv.default(true),
  DROID_COMMAND: z.string().min(1).default('droid'),
  CLAUDE_COMMAND: z.string().min(1).default('claude'),
  CODEX_COMMAND: z.string().min(1).default('codex'),
  GEMINI_COMMAND: z.string().min(1).default('gemini'),
  OPENCODE_COMMAND: z.string().min(1).default('opencode'),
  QWEN_COMMAND: z.string().min(1).default('qwen'),
  COPILOT_COMMAND: z.string().min(1).default('copilot'),
  API_KEY: z
    .string()
    .min(16, { message: 'expected at least 16 characters (use `a2a-gateway keys new`)' })
    .optional(),
  API_KEYS_FILE: z.string().min(1).optional(),
  ALLOW_UNAUTHENTICATED: boolFromEnv.default(false),
  JWT_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  JWT_SCOPE_CLAIM: z.string().min(1).default('scope'),
  JWT_SUBJECT_CLAIM: z.string().min(1).default('sub'),
  JWT_MAX_LIFETIME: positiveInt.default(86_400),
  AUTH_FAILURE_LIMIT: nonNegativeInt.default(10),
  AUTH_FAILURE_WINDOW: positiveInt.default(60),
  RATE_LIMIT_PER_MINUTE: nonNegativeInt.default(100),
  MAX_TASKS_PER_KEY: nonNegativeInt.default(20),
  CORS_ORIGINS: list.optional(),
  /** The A2A gRPC binding's port (off when unset), and the `host:port` the card gives for it. */
  GRPC_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  GRPC_PUBLIC_ADDRESS: z
    .string()
    .regex(/^[^\s/:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, {
      message: 'expected host:port, e.g. gateway.example.com:8001',
    })
    .optional(),
  /** The agent card layout served to a request that names no A2A version (the spec reads that as 0.3). */
  AGENT_CARD_DEFAULT_VERSION: z.enum(['0.3', '1.0']).default('0.3'),
  TASK_MAX_MEMORY_MB: positiveInt.optional(),
  TASK_MAX_PROCESSES: positiveInt.optional(),
  /** How a task's processes are made to end with it: the strongest that works (`auto`), or one named tier. */
  PROCESS_CONTAINMENT: z.enum(['auto', 'cgroup', 'pidns', 'tracked']).default('auto'),
  /** Confine each task's processes: bubblewrap where it can run (`auto`), always (`bwrap`: refuse to start
   *  without it), never (`off`), or in a container of SANDBOX_IMAGE (`docker`, `podman`: refuse to start
   *  without the engine or the image). Backends may override it with their own `sandbox`. */
  SANDBOX: z.enum(SANDBOX_SETTINGS).default('auto'),
  /** For SANDBOX=docker|podman: the image each task's container starts from; it must be local (never pulled). */
  SANDBOX_IMAGE: z
    .string()
    .regex(IMAGE_PATTERN, {
      message:
        'expected an image reference such as a2a-sandbox:latest or registry.example.com/team/sandbox:1',
    })
    .optional(),
  /** `off`: sandboxed runs get a network namespace of their own with only loopback. `allowlist`: the same, and
   *  the only way out is the gateway's proxy, to the hosts in SANDBOX_ALLOWED_HOSTS. */
  SANDBOX_NETWORK: z.enum(['on', 'off', 'allowlist']).default('on'),
  /** For SANDBOX_NETWORK=allowlist: `host`, `host:port`, `*.domain`, comma-separated. */
  SANDBOX_ALLOWED_HOSTS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .optional(),
  /** More directories sandboxed runs may write (widening), and more they may not see at all (narrowing). */
  SANDBOX_WRITABLE: pathList.optional(),
  SANDBOX_HIDE: pathList.optional(),
  PUSH_ALLOWLIST: list.optional(),
  PUSH_HMAC_SECRET: z.string().min(16, { message: 'expected at least 16 characters' }).optional(),
  PUSH_SIGNING_KEY_FILE: z.string().min(1).optional(),
  PUSH_MAX_ATTEMPTS: positiveInt.default(6),
  SLACK_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  REDIS_ENABLED: boolFromEnv.default(false),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  REDIS_KEY_PREFIX: z.string().default('a2a-gateway:'),
  /** What this process is in a scale-out: `all` (one node), `api` (serves A2A, runs no task), `worker` (runs tasks). */
  GATEWAY_ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  /** Seconds a worker may stay silent (killed, frozen, cut off) before its running task is failed. */
  WORKER_STALL_TIMEOUT: z.coerce.number().positive().default(30),
  /** This node's name on a shared store (its running tasks are its own to settle at start-up). */
  NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, {
      message: 'expected 1-100 letters, digits, dots, dashes or underscores',
    })
    .optional(),
  METRICS_ENABLED: boolFromEnv.default(true),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().min(1).optional(),
  A2A_GATEWAY_CONFIG: z.string().optional(),
});

export type EnvSettings = z.output<typeof envSchema>;

const templateString = z.string();

const commandBackendSchema = z
  .object({
    type: z.literal('command'),
    command: z.string().min(1),
    args: z.array(templateString).default(['{prompt}']),
    env: z.record(z.string(), templateString).default({}),
    /** Extra environment variable names (or `PREFIX_*`) passed through from the gateway's own environment. */
    passEnv: z.array(z.string().min(1)).default([]),
    output: z.enum(['text', 'jsonl']).default('text'),
    /** Send the prompt on stdin (then close it) instead of leaving stdin closed. */
    stdin: z.enum(['none', 'prompt']).default('none'),
    /** HOME for the child: a private home per conversation (default), or the gateway user's own (`inherit`). */
    home: z.enum(['context', 'inherit']).default('context'),
    /** This backend's sandbox, instead of the global `SANDBOX`. */
    sandbox: z.enum(SANDBOX_SETTINGS).optional(),
  })
  .strict();

const fakeStepSchema = z.union([
  z.object({ event: z.record(z.string(), z.unknown()) }).strict(),
  z.object({ sleepMs: z.number().int().nonnegative() }).strict(),
]);

/** The scripted fake: replays events, for tests and demos (never a real agent). */
const fakeBackendSchema = z
  .object({
    type: z.literal('fake'),
    steps: z.array(fakeStepSchema).default([]),
    outcome: z.enum(['completed', 'failed']).default('completed'),
    summary: z.string().default('done'),
  })
  .strict();

/** Writes sound default deployment files for Node, Python and Go projects, without a model. */
const templateBackendSchema = z.object({ type: z.literal('template') }).strict();

/** The real coding-agent CLIs. Their command lines are built by their adapters. */
export const CLI_BACKEND_TYPES = [
  'claude',
  'droid',
  'codex',
  'gemini',
  'opencode',
  'qwen',
  'copilot',
] as const;
export type CliBackendType = (typeof CLI_BACKEND_TYPES)[number];

const cliBackendSchema = z
  .object({
    type: z.enum(CLI_BACKEND_TYPES),
    command: z.string().min(1).optional(),
    /** Extra arguments appended to the adapter's own. */
    extraArgs: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
    passEnv: z.array(z.string().min(1)).default([]),
    model: z.string().min(1).optional(),
    effort: z.string().min(1).optional(),
    /** This backend's sandbox, instead of the global `SANDBOX`. */
    sandbox: z.enum(SANDBOX_SETTINGS).optional(),
  })
  .strict();

/** The coding CLIs as Agent Client Protocol agents (`type: acp, preset: gemini`). */
export const ACP_PRESET_NAMES = [
  'gemini',
  'qwen',
  'opencode',
  'copilot',
  'droid',
  'claude',
  'codex',
] as const;

/** Any agent that speaks the Agent Client Protocol on stdio: a preset, or its own command line. */
const acpBackendSchema = z
  .object({
    type: z.literal('acp'),
    preset: z.enum(ACP_PRESET_NAMES).optional(),
    /** The agent's command; with a preset, replaces the preset's. */
    command: z.string().min(1).optional(),
    /** Arguments after the command; with a preset, replace the preset's. */
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).default({}),
    passEnv: z.array(z.string().min(1)).default([]),
    /** A model, for presets whose CLI takes one on its command line. */
    model: z.string().min(1).optional(),
    /** This backend's sandbox, instead of the global `SANDBOX`. */
    sandbox: z.enum(SANDBOX_SETTINGS).optional(),
  })
  .strict()
  .refine((b) => b.preset !== undefined || b.command !== undefined, {
    message: `expected a command (the ACP agent to run) or a preset (one of ${ACP_PRESET_NAMES.join(', ')})`,
    path: ['command'],
  });

export const backendSchema = z.discriminatedUnion('type', [
  commandBackendSchema,
  fakeBackendSchema,
  templateBackendSchema,
  cliBackendSchema,
  acpBackendSchema,
]);

export type BackendConfig = z.output<typeof backendSchema>;
export type CommandBackendConfig = z.output<typeof commandBackendSchema>;
export type FakeBackendConfig = z.output<typeof fakeBackendSchema>;
export type CliBackendConfig = z.output<typeof cliBackendSchema>;
export type AcpBackendConfig = z.output<typeof acpBackendSchema>;

const skillOverrideSchema = z
  .object({
    backend: z.string().min(1).optional(),
    /** Default deadline for this skill, in seconds. */
    timeout: z.number().int().positive().optional(),
    /**
     * `ask`: the backend may stop and ask the caller (permission for a tool call, or a question), and the task
     * waits in `input-required` for the reply. Absent or `bypass`: it runs unattended, never asking.
     */
    permissions: z.enum(['bypass', 'ask']).optional(),
    /**
     * A task of this skill that was running when the gateway died is run again after the restart (true), instead
     * of ending failed with the reason (the default). Only for skills whose runs are safe to repeat.
     */
    retryOnRestart: z.boolean().default(false),
    enabled: z.boolean().default(true),
  })
  .strict();

/** A repository the gateway knows more about: what a new worktree of it needs before the agent starts. */
const repositorySchema = z
  .object({
    /** The repository's top level (absolute, or relative to the gateway's working directory). */
    path: z.string().min(1),
    /** Run in each new worktree before the agent: a command line without shell syntax, or an argv list. */
    setup: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /** Seconds the set-up command may take. */
    setupTimeout: z.number().int().positive().default(600),
  })
  .strict();

export const fileSchema = z
  .object({
    repositories: z.array(repositorySchema).default([]),
    backends: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), backendSchema).default({}),
    skills: z.record(z.string(), skillOverrideSchema).default({}),
    defaultSkill: z.string().min(1).default('code'),
    /** Lets a request pick another configured backend with `metadata.backend`. */
    allowBackendOverride: z.boolean().default(false),
  })
  .strict();

export type FileSettings = z.output<typeof fileSchema>;
export type SkillOverride = z.output<typeof skillOverrideSchema>;

/** The API keys file (`API_KEYS_FILE`): keys are stored as SHA-256 digests, never in clear. */
export const keysFileSchema = z
  .object({
    keys: z
      .array(
        z
          .object({
            id: z
              .string()
              .regex(/^[A-Za-z0-9_.@-]{1,64}$/, { message: 'expected 1-64 letters, digits or _.@-' }),
            hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, {
              message: 'expected sha256:<64 hex digits> (a2a-gateway keys hash KEY)',
            }),
            /** Skill ids the key may use (`*` for all), and `admin` to see every task. */
            scopes: z.array(z.string().min(1)).default(['*']),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();
