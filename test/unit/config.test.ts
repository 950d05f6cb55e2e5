import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { BUILTIN_SKILLS } from '../../src/skills/catalog.js';

const knownSkills = BUILTIN_SKILLS.map((s) => s.id);

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.issues];
  }
  assert.fail('expected a ConfigError');
}

function withFile(yaml: string, fn: (file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'a2a-gw-cfg-'));
  try {
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, yaml);
    fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('configuration', () => {
  test('defaults are the brief’s, and the result is frozen', () => {
    const config = loadConfig({ env: { API_KEY: 'k'.repeat(24) }, knownSkills, cwd: '/tmp' });
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.bindNotice, undefined);
    assert.equal(config.port, 8000);
    assert.equal(config.maxConcurrentTasks, 5);
    assert.equal(config.defaultTimeoutSec, 600);
    assert.equal(config.bodyLimitBytes, 10 * 1024 * 1024);
    assert.equal(config.store, 'sqlite');
    assert.equal(config.backends.claude?.type, 'claude');
    assert.equal(config.backends.droid?.type, 'droid');
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.backends));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    });
  });

  test('without a key the default HOST is narrowed to 127.0.0.1, with a notice that says why', () => {
    const config = loadConfig({ env: {}, knownSkills });
    assert.equal(config.host, '127.0.0.1');
    assert.match(config.bindNotice ?? '', /no API key is configured.*ALLOW_UNAUTHENTICATED=true/);
    assert.equal(loadConfig({ env: { ALLOW_UNAUTHENTICATED: 'true' }, knownSkills }).host, '0.0.0.0');
    assert.equal(loadConfig({ env: { HOST: '::1' }, knownSkills }).bindNotice, undefined);
  });

  test('a short API_KEY, or both API_KEY and API_KEYS_FILE, is refused', () => {
    assert.match(
      issuesOf(() => loadConfig({ env: { API_KEY: 'short' }, knownSkills })).join('\n'),
      /^API_KEY: expected at least 16/m,
    );
    assert.match(
      issuesOf(() => loadConfig({ env: { API_KEY: 'k'.repeat(20), API_KEYS_FILE: '/x' }, knownSkills })).join(
        '\n',
      ),
      /either API_KEY or API_KEYS_FILE/,
    );
  });

  test('a keys file with a clear-text key instead of a hash is refused, naming the field', () => {
    withFile(`keys:\n  - { id: a, hash: "my-secret-key", scopes: [code] }\n`, (file) => {
      const text = issuesOf(() => loadConfig({ env: { API_KEYS_FILE: file }, knownSkills })).join('\n');
      assert.match(text, /keys\.0\.hash: expected sha256:<64 hex digits>/);
    });
  });

  test('env values are coerced; LOG_LEVEL takes the brief’s names', () => {
    const config = loadConfig({
      env: {
        PORT: '9001',
        LOG_LEVEL: 'WARNING',
        BODY_LIMIT: '512kb',
        DROID_COMMAND: '/opt/droid',
        MAX_QUEUED_TASKS: '0',
      },
      knownSkills,
    });
    assert.equal(config.port, 9001);
    assert.equal(config.logLevel, 'warn');
    assert.equal(config.bodyLimitBytes, 512 * 1024);
    assert.equal(config.maxQueuedTasks, 0);
    assert.equal(
      config.backends.droid && 'command' in config.backends.droid ? config.backends.droid.command : '',
      '/opt/droid',
    );
  });

  test('bad values name the key and what was expected', () => {
    const issues = issuesOf(() =>
      loadConfig({
        env: { PORT: 'eighty', MAX_CONCURRENT_TASKS: '0', LOG_LEVEL: 'LOUD', BODY_LIMIT: 'big' },
        knownSkills,
      }),
    );
    const text = issues.join('\n');
    assert.match(text, /^PORT: .*number/m);
    assert.match(text, /^MAX_CONCURRENT_TASKS: .*(>0|positive|too small)/im);
    assert.match(text, /^LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR/m);
    assert.match(text, /^BODY_LIMIT: expected a size such as 10mb/m);
  });

  test('DEFAULT_TIMEOUT above MAX_TASK_TIMEOUT is refused', () => {
    const issues = issuesOf(() =>
      loadConfig({ env: { DEFAULT_TIMEOUT: '7200', MAX_TASK_TIMEOUT: '3600' }, knownSkills }),
    );
    assert.match(issues.join('\n'), /DEFAULT_TIMEOUT: 7200 is above MAX_TASK_TIMEOUT/);
  });

  test('an acp backend takes a preset or a command; a missing one, an unknown preset or key is an error naming the field', () => {
    withFile(
      `backends:\n  a: { type: acp, preset: qwen }\n  b: { type: acp, command: /opt/agent, args: [--stdio], passEnv: [KEY] }\n`,
      (file) => {
        const config = loadConfig({ env: {}, configFile: file, knownSkills });
        assert.deepEqual(config.backends.a, { type: 'acp', preset: 'qwen', env: {}, passEnv: [] });
        assert.equal(config.backends.b?.type, 'acp');
      },
    );
    for (const [yaml, error] of [
      ['{ type: acp }', /backends\.x\.command: expected a command \(the ACP agent to run\) or a preset/],
      ['{ type: acp, preset: vim }', /backends\.x\.preset: .*gemini/],
      ['{ type: acp, preset: qwen, extraArgs: [] }', /backends\.x: .*extraArgs/],
    ] as const) {
      withFile(`backends:\n  x: ${yaml}\n`, (file) => {
        assert.match(
          issuesOf(() => loadConfig({ env: {}, configFile: file, knownSkills })).join('\n'),
          error,
        );
      });
    }
  });

  test('the config file maps skills to backends, and unknown keys, skills and backends are errors', () => {
    withFile(
      `backends:\n  mine: { type: command, command: /bin/echo, args: ["{prompt}"] }\nskills:\n  fix_bug: { backend: mine, timeout: 60 }\n`,
      (file) => {
        const config = loadConfig({ env: {}, configFile: file, knownSkills });
        assert.equal(config.skills.fix_bug?.backend, 'mine');
        assert.equal(config.backends.mine?.type, 'command');
      },
    );
    withFile(`backends:\n  mine: { type: command, command: /bin/echo, argz: [] }\n`, (file) => {
      assert.match(
        issuesOf(() => loadConfig({ env: {}, configFile: file, knownSkills })).join('\n'),
        /backends\.mine: .*argz/,
      );
    });
    withFile(`skills:\n  fix_bugs: { backend: claude }\n  code: { backend: nowhere }\n`, (file) => {
      const text = issuesOf(() => loadConfig({ env: {}, configFile: file, knownSkills })).join('\n');
      assert.match(text, /skills\.fix_bugs: unknown skill/);
      assert.match(
        text,
        /skills\.code\.backend: unknown backend "nowhere"; expected one of claude, codex, copilot, droid, gemini, opencode, qwen/,
      );
    });
    withFile(`defaultSkill: [nope`, (file) => {
      assert.match(
        issuesOf(() => loadConfig({ env: {}, configFile: file, knownSkills })).join('\n'),
        /not valid YAML/,
      );
    });
    assert.match(
      issuesOf(() => loadConfig({ env: {}, configFile: '/no/such/file.yaml', knownSkills })).join('\n'),
      /cannot be read \(ENOENT\)/,
    );
  });

  test('the role is all by default; api and worker need Redis (and the tasks in it), refused at start with the reason', () => {
    const base = { API_KEY: 'k'.repeat(24) };
    const config = loadConfig({ env: base, knownSkills, cwd: '/tmp' });
    assert.equal(config.role, 'all');
    assert.equal(config.workerStallTimeoutMs, 30_000);
    assert.match(config.nodeId, /-\d+-[0-9a-f]{6}$/);
    const named = loadConfig({
      env: { ...base, NODE_ID: 'worker-1', WORKER_STALL_TIMEOUT: '2.5' },
      knownSkills,
      cwd: '/tmp',
    });
    assert.equal(named.nodeId, 'worker-1');
    assert.equal(named.workerStallTimeoutMs, 2500);
    for (const role of ['api', 'worker']) {
      const [noRedis] = issuesOf(() =>
        loadConfig({ env: { ...base, GATEWAY_ROLE: role }, knownSkills, cwd: '/tmp' }),
      );
      assert.match(noRedis ?? '', new RegExp(`--role ${role} needs REDIS_ENABLED=true`));
      const withRedis = loadConfig({
        env: { ...base, GATEWAY_ROLE: role, REDIS_ENABLED: 'true' },
        knownSkills,
        cwd: '/tmp',
      });
      assert.equal(withRedis.role, role);
      assert.equal(withRedis.store, 'redis');
      const [sqlite] = issuesOf(() =>
        loadConfig({
          env: { ...base, GATEWAY_ROLE: role, REDIS_ENABLED: 'true', STORE: 'sqlite' },
          knownSkills,
          cwd: '/tmp',
        }),
      );
      assert.match(sqlite ?? '', new RegExp(`--role ${role} needs the tasks in Redis .*STORE is sqlite`));
    }
    // Redis on: the tasks are in Redis unless STORE says otherwise; Redis off: STORE=redis is refused.
    assert.equal(
      loadConfig({ env: { ...base, REDIS_ENABLED: 'true' }, knownSkills, cwd: '/tmp' }).store,
      'redis',
    );
    assert.equal(
      loadConfig({ env: { ...base, REDIS_ENABLED: 'true', STORE: 'memory' }, knownSkills, cwd: '/tmp' })
        .store,
      'memory',
    );
    assert.equal(loadConfig({ env: base, knownSkills, cwd: '/tmp' }).store, 'sqlite');
    assert.match(
      issuesOf(() => loadConfig({ env: { ...base, STORE: 'redis' }, knownSkills, cwd: '/tmp' }))[0] ?? '',
      /STORE: redis needs REDIS_ENABLED=true/,
    );
    assert.match(
      issuesOf(() => loadConfig({ env: { ...base, GATEWAY_ROLE: 'both' }, knownSkills, cwd: '/tmp' }))[0] ??
        '',
      /GATEWAY_ROLE/,
    );
    assert.match(
      issuesOf(() => loadConfig({ env: { ...base, NODE_ID: 'a b' }, knownSkills, cwd: '/tmp' }))[0] ?? '',
      /NODE_ID/,
    );
  });

  test('serve --role worker without Redis exits 2 saying Redis is needed, before it listens', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--role', 'worker', '--port', '0'],
      {
        env: { PATH: process.env.PATH ?? '', DATA_DIR: join(tmpdir(), 'a2a-gw-unused') },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    assert.equal(r.status, 2);
    assert.match(r.stderr, /GATEWAY_ROLE: --role worker needs REDIS_ENABLED=true/);
    assert.doesNotMatch(r.stdout, /listening/);
  });

  test('the CLI prints the bad key and exits non-zero', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
      env: { PATH: process.env.PATH ?? '', PORT: 'not-a-port', DATA_DIR: join(tmpdir(), 'a2a-gw-unused') },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /invalid configuration:\n\s+PORT: /);
  });
});
