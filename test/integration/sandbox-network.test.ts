// SANDBOX_NETWORK=allowlist with the real bwrap: the run has only its own loopback, and its one way out is the
// gateway's proxy (a unix socket bound into the sandbox, bridged to 127.0.0.1:3128 inside by the forwarder). A fake
// agent reaches a server on the host's 127.0.0.1 that is on the list (CONNECT and plain HTTP), gets 403 for one
// that is not (and the refusal is reported, host only), and cannot connect to the host's loopback directly; no
// process is left after the run, a cancel ends everything, and the agent behind the forwarder gets the cancel's
// SIGTERM once, with its grace. Skipped where bubblewrap cannot run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Containment } from '../../src/runner/containment.js';
import type { EgressRefusal } from '../../src/runner/egress-proxy.js';
import { ProcessRegistry } from '../../src/runner/registry.js';
import { Sandboxes, type SandboxPolicy } from '../../src/runner/sandbox.js';
import { createTaskRunner } from '../../src/runner/task-runner.js';
import type { ProcessRunner } from '../../src/runner/types.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/fake-cli/egress.mjs', import.meta.url));
const TRAP = fileURLToPath(new URL('../fixtures/fake-cli/trap-term.mjs', import.meta.url));

const probe = await Sandboxes.detect(
  'auto',
  [],
  { dataDir: '/nonexistent-a2a', workspaceParents: [], secretFiles: [], network: 'on' },
  process.env.PATH,
);
const skip = probe.report.mode === 'bwrap' ? false : `bubblewrap cannot run here: ${probe.report.reason}`;

