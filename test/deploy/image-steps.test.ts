// The Dockerfile's steps, run as far as they can be without a Docker engine: its instructions are read from the
// shipped Dockerfile and carried out in clean directories standing in for the stages' /app (the build context is
// the repository's files less .dockerignore). What needs the engine or root is named and not run: apt-get (the
// packages it installs must be on this machine instead) and useradd. Then the runtime stage's ENTRYPOINT and CMD
// start a gateway that answers /health, the HEALTHCHECK command passes against it, and SIGTERM through tini ends it
// cleanly.
//
// better-sqlite3's install step downloads a prebuilt binary from its GitHub releases in a real build; this machine
// reaches no GitHub, so a local server stands in for that download, serving the binary this checkout built.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as netServer } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execForm, type Instruction } from '../../src/deployment/dockerfile.js';
import { REPO_ROOT, tempDir } from '../helpers/gateway.js';
import { runDockerfile, type StepsResult } from './dockerfile-steps.js';

/** The build context: the repository's files (tracked and new, not git-ignored) less what .dockerignore leaves out. */
function buildContext(into: string): void {
  const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const kept = ignored.filter((l) => l.startsWith('!')).map((l) => l.slice(1));
  const dropped = ignored.filter((l) => !l.startsWith('!'));
  const glob = (pattern: string, path: string): boolean => {
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`);
    return re.test(path);
  };
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(REPO_ROOT, f)));
  for (const file of files) {
    if (dropped.some((p) => glob(p, file)) && !kept.some((p) => glob(p, file))) continue;
    mkdirSync(dirname(join(into, file)), { recursive: true });
    cpSync(join(REPO_ROOT, file), join(into, file));
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = netServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

describe('the Dockerfile, step by step in a clean directory', { timeout: 900_000 }, () => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const ws = tempDir('a2a-image-');
  const context = join(ws.dir, 'context');
  let mirror: Server;
  let steps: StepsResult;

  before(async () => {
    mkdirSync(context);
    buildContext(context);
    // The stand-in for better-sqlite3's release download: the binary this checkout built, packed as a prebuild.
    const tarball = join(ws.dir, 'prebuild.tar.gz');
    execFileSync('tar', [
      '-czf',
      tarball,
      '-C',
      join(REPO_ROOT, 'node_modules/better-sqlite3'),
      'build/Release/better_sqlite3.node',
    ]);
    const body = readFileSync(tarball);
    mirror = createServer((req, res) => {
      if (req.url?.endsWith('.tar.gz')) res.writeHead(200, { 'content-type': 'application/gzip' }).end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => mirror.listen(0, '127.0.0.1', r));
  });
  after(() => {
    mirror?.close();
    ws.cleanup();
  });

  test('build stage: npm ci, the native module, tsc, prune to production dependencies; runtime stage: copies', async (t) => {
    const a = mirror.address();
    steps = await runDockerfile(
      dockerfile,
      context,
      join(ws.dir, 'image'),
      {
        PATH: process.env.PATH ?? '',
        HOME: join(ws.dir, 'home'),
        npm_config_cache: join(process.env.HOME ?? '/root', '.npm'),
        npm_config_better_sqlite3_binary_host: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`,
      },
      (line) => t.diagnostic(line),
    );
    t.diagnostic(`not run without an engine: ${steps.notRun.join('; ')}`);
    const build = join(steps.runs.get('build')!.root, 'app');
    assert.ok(existsSync(join(build, 'dist/cli/main.js')), 'the build wrote dist/');
    assert.ok(existsSync(join(build, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node')));
    const pkg = JSON.parse(readFileSync(join(build, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    // What is left is the production tree: a dev dependency stays only when a production package needs it too
    // (@types/node, for one, is a dependency of some runtime packages).
    const production = new Set(
      execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: build, encoding: 'utf8' })
        .split('\n')
        .filter(Boolean),
    );
    assert.ok(!existsSync(join(build, 'node_modules/typescript')), 'the compiler was pruned');
    for (const dev of Object.keys(pkg.devDependencies)) {
      const path = join(build, 'node_modules', dev);
      assert.ok(
        !existsSync(path) || production.has(path),
        `dev dependency ${dev} was pruned (or a production package needs it)`,
      );
    }
    const runtime = join(steps.runs.get('runtime')!.root, 'app');
    assert.deepEqual(readdirSync(runtime).sort(), [
      '.env.example',
      'dist',
      'node_modules',
      'package.json',
      'src',
    ]);
    assert.deepEqual(
      readdirSync(join(runtime, 'src')),
      ['dashboard'],
      'of the sources, only the dashboard assets',
    );
    assert.equal(steps.runs.get('runtime')!.env.CLAUDE_CODE_VERSION, '', 'no CLI version by default');
    assert.ok(
      steps.ran.some((l) => l.startsWith('runtime: RUN set -eu;')),
      'the CLI step ran, and with no version given installed nothing',
    );
  });

  test('the ENTRYPOINT and CMD start a gateway that answers /health; the HEALTHCHECK passes; SIGTERM ends it through tini', async (t) => {
    assert.ok(steps, 'the stages ran');
    const stage = steps.stages.find((s) => s.name === 'runtime')!.instructions;
    const run = steps.runs.get('runtime')!;
    const last = (k: string): Instruction => stage.filter((i) => i.keyword === k).at(-1)!;
    const argv = [...execForm(last('ENTRYPOINT').args)!, ...execForm(last('CMD').args)!].map((a) =>
      a.replace(/^\/app(?=\/)/, join(run.root, 'app')),
    );
    assert.equal(argv[0], '/usr/bin/tini');
    if (!existsSync('/usr/bin/tini')) throw new Error('tini is not installed (apt-get install tini)');
    const port = await freePort();
    const data = join(ws.dir, 'data');
    const workspaces = join(ws.dir, 'workspaces');
    mkdirSync(data);
    mkdirSync(workspaces);
    assert.equal(run.env.HOST, '0.0.0.0');
    assert.equal(run.env.NODE_ENV, 'production');
    const env = {
      PATH: process.env.PATH ?? '',
      ...run.env,
      // The image's values, with its volumes and port moved to this test's own.
      PORT: String(port),
      DATA_DIR: data,
      WORKSPACE_ROOTS: workspaces,
    };
    mkdirSync(run.env.HOME ?? join(ws.dir, 'home'), { recursive: true });
    const child = spawn(argv[0], argv.slice(1), { cwd: run.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening" within 30 s:\n${out}`)), 30_000);
        const onData = (c: Buffer): void => {
          out += c.toString('utf8');
          if (out.includes('a2a-gateway listening')) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`exited with ${code}:\n${out}`));
        });
      });
      // Without an API key the image's HOST=0.0.0.0 falls back to loopback, and says so.
      assert.match(out, /no API key is configured, so the gateway listens on 127\.0\.0\.1 only/);
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as { status: string }).status, 'healthy');
      const check = execForm(last('HEALTHCHECK').args.replace(/^(--\S+\s+)*CMD\s+/, ''))!;
      const r = spawnSync(check[0]!, check.slice(1), { env, encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 0, `HEALTHCHECK ${check.join(' ')}: ${r.stderr}`);
      t.diagnostic(`gateway from the image's entrypoint answered /health on port ${port}`);
      child.kill('SIGTERM'); // to tini, PID 1 in the container, which forwards it
      const code = await Promise.race([
        exited,
        new Promise<'hung'>((res) => setTimeout(() => res('hung'), 15_000)),
      ]);
      assert.equal(code, 0, 'the gateway drained and exited 0 after SIGTERM through tini');
      const after = spawnSync(check[0]!, check.slice(1), { env, encoding: 'utf8', timeout: 10_000 });
      assert.notEqual(after.status, 0, 'the HEALTHCHECK fails once the gateway is gone');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
