// What the deployment skills' template backend writes for a user's project, checked like the gateway's own files:
// for three sample projects made here (Node with a tsc build, Python, Go) the Dockerfile passes the linter with
// no finding and its steps run as far as this machine allows (then the image's command starts the app and its
// HEALTHCHECK passes); the compose file passes docker-compose config and the Compose Specification schema; the
// Kubernetes manifests validate against the Kubernetes schemas. For this repository, the generated Dockerfile
// matches the shipped one in what matters.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { TemplateBackend } from '../../src/agents/template-backend.js';
import type { AgentEvent } from '../../src/agents/types.js';
import { checkCompose } from '../../src/deployment/compose.js';
import { execForm, lintDockerfile, parseDockerfile, stagesOf } from '../../src/deployment/dockerfile.js';
import { detectProject } from '../../src/deployment/project.js';
import { dockerfileFor } from '../../src/deployment/templates.js';
import { validateGenerated } from '../../src/skills/generated-files.js';
import { REPO_ROOT, tempDir } from '../helpers/gateway.js';
import { runDockerfile } from './dockerfile-steps.js';
import { validateKubernetes } from './k8s-schema.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function write(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

const SAMPLES = {
  node: {
    description: 'Orders API in Node, built with tsc, with Redis and nginx in front',
    files: {
      'package.json': JSON.stringify({
        name: '@acme/orders-api',
        type: 'module',
        engines: { node: '>=20' },
        scripts: { build: 'tsc -p tsconfig.json', start: 'node dist/server.js' },
        devDependencies: { typescript: '6.0.3' },
      }),
      'tsconfig.json': JSON.stringify({
        compilerOptions: {
          allowJs: true,
          outDir: 'dist',
          rootDir: 'src',
          module: 'nodenext',
          target: 'es2022',
        },
        include: ['src'],
      }),
      'src/server.js': `import { createServer } from 'node:http';
const port = Number(process.env.PORT ?? 3000);
createServer((req, res) => {
  if (req.url === '/health') return res.end('ok');
  res.end('orders');
}).listen(port, '127.0.0.1', () => console.log('listening on', port));
`,
    },
  },
  python: {
    description: 'Inventory service in Python with Postgres and Redis',
    files: {
      'requirements.txt': '# standard library only\n',
      'app.py': `import os
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path in ("/healthz", "/") else 404)
        self.end_headers()
        self.wfile.write(b"ok")

HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "5000"))), Handler).serve_forever()
`,
    },
  },
  go: {
    description: 'Billing service in Go with Postgres',
    files: {
      'go.mod': 'module example.com/billing\n\ngo 1.22\n',
      'main.go': `package main

import "net/http"

func main() {
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	http.ListenAndServe(":8081", nil)
}
`,
    },
  },
} as const;

