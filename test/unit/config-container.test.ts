// The container sandbox's settings: SANDBOX=docker|podman (or a backend's own `sandbox`) without SANDBOX_IMAGE is
// a configuration error naming SANDBOX_IMAGE; so are an image that is not a reference, both engines in one gateway,
// and SANDBOX_NETWORK=allowlist with a container. A good setting loads, with the engine client's environment.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { BUILTIN_SKILLS } from '../../src/skills/catalog.js';

const knownSkills = BUILTIN_SKILLS.map((s) => s.id);
const KEY = { API_KEY: 'k'.repeat(24) };

function issuesOf(env: Record<string, string>, yaml?: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'a2a-cfg-container-'));
  try {
    const configFile = yaml ? join(dir, 'gateway.yaml') : undefined;
    if (configFile && yaml) writeFileSync(configFile, yaml);
    loadConfig({ env: { ...KEY, ...env }, knownSkills, cwd: dir, ...(configFile ? { configFile } : {}) });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.issues];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return [];
}

describe('configuration: the container sandbox', () => {
  test('SANDBOX=podman without SANDBOX_IMAGE is an error naming SANDBOX_IMAGE (nothing is pulled)', () => {
    const issues = issuesOf({ SANDBOX: 'podman' });
    assert.equal(issues.length, 1, issues.join('\n'));
    assert.match(issues[0] ?? '', /^SANDBOX_IMAGE: SANDBOX=podman needs the image .* never pulls/);
  });

  test("a backend's own sandbox: docker needs SANDBOX_IMAGE too, named with the backend", () => {
    const issues = issuesOf(
      {},
      'backends:\n  mytool: { type: command, command: /bin/true, sandbox: docker }\n',
    );
    assert.match(issues.join('\n'), /SANDBOX_IMAGE: backends\.mytool\.sandbox: docker needs the image/);
  });

  test('an image that is not a reference (an option, spaces) is refused', () => {
    assert.match(
      issuesOf({ SANDBOX: 'docker', SANDBOX_IMAGE: '--privileged' }).join('\n'),
      /SANDBOX_IMAGE: expected an image reference/,
    );
    assert.match(
      issuesOf({ SANDBOX: 'docker', SANDBOX_IMAGE: 'a b' }).join('\n'),
      /SANDBOX_IMAGE: expected an image reference/,
    );
  });

  test('docker and podman in one gateway, and allowlist with a container, are refused', () => {
    const both = issuesOf(
      { SANDBOX: 'docker', SANDBOX_IMAGE: 'a2a-sandbox:1' },
      'backends:\n  mytool: { type: command, command: /bin/true, sandbox: podman }\n',
    );
    assert.match(both.join('\n'), /SANDBOX: one gateway runs containers with one engine/);
    const allow = issuesOf({
      SANDBOX: 'podman',
      SANDBOX_IMAGE: 'a2a-sandbox:1',
      SANDBOX_NETWORK: 'allowlist',
      SANDBOX_ALLOWED_HOSTS: 'api.anthropic.com:443',
    });
    assert.match(
      allow.join('\n'),
      /SANDBOX_NETWORK: allowlist is not supported with containers \(SANDBOX=podman\)/,
    );
  });

  test('a good setting loads, with the image and only the engine client variables of the environment', () => {
    const config = loadConfig({
      env: {
        ...KEY,
        SANDBOX: 'podman',
        SANDBOX_IMAGE: 'localhost/a2a-sandbox:latest',
        SANDBOX_NETWORK: 'off',
        PATH: '/usr/bin:/bin',
        CONTAINERS_CONF: '/etc/containers/test.conf',
        ANTHROPIC_API_KEY: 'secret',
      },
      knownSkills,
      cwd: '/tmp',
    });
    assert.equal(config.sandbox.setting, 'podman');
    assert.equal(config.sandbox.image, 'localhost/a2a-sandbox:latest');
    assert.equal(config.sandbox.engineEnv.CONTAINERS_CONF, '/etc/containers/test.conf');
    assert.equal(config.sandbox.engineEnv.ANTHROPIC_API_KEY, undefined);
    assert.equal(config.sandbox.engineEnv.API_KEY, undefined);
  });
});