/** Host processes whose command line holds `token` (the forwarder, the agent and its children carry it). */
function processesWith(token: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(token)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function serve(name: string): Promise<{ server: Server; port: number; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.end(`${name}${req.url}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, hits };
}

describe('SANDBOX_NETWORK=allowlist', { skip }, () => {
  let base: string;
  let workspace: string;
  let containment: Containment;
  let allowed: Awaited<ReturnType<typeof serve>>;
  let denied: Awaited<ReturnType<typeof serve>>;
  const refusals: EgressRefusal[] = [];
  let run: ProcessRunner;

  before(async () => {
    base = mkdtempSync('/var/tmp/a2a-sandbox-net-');
    workspace = join(base, 'data', 'scratch', 'ctx');
    mkdirSync(workspace, { recursive: true });
    allowed = await serve('allowed');
    denied = await serve('denied');
    containment = await Containment.detect('auto', process.env.PATH);
    const policy: SandboxPolicy = {
      dataDir: join(base, 'data'),
      workspaceParents: [join(base, 'data', 'scratch')],
      secretFiles: [],
      network: 'allowlist',
      allowedHosts: [`127.0.0.1:${allowed.port}`, '*.example.com'],
      onRefused: (r) => refusals.push(r),
    };
    const sandboxes = await Sandboxes.detect('bwrap', [], policy, process.env.PATH);
    assert.match(sandboxes.describe(), /network allowlist \(127\.0\.0\.1:\d+, \*\.example\.com\)/);
    run = createTaskRunner({
      registry: new ProcessRegistry(join(base, 'registry')),
      limits: { apply: (o) => o },
      containment,
      sandbox: sandboxes.for(undefined),
    });
  });
  after(async () => {
    allowed?.server.close();
    denied?.server.close();
    await containment?.close();
    rmSync(base, { recursive: true, force: true });
  });

  const env = (): Record<string, string> => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: workspace,
  });

  test('an allowed host is reached through the proxy, another gets 403, the host loopback is cut', async () => {
    const marker = randomUUID();
    const result = await run(
      {
        argv: [process.execPath, FIXTURE, 'probe', String(allowed.port), String(denied.port), marker],
        cwd: workspace,
        env: env(),
        signal: AbortSignal.timeout(60_000),
      },
      'sandbox-net-probe',
    );
    assert.equal(result.exitCode, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.deepEqual(lines, [
      'TUNNEL 200 allowed/tunnel',
      'FORWARD 200 allowed/forward',
      'DENIED_TUNNEL 403',
      'DENIED_FORWARD 403 proxy: host not in SANDBOX_ALLOWED_HOSTS',
      'DIRECT ECONNREFUSED',
    ]);
    assert.deepEqual(allowed.hits, ['/tunnel', '/forward']);
    assert.deepEqual(denied.hits, []);
    assert.deepEqual(refusals.splice(0), [
      { host: '127.0.0.1', port: denied.port },
      { host: '127.0.0.1', port: denied.port },
    ]);
    assert.deepEqual(processesWith(marker), []);
  });

  test('the exit status of the agent comes through the forwarder', async () => {
    const result = await run(
      {
        argv: ['/bin/sh', '-c', 'exit 7'],
        cwd: workspace,
        env: env(),
        signal: AbortSignal.timeout(30_000),
      },
      'sandbox-net-exit',
    );
    assert.equal(result.exitCode, 7, result.stderr);
  });

  test('a cancel ends the agent, its children and the forwarder', async () => {
    const marker = `300.${Date.now() % 1_000_000}`;
    const controller = new AbortController();
    const result = await run(
      {
        argv: [process.execPath, FIXTURE, 'hang', marker],
        cwd: workspace,
        env: env(),
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(60_000)]),
        graceMs: 1000,
        onStdoutLine: (line) => {
          if (line === 'READY') {
            assert.ok(processesWith(marker).length >= 2, 'the agent, the forwarder and the sleeper run');
            controller.abort();
          }
        },
      },
      'sandbox-net-cancel',
    );
    assert.equal(result.callbackError, undefined);
    assert.equal(result.aborted, true);
    assert.ok(result.durationMs < 30_000, `cancelled, not timed out (${result.durationMs} ms)`);
    assert.match(result.stdout, /READY/);
    assert.deepEqual(processesWith(marker), []);
  });

  test('a cancel gives the agent behind the forwarder one SIGTERM and its grace', async () => {
    const tag = `300.${randomInt(10_000_000, 99_999_999)}`;
    const graceMs = 5000;
    const controller = new AbortController();
    let abortedAt = 0;
    const result = await run(
      {
        argv: [process.execPath, TRAP, '--cleanup-ms', '300', `TAG ${tag}`],
        cwd: workspace,
        env: env(),
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(60_000)]),
        graceMs,
        onStdoutLine: (line) => {
          if (line !== 'READY') return;
          abortedAt = performance.now();
          controller.abort();
        },
      },
      'sandbox-net-grace',
    );
    const ms = performance.now() - abortedAt;
    assert.equal(result.aborted, true, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), ['READY', 'TERM', 'CLEANED']);
    assert.ok(ms < graceMs, `it ended by itself within the grace, not by SIGKILL (${Math.round(ms)} ms)`);
    assert.deepEqual(processesWith(tag), []);
  });
});

describe('SANDBOX_NETWORK=allowlist: doctor and the settings', () => {
  const doctor = (env: Record<string, string>) => {
    const data = mkdtempSync('/var/tmp/a2a-sandbox-net-doctor-');
    try {
      return spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'doctor'], {
        env: {
          HOME: process.env.HOME ?? '',
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          DATA_DIR: data,
          ...env,
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  };

  test('doctor names the allowed hosts', { skip }, () => {
    const r = doctor({
      SANDBOX_NETWORK: 'allowlist',
      SANDBOX_ALLOWED_HOSTS: 'api.anthropic.com:443, *.example.com',
    });
    assert.match(
      r.stdout,
      /^sandbox: bwrap \(bubblewrap [\d.]+\), network allowlist \(api\.anthropic\.com:443, \*\.example\.com\)/m,
      r.stdout + r.stderr,
    );
  });

  test('an entry that is not a host, or an allowlist without hosts, is a configuration error', () => {
    const bad = doctor({ SANDBOX_NETWORK: 'allowlist', SANDBOX_ALLOWED_HOSTS: 'https://api.anthropic.com' });
    assert.notEqual(bad.status, 0);
    assert.match(
      bad.stdout + bad.stderr,
      /SANDBOX_ALLOWED_HOSTS: .*"https:\/\/api\.anthropic\.com" is not a host/,
    );
    const none = doctor({ SANDBOX_NETWORK: 'allowlist' });
    assert.notEqual(none.status, 0);
    assert.match(none.stdout + none.stderr, /SANDBOX_NETWORK=allowlist needs the hosts/);
  });
});