async function generate(
  dir: string,
  skill: string,
  description: string,
  extra: Record<string, unknown> = {},
): Promise<Record<string, string>> {
  const events: AgentEvent[] = [];
  const outcome = await new TemplateBackend('template').run({
    spec: {
      taskId: 't',
      contextId: 'c',
      skill,
      prompt: '',
      input: { project_description: description, ...extra },
      workdir: dir,
      timeoutMs: 10_000,
    },
    home: dir,
    firstTurn: true,
    signal: new AbortController().signal,
    emit: (e) => events.push(e),
  });
  assert.equal(outcome.status, 'completed', outcome.reason);
  const files: Record<string, string> = {};
  for (const e of events)
    if (e.type === 'file_change') files[e.path.slice(dir.length + 1)] = readFileSync(e.path, 'utf8');
  const asGenerated = Object.entries(files).map(([path, text]) => ({ path, mediaType: '', text }));
  assert.equal(
    validateGenerated(skill, asGenerated),
    undefined,
    `${skill}: the check the task runs before it completes`,
  );
  return files;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

describe('generated deployment files for sample projects', { timeout: 600_000 }, () => {
  const dirs: (() => void)[] = [];
  after(() => dirs.forEach((d) => d()));

  for (const [kind, sample] of Object.entries(SAMPLES)) {
    test(`${kind}: Dockerfile, compose and Kubernetes files that lint, validate and (where this machine can) build and run`, async (t) => {
      const { dir: root, cleanup } = tempDir(`a2a-sample-${kind}-`);
      dirs.push(cleanup);
      const dir = join(root, `${kind}-app`);
      write(dir, sample.files);
      if (kind === 'node') {
        // A lockfile, as a real project has: so the Dockerfile uses npm ci.
        execFileSync(
          'npm',
          ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'],
          { cwd: dir, stdio: 'ignore' },
        );
      }
      const project = (await detectProject(dir, sample.description))!;
      t.diagnostic(
        `${kind}: start ${project.start.join(' ')}, port ${project.port}, health ${project.health}, services ${project.services.join(',')}`,
      );
      const docker = await generate(dir, 'generate_dockerfile', sample.description);
      assert.deepEqual(lintDockerfile(docker.Dockerfile!), [], 'no lint finding, warnings included');
      const compose = await generate(dir, 'generate_docker_compose', sample.description);
      const k8s = await generate(dir, 'generate_k8s_manifests', sample.description, {
        image: `registry.example.com/${kind}:1.0.0`,
        replicas: 3,
        namespace: 'shop',
      });

      // The facts each file was written from.
      const expected = {
        node: { port: 3000, health: '/health', services: ['redis', 'nginx'] },
        python: { port: 5000, health: '/healthz', services: ['redis', 'postgres'] },
        go: { port: 8081, health: '/health', services: ['postgres'] },
      }[kind]!;
      assert.equal(project.port, expected.port);
      assert.equal(project.health, expected.health);
      assert.deepEqual(project.services, expected.services);
      assert.match(docker.Dockerfile!, new RegExp(`EXPOSE ${expected.port}\\n`));
      assert.match(
        docker.Dockerfile!,
        new RegExp(`HEALTHCHECK[^\\n]*\\n[^\\n]*127\\.0\\.0\\.1:${expected.port}${expected.health}`),
      );

      // Compose: the named services, each healthy before the app starts; valid by schema and by docker-compose.
      const composeDoc = parse(compose['docker-compose.yml']!) as { services: Record<string, any> };
      for (const s of expected.services) assert.ok(composeDoc.services[s], `compose has ${s}`);
      assert.deepEqual(checkCompose(compose['docker-compose.yml']!), []);
      if (expected.services.includes('nginx'))
        assert.ok(compose['nginx/default.conf'], 'nginx gets its config');
      if (has('docker-compose')) {
        const r = spawnSync('docker-compose', ['config', '-q'], {
          cwd: dir,
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '', POSTGRES_PASSWORD: 'x', MYSQL_PASSWORD: 'x' },
        });
        assert.equal(r.status, 0, r.stderr);
      } else {
        t.diagnostic('docker-compose is not installed: only the schema check ran');
      }

      // Kubernetes: the options honoured; every object valid against the schemas.
      const docs = Object.entries(k8s)
        .filter(([p]) => !p.endsWith('kustomization.yaml'))
        .flatMap(([path, text]) =>
          parseAllDocuments(text).map((d) => ({ path, value: d.toJS() as Record<string, unknown> })),
        );
      const deployment = docs.find((d) => d.value.kind === 'Deployment')!.value as any;
      assert.equal(deployment.spec.replicas, 3);
      assert.equal(deployment.spec.template.spec.containers[0].image, `registry.example.com/${kind}:1.0.0`);
      assert.equal(deployment.spec.template.spec.containers[0].readinessProbe.httpGet.path, expected.health);
      assert.equal(parse(k8s['k8s/kustomization.yaml']!).namespace, 'shop');
      assert.deepEqual(await validateKubernetes(docs), []);

      // The Dockerfile's steps, as far as this machine can take them.
      const context = dir;
      const toolchain = { node: 'npm', python: 'python3', go: 'go' }[kind]!;
      if (!has(toolchain)) {
        t.diagnostic(
          `${kind}: ${toolchain} is not installed here, so the Dockerfile's build steps were not run (linted and validated only)`,
        );
        return;
      }
      const steps = await runDockerfile(
        docker.Dockerfile!,
        context,
        join(root, 'image'),
        {
          PATH: process.env.PATH ?? '',
          HOME: root,
          npm_config_cache: join(process.env.HOME ?? '/root', '.npm'),
        },
        (l) => t.diagnostic(l),
      );
      t.diagnostic(`not run: ${steps.notRun.join('; ')}`);
      const stages = steps.stages;
      const last = stages.at(-1)!;
      const runtime = steps.runs.get(last.name ?? String(stages.length - 1))!;
      if (kind === 'node') {
        assert.deepEqual(readdirSync(join(runtime.root, 'app')).sort(), [
          'dist',
          'node_modules',
          'package.json',
        ]);
        assert.ok(
          !readdirSync(join(runtime.root, 'app/node_modules')).includes('typescript'),
          'dev dependencies pruned',
        );
      }
      const port = await freePort();
      const entry = last.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
      const cmd = last.instructions.filter((i) => i.keyword === 'CMD').at(-1);
      const argv = [...(entry ? execForm(entry.args)! : []), ...(cmd ? execForm(cmd.args)! : [])];
      const env = { ...process.env, ...runtime.env, PORT: String(port) };
      const child = spawn(argv[0]!, argv.slice(1), { cwd: runtime.cwd, env, stdio: 'ignore' });
      try {
        const healthUrl = `http://127.0.0.1:${port}${project.health}`;
        const deadline = Date.now() + 20_000;
        let status = 0;
        // The sample apps print nothing to wait on in every language: retry the connection, bounded.
        while (Date.now() < deadline && status !== 200) {
          status = await fetch(healthUrl).then(
            (r) => r.status,
            () => 0,
          );
          if (status !== 200) await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(status, 200, `the image's command started the app and ${project.health} answered`);
        const healthcheck = last.instructions.find((i) => i.keyword === 'HEALTHCHECK')!;
        const check = execForm(healthcheck.args.replace(/^(--\S+\s+)*CMD\s+/, ''))!.map((a) =>
          a.replace(`:${project.port}`, `:${port}`),
        );
        const r = spawnSync(check[0]!, check.slice(1), { env, encoding: 'utf8', timeout: 10_000 });
        assert.equal(r.status, 0, `HEALTHCHECK ${check.join(' ')}: ${r.stderr}`);
      } finally {
        child.kill('SIGTERM');
      }
    });
  }

  test('for this repository the generated Dockerfile matches the shipped one: stages, base, build, runtime deps, user, port, health check', async () => {
    const project = (await detectProject(REPO_ROOT, 'the gateway'))!;
    const generated = stagesOf(parseDockerfile(dockerfileFor(project)));
    const shippedText = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const nodeVersion = /^ARG NODE_VERSION=(\S+)$/m.exec(shippedText)![1]!;
    const shipped = stagesOf(parseDockerfile(shippedText.replace(/\$\{NODE_VERSION\}/g, nodeVersion)));
    const summary = (stages: typeof shipped) => {
      const runtime = stages.at(-1)!;
      const all = (s: (typeof shipped)[number], k: string) =>
        s.instructions.filter((i) => i.keyword === k).map((i) => i.args);
      const runs = (s: (typeof shipped)[number]) => all(s, 'RUN').join(' && ');
      const apt = (s: (typeof shipped)[number]) =>
        (/--no-install-recommends ([\w .+-]+?)\s*&&/.exec(runs(s))?.[1] ?? '')
          .trim()
          .split(/\s+/)
          .filter(Boolean)
          .sort();
      const user = all(runtime, 'USER').at(-1)!;
      return {
        stages: stages.length,
        base: stages.map((s) => /^node:(\d+)[.\d]*-(bookworm-slim)$/.exec(s.from)?.slice(1).join('-')),
        buildTools: apt(stages[0]!),
        build: [
          'npm ci --ignore-scripts',
          'npm rebuild better-sqlite3',
          'npm run build',
          'npm prune --omit=dev',
        ].filter((c) => runs(stages[0]!).includes(c)),
        runtimePackages: apt(runtime),
        // Where each runtime COPY puts its files: from the build stage or the context, the image holds the same.
        runtimeFiles: all(runtime, 'COPY')
          .map((c) => {
            const words = c.split(/\s+/).filter((w) => !w.startsWith('--'));
            const dest = words.at(-1)!;
            return dest.endsWith('/') ? words[0]!.split('/').pop()! : dest.replace(/^\.\//, '');
          })
          .sort(),
        nonRootUser: user !== 'root' && user !== '0',
        port: all(runtime, 'EXPOSE'),
        health: /127\.0\.0\.1:[^/]*\/health/.test(all(runtime, 'HEALTHCHECK')[0] ?? ''),
        command: [...execForm(all(runtime, 'ENTRYPOINT')[0]!)!, ...execForm(all(runtime, 'CMD')[0]!)!].map(
          (a) => a.replace(/^\/app\//, ''),
        ),
      };
    };
    assert.deepEqual(summary(generated), summary(shipped));
    assert.deepEqual(summary(shipped).build.length, 4);
  });
});
