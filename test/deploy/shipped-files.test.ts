// The gateway's own deployment files, each checked by the tool that reads it for real: the Dockerfile by
// dockerfile-utils' linter (plus the hadolint-style rules of src/deployment/dockerfile.ts), the compose file by
// Debian's docker-compose and the Compose Specification's schema, the Kubernetes manifests by the Kubernetes
// schemas (kubernetes-models) and their probes against the running gateway's routes, the systemd unit by
// systemd-analyze, the nginx configs by `nginx -t`.
import { connectTestRedis, dropRedisKeys } from '../helpers/redis-keys.js';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, QueueKeys, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { parse, parseAllDocuments } from 'yaml';
import { checkCompose } from '../../src/deployment/compose.js';
import { execForm, lintDockerfile, parseDockerfile, stagesOf } from '../../src/deployment/dockerfile.js';
import { checkManifests } from '../../src/deployment/kubernetes.js';
import { BullMqQueue } from '../../src/queue/bullmq-queue.js';
import { envSchema } from '../../src/config/schema.js';
import { REPO_ROOT, startTestGateway, tempDir, type TestGateway } from '../helpers/gateway.js';
import { renderKustomization, validateKubernetes, type K8sDoc } from './k8s-schema.js';

const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const stages = stagesOf(parseDockerfile(text));

  test('passes the linter with no finding at all', () => {
    assert.deepEqual(lintDockerfile(text), []);
  });

  test('the linter is not a rubber stamp: a broken Dockerfile gets findings', () => {
    const broken = text
      .replace('FROM node:${NODE_VERSION}-bookworm-slim AS runtime', 'FROM node:latest AS runtime')
      .replace('USER a2a', 'USER root')
      .replace('CMD ["serve"]', 'CMD serve')
      .replace('EXPOSE 8000', 'EXPOSE 8000/tcpx');
    const rules = lintDockerfile(broken).map((f) => f.rule);
    for (const rule of ['DL3007', 'DL3002', 'DL3025'])
      assert.ok(rules.includes(rule), `${rule} in ${rules.join(',')}`);
    assert.ok(
      rules.some((r) => r.startsWith('dockerfile-utils:')),
      'the validator flags the bad EXPOSE',
    );
  });

  test('two stages on one pinned slim base; production dependencies only in the runtime stage', () => {
    assert.deepEqual(
      stages.map((s) => [s.name, s.from]),
      [
        ['build', 'node:${NODE_VERSION}-bookworm-slim'],
        ['runtime', 'node:${NODE_VERSION}-bookworm-slim'],
      ],
    );
    assert.match(text, /^ARG NODE_VERSION=20\.\d+\.\d+$/m);
    const build = stages[0]!.instructions.map((i) => i.args).join('\n');
    assert.match(build, /npm run build/);
    assert.match(build, /npm prune --omit=dev/);
    const runtime = stages[1]!.instructions;
    const copies = runtime.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    assert.ok(copies.includes('--from=build /app/node_modules ./node_modules'));
    assert.ok(copies.includes('--from=build /app/dist ./dist'));
    // No sources in the runtime image: of src/, only the dashboard's static files the package ships.
    assert.deepEqual(
      copies.filter((c) => /\bsrc\b/.test(c)),
      ['--from=build /app/src/dashboard/static ./src/dashboard/static'],
    );
  });

  test('non-root user, git and an init process, volumes for data and workspaces, a health check on /health', () => {
    const runtime = stages[1]!.instructions;
    const get = (k: string) => runtime.filter((i) => i.keyword === k);
    assert.equal(get('USER').at(-1)?.args, 'a2a');
    assert.match(
      get('RUN')
        .map((i) => i.args)
        .join('\n'),
      /install -y --no-install-recommends git tini/,
    );
    assert.deepEqual(execForm(get('ENTRYPOINT')[0]!.args), [
      '/usr/bin/tini',
      '--',
      'node',
      '/app/dist/cli/main.js',
    ]);
    assert.deepEqual(execForm(get('CMD')[0]!.args), ['serve']);
    assert.deepEqual(execForm(get('VOLUME')[0]!.args), ['/data', '/workspaces']);
    assert.match(get('ENV')[0]!.args, /DATA_DIR=\/data/);
    assert.match(get('ENV')[0]!.args, /WORKSPACE_ROOTS=\/workspaces/);
    assert.equal(get('EXPOSE')[0]!.args, '8000');
    assert.match(get('HEALTHCHECK')[0]!.args, /127\.0\.0\.1:'\+\(process\.env\.PORT\|\|8000\)\+'\/health/);
  });

  test('the CLI build arguments install nothing by default and document the versions the e2e tests pin', () => {
    const pinned = (JSON.parse(read('test/e2e/package.json')) as { dependencies: Record<string, string> })
      .dependencies;
    const args = [...text.matchAll(/^ARG (\w+_VERSION)=""$/gm)].map((m) => m[1]!);
    assert.equal(args.length, Object.keys(pinned).length, 'one build argument per pinned CLI');
    for (const [pkg, version] of Object.entries(pinned)) {
      const install = new RegExp(`pkgs="\\$pkgs ${pkg.replace(/[/@.-]/g, '\\$&')}@\\$(\\w+)"`).exec(text);
      assert.ok(install, `the Dockerfile installs ${pkg}`);
      const arg = install[1]!;
      assert.ok(args.includes(arg), `${arg} is a build argument`);
      assert.match(
        text,
        new RegExp(`\\b${arg}=${version.replace(/\./g, '\\.')}\\b`),
        `${arg} documented as ${version}`,
      );
    }
  });

  test('.dockerignore leaves out git, node_modules, dist and secrets, but nothing the Dockerfile copies', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    for (const p of ['.git', 'node_modules', 'dist', '.env']) assert.ok(ignored.includes(p), p);
    const copied = parseDockerfile(text)
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    assert.deepEqual(copied.sort(), [
      '.env.example',
      'package-lock.json',
      'package.json',
      'src',
      'tsconfig.build.json',
      'tsconfig.json',
    ]);
    for (const c of copied) {
      assert.ok(!ignored.includes(c), `${c} is copied and not ignored`);
      assert.ok(existsSync(join(REPO_ROOT, c)), `${c} exists`);
    }
    assert.ok(ignored.includes('!.env.example'));
  });
});

describe('docker-compose.yml', () => {
  const text = read('docker-compose.yml');
  const doc = parse(text) as { services: Record<string, any>; volumes: Record<string, unknown> };
  const env = { API_KEY: 'compose-test-key-0123456789', GRAFANA_ADMIN_PASSWORD: 'x' };

  test('docker-compose config accepts it, and refuses to start without an API key', (t) => {
    if (!has('docker-compose')) {
      // .ci/run installs Debian's docker-compose; a developer machine may lack it.
      t.skip('docker-compose is not installed (apt-get install docker-compose)');
      return;
    }
    const run = (extra: Record<string, string>) =>
      spawnSync('docker-compose', ['-f', join(REPO_ROOT, 'docker-compose.yml'), 'config'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...extra },
      });
    const ok = run(env);
    assert.equal(ok.status, 0, ok.stderr);
    const resolved = parse(ok.stdout) as { services: Record<string, any> };
    assert.equal(resolved.services['a2a-gateway'].environment.API_KEY, env.API_KEY);
    const refused = run({ GRAFANA_ADMIN_PASSWORD: 'x' });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /set API_KEY in \.env/);
  });

  test('it is valid against the Compose Specification schema', () => {
    assert.deepEqual(checkCompose(text), []);
    assert.ok(checkCompose(text.replace('condition: service_healthy', 'condition: when_ready')).length > 0);
  });

  test('gateway, Redis, nginx, Prometheus and Grafana; each waits on the health of what it needs', () => {
    assert.deepEqual(Object.keys(doc.services).sort(), [
      'a2a-gateway',
      'grafana',
      'nginx',
      'prometheus',
      'redis',
    ]);
    for (const [name, svc] of Object.entries(doc.services)) {
      assert.ok(svc.healthcheck?.test, `${name} has a health check`);
      for (const [dep, cond] of Object.entries(svc.depends_on ?? {})) {
        assert.equal((cond as { condition: string }).condition, 'service_healthy', `${name} waits on ${dep}`);
      }
    }
    assert.deepEqual(Object.keys(doc.services['a2a-gateway'].depends_on), ['redis']);
    assert.deepEqual(Object.keys(doc.services.nginx.depends_on), ['a2a-gateway']);
  });

  test('volumes for data and workspaces, Redis persistence, only nginx published on all interfaces', () => {
    const gw = doc.services['a2a-gateway'];
    assert.deepEqual(gw.volumes, ['gateway-data:/data', 'workspaces:/workspaces']);
    assert.equal(gw.ports, undefined, 'the gateway is reached through nginx');
    assert.ok(doc.services.redis.command.includes('--appendonly'));
    assert.deepEqual(doc.services.redis.volumes, ['redis-data:/data']);
    for (const name of ['prometheus', 'grafana']) {
      for (const p of doc.services[name].ports as string[])
        assert.match(p, /^127\.0\.0\.1:/, `${name} only on loopback`);
    }
    assert.ok(Object.keys(doc.volumes).includes('gateway-data'));
  });

  test('mounts the observability files at the paths the obs engineer writes them', () => {
    const mounts = [
      ...(doc.services.prometheus.volumes as string[]),
      ...(doc.services.grafana.volumes as string[]),
    ].map((v) => v.split(':')[0]);
    for (const p of [
      './deploy/prometheus',
      './deploy/grafana/provisioning/datasources',
      './deploy/grafana/provisioning/dashboards',
      './deploy/grafana/dashboards',
    ]) {
      assert.ok(mounts.includes(p), p);
    }
    assert.ok(
      (doc.services.nginx.volumes as string[]).includes(
        './deploy/nginx/a2a-gateway.conf:/etc/nginx/conf.d/default.conf:ro',
      ),
    );
  });
});

describe('docker-compose.workers.yml (scale-out: API node and worker replicas)', () => {
  const env = { API_KEY: 'compose-test-key-0123456789', GRAFANA_ADMIN_PASSWORD: 'x' };
  /** `docker-compose -f docker-compose.yml -f docker-compose.workers.yml config`, as the docs run it. */
  const config = (extra: Record<string, string>) =>
    spawnSync('docker-compose', ['-f', 'docker-compose.yml', '-f', 'docker-compose.workers.yml', 'config'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, ...extra },
    });

  test('docker-compose config accepts the pair; the result is valid against the Compose Specification schema', (t) => {
    if (!has('docker-compose')) {
      t.skip('docker-compose is not installed (apt-get install docker-compose)');
      return;
    }
    const r = config({});
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(checkCompose(r.stdout), []);
    const resolved = parse(r.stdout) as { services: Record<string, any> };
    assert.deepEqual(Object.keys(resolved.services).sort(), [
      'a2a-gateway',
      'grafana',
      'nginx',
      'prometheus',
      'redis',
      'worker',
    ]);
  });

  test('the API node behind nginx runs serve --role api, the workers serve --role worker on the same Redis and prefix', (t) => {
    if (!has('docker-compose')) {
      t.skip('docker-compose is not installed (apt-get install docker-compose)');
      return;
    }
    const r = config({ REDIS_KEY_PREFIX: 'team-a:', WORKER_REPLICAS: '4' });
    assert.equal(r.status, 0, r.stderr);
    const { services } = parse(r.stdout) as { services: Record<string, any> };
    const api = services['a2a-gateway'];
    const worker = services.worker;
    assert.deepEqual(api.command, ['serve', '--role', 'api']);
    assert.deepEqual(worker.command, ['serve', '--role', 'worker']);
    assert.equal(api.environment.GATEWAY_ROLE, 'api');
    assert.equal(worker.environment.GATEWAY_ROLE, 'worker');
    for (const name of ['REDIS_ENABLED', 'REDIS_URL', 'REDIS_KEY_PREFIX']) {
      assert.equal(worker.environment[name], api.environment[name], `${name} is the same on both`);
    }
    assert.equal(api.environment.REDIS_ENABLED, 'true');
    assert.equal(api.environment.REDIS_KEY_PREFIX, 'team-a:');
    // Every variable is a gateway setting with a valid value.
    for (const svc of [api, worker]) {
      assert.deepEqual(
        Object.keys(svc.environment).filter((k) => !(k in envSchema.shape)),
        [],
      );
      // As the gateway reads its environment: an empty value (PUBLIC_URL: ${PUBLIC_URL:-}) is unset.
      const set = Object.entries(svc.environment as Record<string, string>).filter(([, v]) => v !== '');
      const parsed = envSchema.safeParse(Object.fromEntries(set));
      assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
      assert.equal(parsed.data.GATEWAY_ROLE, svc.command[2]);
    }
    assert.equal(Number(worker.deploy.replicas), 4, 'WORKER_REPLICAS sets the number of workers');
    // One image for both roles, built by either service.
    assert.equal(worker.image, api.image);
    assert.deepEqual(worker.build, api.build);
    // nginx still proxies the API node; workers are never published and wait on a healthy Redis.
    assert.deepEqual(Object.keys(services.nginx.depends_on), ['a2a-gateway']);
    assert.match(read('deploy/nginx/a2a-gateway.conf'), /server a2a-gateway:8000;/);
    assert.equal(worker.ports, undefined);
    assert.deepEqual(worker.depends_on, { redis: { condition: 'service_healthy' } });
    assert.match(worker.healthcheck.test.join(' '), /127\.0\.0\.1:8000\/health/);
    // The worker listens beyond loopback (for Prometheus) only with a key: compose refuses to start without one.
    assert.equal(worker.environment.API_KEY, env.API_KEY);
    assert.match(worker.environment.HOST, /^0\.0\.0\.0$/);
    // A scale-down lets running tasks finish: the drain time fits in the grace period.
    const grace = Number(/^(\d+)s$/.exec(worker.stop_grace_period)?.[1]);
    assert.ok(grace > Number(worker.environment.SHUTDOWN_TIMEOUT), `${grace} s grace`);
    // Scratch per replica; repositories, worktrees and the CLIs' session files shared by every worker.
    assert.ok(worker.volumes.includes('/data'));
    assert.ok(worker.volumes.some((v: string) => v.startsWith('workspaces:/workspaces')));
    assert.ok(worker.volumes.some((v: string) => v.startsWith('agent-home:/home/a2a')));
    // Redis keeps the queue: persisted, never evicting, health-checked.
    assert.ok(services.redis.command.includes('--appendonly'));
    assert.deepEqual(services.redis.command.slice(services.redis.command.indexOf('--maxmemory-policy')), [
      '--maxmemory-policy',
      'noeviction',
    ]);
    assert.ok(services.redis.healthcheck.test.includes('ping'));
    // Prometheus scrapes every replica with the scale-out config, which exists beside the rules.
    const configFile = services.prometheus.command
      .find((a: string) => a.startsWith('--config.file='))
      .split('/')
      .pop();
    assert.equal(configFile, 'prometheus-workers.yml');
    const prom = parse(read(`deploy/prometheus/${configFile}`));
    const names = prom.scrape_configs[0].dns_sd_configs.flatMap((c: any) => c.names);
    assert.deepEqual(names, ['a2a-gateway', 'worker']);
  });

  test('the single-node quick start is untouched: docker-compose.yml alone runs one gateway in role all', () => {
    const single = parse(read('docker-compose.yml')) as { services: Record<string, any> };
    assert.equal(single.services.worker, undefined);
    assert.equal(single.services['a2a-gateway'].command, undefined, 'the image default: serve');
    assert.equal(single.services['a2a-gateway'].environment.GATEWAY_ROLE, undefined, 'default: all');
  });
});

/** Every YAML document under deploy/k8s that is a Kubernetes object (kustomizations and the example Secret too). */
function k8sDocuments(): { path: string; value: Record<string, unknown> }[] {
  const out: { path: string; value: Record<string, unknown> }[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith('.yaml')) {
        for (const d of parseAllDocuments(read(rel))) {
          assert.deepEqual(d.errors, [], rel);
          out.push({ path: rel, value: d.toJS() as Record<string, unknown> });
        }
      }
    }
  };
  walk('deploy/k8s');
  return out;
}

describe('Kubernetes manifests', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(async () => {
    await gw.stop();
  });

  test('every object of the base and the production overlay validates against the Kubernetes schemas, strictly', async () => {
    const base = renderKustomization(join(REPO_ROOT, 'deploy/k8s/base'));
    const production = renderKustomization(join(REPO_ROOT, 'deploy/k8s/overlays/production'));
    assert.deepEqual(
      base.map((d) => d.value.kind),
      [
        'ConfigMap',
        'PersistentVolumeClaim',
        'PersistentVolumeClaim',
        'Deployment',
        'Service',
        'Ingress',
        'NetworkPolicy',
        'PodDisruptionBudget',
      ],
    );
    assert.equal(production.length, base.length + 1, 'the overlay adds the Namespace');
    const prodDeployment = production.find((d) => d.value.kind === 'Deployment')!.value as any;
    assert.equal(prodDeployment.metadata.namespace, 'a2a-gateway');
    assert.equal(prodDeployment.spec.template.spec.containers[0].image, 'ghcr.io/your-org/a2a-gateway:0.1.0');
    assert.equal(prodDeployment.spec.template.spec.containers[0].resources.requests.cpu, '1');
    assert.ok(
      prodDeployment.spec.template.spec.containers[0].livenessProbe,
      'the patch kept the rest of the container',
    );
    const example = k8sDocuments().filter((d) => d.path.endsWith('secret.example.yaml'));
    const docs = [...base, ...production, ...example];
    const errors = await validateKubernetes(docs);
    assert.deepEqual(errors, []);
    const deployment = base.find((d) => d.value.kind === 'Deployment')!;
    // The validator is not a rubber stamp: a wrong type and a misspelt field are both caught.
    const broken = structuredClone(deployment.value) as any;
    broken.spec.replicas = 'two';
    broken.spec.template.spec.containers[0].livenessProbe.httpGet.pth = '/health';
    const found = await validateKubernetes([{ path: 'broken', value: broken }]);
    assert.ok(
      found.some((e) => /replicas/.test(e)),
      found.join('\n'),
    );
    assert.ok(
      found.some((e) => /pth/.test(e)),
      found.join('\n'),
    );
  });

  test('the manifests hold together, and each kustomization lists files that exist', () => {
    const base = readdirSync(join(REPO_ROOT, 'deploy/k8s/base'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => ({ path: f, text: read(`deploy/k8s/base/${f}`) }));
    assert.deepEqual(checkManifests(base), []);
    for (const k of k8sDocuments().filter((d) => d.value.kind === 'Kustomization')) {
      const dir = join(REPO_ROOT, k.path, '..');
      for (const r of (k.value.resources as string[]) ?? [])
        assert.ok(existsSync(join(dir, r)), `${k.path}: ${r}`);
      for (const p of (k.value.patches as { path: string }[]) ?? [])
        assert.ok(existsSync(join(dir, p.path)), `${k.path}: ${p.path}`);
    }
    const kustomization = parse(read('deploy/k8s/base/kustomization.yaml')) as { resources: string[] };
    assert.ok(
      !kustomization.resources.includes('secret.example.yaml'),
      'the example Secret is never applied',
    );
  });

  test('probes point at routes the gateway answers: liveness /health, readiness /ready', async () => {
    const deployment = k8sDocuments().find((d) => d.value.kind === 'Deployment')!.value as any;
    const c = deployment.spec.template.spec.containers[0];
    assert.equal(c.livenessProbe.httpGet.path, '/health');
    assert.equal(c.readinessProbe.httpGet.path, '/ready');
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      const res = await fetch(`${gw.url}${c[probe].httpGet.path}`);
      assert.equal(res.status, 200, `${probe} ${c[probe].httpGet.path}`);
      assert.equal(c[probe].httpGet.port, 'http');
    }
    assert.ok(c.ports.some((p: any) => p.name === 'http' && p.containerPort === 8000));
    const missing = await fetch(`${gw.url}/healthz`);
    assert.notEqual(missing.status, 200, 'a probe on a route that does not exist would fail');
  });

  test('restricted security: non-root, no privilege escalation, read-only root with writable volumes', () => {
    const deployment = k8sDocuments().find((d) => d.value.kind === 'Deployment')!.value as any;
    const pod = deployment.spec.template.spec;
    const c = pod.containers[0];
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.runAsUser, 10001, 'the uid of the image user');
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.deepEqual(c.volumeMounts.map((m: any) => m.mountPath).sort(), [
      '/data',
      '/home/a2a',
      '/tmp',
      '/workspaces',
    ]);
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
    assert.ok(pod.terminationGracePeriodSeconds > 30, 'longer than SHUTDOWN_TIMEOUT so tasks drain');
    assert.match(read('Dockerfile'), /--uid 10001/);
  });

  test('ingress streams unbuffered; the network policy admits only the ingress controller and Prometheus', () => {
    const docs = k8sDocuments();
    const ingress = docs.find((d) => d.value.kind === 'Ingress' && d.path.includes('base'))!.value as any;
    assert.equal(ingress.metadata.annotations['nginx.ingress.kubernetes.io/proxy-buffering'], 'off');
    assert.ok(Number(ingress.metadata.annotations['nginx.ingress.kubernetes.io/proxy-read-timeout']) >= 60);
    const policy = docs.find((d) => d.value.kind === 'NetworkPolicy')!.value as any;
    assert.deepEqual(policy.spec.policyTypes, ['Ingress', 'Egress']);
    assert.deepEqual(
      policy.spec.ingress.map((r: any) => [
        r.from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'],
        r.ports[0].port,
      ]),
      [
        ['ingress-nginx', 8000],
        ['monitoring', 9464],
      ],
    );
  });
});

describe('systemd unit', () => {
  const unit = join(REPO_ROOT, 'deploy/systemd/a2a-gateway.service');

  test('systemd-analyze verify accepts it with no warning', () => {
    const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'verify prints unknown keys and bad values as warnings with exit 0');
    // A misspelt hardening key is a warning, which the check above would catch.
    const { dir, cleanup } = tempDir('a2a-unit-');
    try {
      const bad = join(dir, 'a2a-gateway.service');
      writeFileSync(bad, readFileSync(unit, 'utf8').replace('ProtectSystem=strict', 'ProtectSistem=strict'));
      const r2 = spawnSync('systemd-analyze', ['verify', bad], { encoding: 'utf8' });
      assert.match(r2.stderr, /Unknown key 'ProtectSistem'/);
    } finally {
      cleanup();
    }
  });

  test('hardened: a dedicated user, NoNewPrivileges, ProtectSystem=strict; exposure rated OK or better', () => {
    const text = readFileSync(unit, 'utf8');
    for (const line of [
      'User=a2a-gateway',
      'NoNewPrivileges=true',
      'ProtectSystem=strict',
      'ProtectHome=true',
      'PrivateTmp=true',
      'KillMode=mixed',
    ]) {
      assert.match(text, new RegExp(`^${line}$`, 'm'), line);
    }
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', unit], { encoding: 'utf8' });
    const level = /Overall exposure level for a2a-gateway\.service: (\d+\.\d+)/.exec(r.stdout);
    assert.ok(level, r.stdout + r.stderr);
    assert.ok(Number(level[1]) <= 3, `exposure ${level[1]} (systemd rates under 4 as OK)`);
  });
});

describe('nginx configs', () => {
  test('nginx -t accepts the plain and the TLS config (upstream templated to 127.0.0.1)', () => {
    const { dir, cleanup } = tempDir('a2a-nginx-t-');
    try {
      mkdirSync(join(dir, 'logs'));
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-keyout',
          join(dir, 'tls.key'),
          '-out',
          join(dir, 'tls.crt'),
        ],
        { stdio: 'ignore' },
      );
      for (const file of ['a2a-gateway.conf', 'a2a-gateway-tls.conf']) {
        const site = read(`deploy/nginx/${file}`)
          .replace('server a2a-gateway:8000;', 'server 127.0.0.1:9;')
          .replace(/listen 80;/g, 'listen 127.0.0.1:1;')
          .replace('listen 443 ssl http2;', 'listen 127.0.0.1:2 ssl http2;')
          .replace(/\/etc\/nginx\/tls\//g, `${dir}/`);
        writeFileSync(join(dir, 'site.conf'), site);
        writeFileSync(
          join(dir, 'nginx.conf'),
          `pid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log;\nevents {}\nhttp {\n  access_log off;\n  include ${dir}/site.conf;\n}\n`,
        );
        const r = spawnSync('nginx', ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
        assert.equal(r.status, 0, `${file}: ${r.stderr}`);
      }
    } finally {
      cleanup();
    }
  });
});

describe('Kubernetes scale-out overlay (API and worker Deployments, Redis, KEDA)', () => {
  const rendered = (): K8sDoc[] => renderKustomization(join(REPO_ROOT, 'deploy/k8s/overlays/scale-out'));
  const find = (docs: K8sDoc[], kind: string, name: string): any =>
    docs.find((d) => d.value.kind === kind && (d.value.metadata as { name: string }).name === name)?.value;

  test('every object but the ScaledObject validates against the Kubernetes schemas, strictly; so does the HPA example', async () => {
    const docs = rendered();
    assert.deepEqual(docs.map((d) => `${String(d.value.kind)}/${(d.value.metadata as any).name}`).sort(), [
      'ConfigMap/a2a-gateway',
      'Deployment/a2a-gateway',
      'Deployment/a2a-gateway-worker',
      'Ingress/a2a-gateway',
      'Namespace/a2a-gateway',
      'NetworkPolicy/a2a-gateway',
      'NetworkPolicy/a2a-gateway-redis',
      'NetworkPolicy/a2a-gateway-worker',
      'PersistentVolumeClaim/a2a-gateway-workspaces',
      'PodDisruptionBudget/a2a-gateway',
      'PodDisruptionBudget/a2a-gateway-worker',
      'ScaledObject/a2a-gateway-worker',
      'Service/a2a-gateway',
      'Service/a2a-gateway-redis',
      'StatefulSet/a2a-gateway-redis',
    ]);
    for (const d of docs) {
      if (d.value.kind !== 'Namespace')
        assert.equal((d.value.metadata as any).namespace, 'a2a-gateway', d.path);
    }
    const example = k8sDocuments().filter((d) => d.path.endsWith('hpa-prometheus.example.yaml'));
    assert.equal(example.length, 1);
    const errors = await validateKubernetes([
      ...docs.filter((d) => d.value.kind !== 'ScaledObject'),
      ...example,
    ]);
    assert.deepEqual(errors, []);
  });

  test('API nodes run serve --role api with scratch /data and shared workspaces; workers run serve --role worker from the same image, exposed by nothing', () => {
    const docs = rendered();
    const api = find(docs, 'Deployment', 'a2a-gateway');
    const worker = find(docs, 'Deployment', 'a2a-gateway-worker');
    const apiC = api.spec.template.spec.containers[0];
    const workerC = worker.spec.template.spec.containers[0];
    assert.deepEqual(apiC.args, ['serve', '--role', 'api']);
    assert.deepEqual(workerC.args, ['serve', '--role', 'worker']);
    assert.equal(apiC.image, 'ghcr.io/your-org/a2a-gateway:0.1.0');
    assert.equal(workerC.image, apiC.image, 'one image for both roles');
    assert.equal(api.spec.replicas, 2);
    assert.equal(api.spec.strategy.type, 'RollingUpdate');
    assert.ok(apiC.livenessProbe, 'the patch kept the rest of the API container');
    // No SQLite store on a ReadWriteOnce volume any more: /data is scratch, and the data claim is gone.
    const data = api.spec.template.spec.volumes.find((v: any) => v.name === 'data');
    assert.deepEqual(Object.keys(data).sort(), ['emptyDir', 'name']);
    assert.equal(find(docs, 'PersistentVolumeClaim', 'a2a-gateway-data'), undefined);
    assert.deepEqual(find(docs, 'PersistentVolumeClaim', 'a2a-gateway-workspaces').spec.accessModes, [
      'ReadWriteMany',
    ]);
    // Both roles read the same Redis settings from the one ConfigMap.
    const cm = find(docs, 'ConfigMap', 'a2a-gateway').data;
    assert.equal(cm.REDIS_ENABLED, 'true');
    assert.match(cm.REDIS_URL, /^redis:\/\/a2a-gateway-redis:6379\//);
    assert.equal(cm.REDIS_KEY_PREFIX, 'a2a-gateway:');
    for (const c of [apiC, workerC]) assert.deepEqual(c.envFrom, [{ configMapRef: { name: 'a2a-gateway' } }]);
    // Nothing routes requests to workers: the only Service selects the API pods, and the Ingress uses it.
    const workerLabels = worker.spec.template.metadata.labels;
    assert.equal(workerLabels['app.kubernetes.io/component'], 'worker');
    for (const svc of docs.filter((d) => d.value.kind === 'Service')) {
      const sel = (svc.value as any).spec.selector as Record<string, string>;
      assert.ok(
        !Object.entries(sel).every(([k, v]) => workerLabels[k] === v),
        `${(svc.value.metadata as any).name} selects the workers`,
      );
    }
    assert.equal(
      find(docs, 'Ingress', 'a2a-gateway').spec.rules[0].http.paths[0].backend.service.name,
      'a2a-gateway',
    );
  });

  test('workers: probes on /health and /ready, restricted security, resources, a drain longer than a task, a PDB and a network policy', () => {
    const docs = rendered();
    const base = find(renderKustomization(join(REPO_ROOT, 'deploy/k8s/base')), 'Deployment', 'a2a-gateway');
    const worker = find(docs, 'Deployment', 'a2a-gateway-worker');
    const pod = worker.spec.template.spec;
    const c = pod.containers[0];
    // The same routes as the base's probes, which the Kubernetes manifests tests ask of a running gateway.
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      assert.equal(c[probe].httpGet.path, base.spec.template.spec.containers[0][probe].httpGet.path, probe);
    }
    assert.equal(c.livenessProbe.httpGet.path, '/health');
    assert.equal(c.readinessProbe.httpGet.path, '/ready');
    assert.deepEqual(pod.securityContext, base.spec.template.spec.securityContext);
    assert.equal(pod.automountServiceAccountToken, false);
    assert.deepEqual(c.securityContext, base.spec.template.spec.containers[0].securityContext);
    assert.deepEqual(c.volumeMounts.map((m: any) => m.mountPath).sort(), [
      '/data',
      '/home/a2a',
      '/tmp',
      '/workspaces',
    ]);
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
    const drain = Number(c.env.find((e: any) => e.name === 'SHUTDOWN_TIMEOUT').value);
    assert.ok(drain >= 600, 'a running task (DEFAULT_TIMEOUT 600) may finish on a scale-down');
    assert.ok(pod.terminationGracePeriodSeconds > drain);
    const pdb = find(docs, 'PodDisruptionBudget', 'a2a-gateway-worker');
    assert.deepEqual(pdb.spec.selector.matchLabels, worker.spec.selector.matchLabels);
    const policy = find(docs, 'NetworkPolicy', 'a2a-gateway-worker');
    assert.deepEqual(policy.spec.podSelector.matchLabels, worker.spec.selector.matchLabels);
    assert.deepEqual(
      policy.spec.ingress.map((r: any) => [
        r.from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'],
        r.ports[0].port,
      ]),
      [['monitoring', 9464]],
    );
    // The API nodes' policy (base) selects only them.
    const apiPolicy = find(docs, 'NetworkPolicy', 'a2a-gateway');
    assert.equal(apiPolicy.spec.podSelector.matchLabels['app.kubernetes.io/component'], 'gateway');
  });

  test('every setting the API and worker pods get is a gateway setting with a valid value (GATEWAY_ROLE api, worker)', () => {
    const docs = rendered();
    const cm = find(docs, 'ConfigMap', 'a2a-gateway').data as Record<string, string>;
    for (const name of ['a2a-gateway', 'a2a-gateway-worker']) {
      const c = find(docs, 'Deployment', name).spec.template.spec.containers[0];
      const env: Record<string, string> = { ...cm };
      for (const e of c.env) env[e.name] = e.value ?? 'from-a-secret-0123456789';
      const unknown = Object.keys(env).filter((k) => !(k in envSchema.shape) && k !== 'ANTHROPIC_API_KEY');
      assert.deepEqual(unknown, [], `${name}: settings the gateway does not read`);
      const parsed = envSchema.safeParse(env);
      assert.ok(parsed.success, `${name}: ${JSON.stringify(parsed.error?.issues)}`);
      assert.equal(parsed.data.GATEWAY_ROLE, c.args[2], `${name}: GATEWAY_ROLE agrees with --role`);
      assert.equal(parsed.data.REDIS_ENABLED, true);
    }
  });

  test('Redis: persisted, never evicting, probed, reached only by the gateway and KEDA', () => {
    const docs = rendered();
    const sts = find(docs, 'StatefulSet', 'a2a-gateway-redis');
    const c = sts.spec.template.spec.containers[0];
    assert.ok(c.args.includes('--appendonly'));
    assert.deepEqual(c.args.slice(c.args.indexOf('--maxmemory-policy')), [
      '--maxmemory-policy',
      'noeviction',
    ]);
    assert.deepEqual(c.volumeMounts, [{ name: 'redis-data', mountPath: '/data' }]);
    assert.equal(sts.spec.volumeClaimTemplates[0].metadata.name, 'redis-data');
    assert.deepEqual(c.readinessProbe.exec.command, ['redis-cli', 'ping']);
    assert.equal(sts.spec.template.spec.securityContext.runAsNonRoot, true);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    const svc = find(docs, 'Service', 'a2a-gateway-redis');
    assert.deepEqual(svc.spec.selector, sts.spec.selector.matchLabels);
    const policy = find(docs, 'NetworkPolicy', 'a2a-gateway-redis');
    assert.deepEqual(
      policy.spec.ingress[0].from.map(
        (f: any) => f.podSelector?.matchLabels ?? f.namespaceSelector.matchLabels,
      ),
      [{ 'app.kubernetes.io/name': 'a2a-gateway' }, { 'kubernetes.io/metadata.name': 'keda' }],
    );
  });

  test("the KEDA ScaledObject has KEDA's shape and watches the queue's waiting list under the configured prefix", async () => {
    const docs = rendered();
    const so = find(docs, 'ScaledObject', 'a2a-gateway-worker');
    assert.deepEqual(scaledObjectProblems(so), []);
    // Not a rubber stamp: a misspelt field, a number where KEDA wants a string and a missing target are caught.
    const broken = structuredClone(so);
    broken.spec.maxReplicas = 3;
    broken.spec.triggers[0].metadata.listLength = 5;
    delete broken.spec.scaleTargetRef.name;
    assert.equal(scaledObjectProblems(broken).length, 3, scaledObjectProblems(broken).join('\n'));
    // Its scale-down behaviour is an HPA behaviour: validated by the HPA schema.
    const hpa = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'behaviour' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' },
        maxReplicas: 1,
        behavior: so.spec.advanced.horizontalPodAutoscalerConfig.behavior,
      },
    };
    assert.deepEqual(await validateKubernetes([{ path: 'scaledobject behavior', value: hpa }]), []);
    // It scales the worker Deployment, on the list BullMQ keeps waiting jobs in, at the Redis the nodes use.
    const worker = find(docs, 'Deployment', 'a2a-gateway-worker');
    assert.equal(so.spec.scaleTargetRef.name, worker.metadata.name);
    const cm = find(docs, 'ConfigMap', 'a2a-gateway').data;
    const trigger = so.spec.triggers[0];
    assert.equal(trigger.type, 'redis');
    assert.equal(
      trigger.metadata.listName,
      new QueueKeys(`${cm.REDIS_KEY_PREFIX}bull`).toKey('tasks', 'wait'),
    );
    assert.equal(trigger.metadata.listName, 'a2a-gateway:bull:tasks:wait');
    const redisHost = new URL(cm.REDIS_URL).hostname;
    assert.equal(trigger.metadata.address, `${redisHost}.a2a-gateway.svc.cluster.local:6379`);
    assert.equal(trigger.metadata.databaseIndex, new URL(cm.REDIS_URL).pathname.slice(1));
    assert.equal(
      Number(trigger.metadata.listLength),
      Number(find(docs, 'ConfigMap', 'a2a-gateway').data.MAX_CONCURRENT_TASKS),
      'one worker per MAX_CONCURRENT_TASKS waiting tasks',
    );
    // Running tasks count too: replicas = ceil((waiting + running) / MAX_CONCURRENT_TASKS). On the waiting list
    // alone an HPA would ask for ceil(waiting / 5) workers whatever runs (2 full workers, 4 waiting: 1 worker).
    const running = so.spec.triggers[1];
    assert.equal(so.spec.triggers.length, 2);
    assert.equal(running.type, 'redis');
    assert.equal(
      running.metadata.listName,
      new QueueKeys(`${cm.REDIS_KEY_PREFIX}bull`).toKey('tasks', 'active'),
    );
    for (const k of ['address', 'databaseIndex', 'listLength'])
      assert.equal(running.metadata[k], trigger.metadata[k], `${k} as on the waiting trigger`);
    const mod = so.spec.advanced.scalingModifiers;
    assert.deepEqual(Object.keys(mod).sort(), ['activationTarget', 'formula', 'metricType', 'target']);
    assert.equal(mod.formula, `${trigger.name} + ${running.name}`);
    assert.deepEqual([trigger.name, running.name], ['waiting', 'running']);
    assert.equal(mod.target, cm.MAX_CONCURRENT_TASKS);
    assert.equal(mod.metricType, 'AverageValue');
    const replicas = (waiting: number, run: number): number =>
      Math.min(
        so.spec.maxReplicaCount,
        Math.max(so.spec.minReplicaCount, Math.ceil((waiting + run) / Number(mod.target))),
      );
    assert.equal(replicas(4, 10), 3, '2 full workers and 4 waiting: a third worker');
    assert.equal(replicas(0, 10), 2, 'an empty queue keeps the workers that are busy');
  });

  test('a job a worker takes moves to the list the running trigger reads (a real BullMQ worker on Redis)', async (t) => {
    const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/9';
    const redis = await connectTestRedis(url);
    if (!redis) {
      t.skip(`no Redis at ${url}`);
      return;
    }
    const prefix = `deploy-keda-${randomUUID().slice(0, 8)}:`;
    const bullPrefix = `${prefix}bull`;
    // BullMQ does not close connections it is given: each is closed in the finally.
    const clients: Redis[] = [];
    const client = (): Redis => {
      const c = new Redis(url, { maxRetriesPerRequest: null });
      clients.push(c);
      return c;
    };
    const queue = new Queue('tasks', { connection: client(), prefix: bullPrefix });
    let worker: Worker | undefined;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    try {
      for (const id of ['t1', 't2', 't3']) await queue.add('task', { id }, { jobId: id });
      const waiting = `${bullPrefix}:tasks:wait`;
      const running = `${bullPrefix}:tasks:active`;
      assert.equal(await redis.llen(waiting), 3);
      let taken!: () => void;
      const tookOne = new Promise<void>((resolve) => (taken = resolve));
      worker = new Worker(
        'tasks',
        async () => {
          taken();
          await held;
        },
        { connection: client(), prefix: bullPrefix, concurrency: 1 },
      );
      await Promise.race([tookOne, sleep(10_000).then(() => assert.fail('no job taken within 10 s'))]);
      assert.equal(await redis.type(running), 'list', 'KEDA reads the length of a list');
      assert.equal(await redis.llen(running), 1);
      assert.equal(await redis.llen(waiting), 2);
    } finally {
      release();
      await worker?.close(true);
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await dropRedisKeys(url, prefix);
      redis.disconnect();
      for (const c of clients) c.disconnect();
    }
  });

  test("a task an API node queues lands in that list: the length KEDA reads, and the gateway's queue gauge", async (t) => {
    const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/9';
    const redis = await connectTestRedis(url);
    if (!redis) {
      t.skip(`no Redis at ${url}`);
      return;
    }
    const prefix = `deploy-keda-${randomUUID().slice(0, 8)}:`;
    // What serve --role api builds: the queue under REDIS_KEY_PREFIX + "bull", running no job itself.
    const queue = new BullMqQueue(
      { logger: pino({ level: 'silent' }) },
      { url, prefix: `${prefix}bull`, maxConcurrent: 0, maxQueued: 10, stallTimeoutMs: 5000 },
    );
    try {
      await queue.ready();
      const listName = `${prefix}bull:tasks:wait`;
      assert.equal(await redis.llen(listName), 0);
      const outcomes = ['t1', 't2', 't3'].map((id) => queue.submit(id, 60_000, () => Promise.resolve(id)));
      for (const o of outcomes) o.catch(() => undefined);
      const deadline = Date.now() + 5000;
      while ((await redis.llen(listName)) < 3 && Date.now() < deadline) await sleep(50);
      assert.equal(await redis.llen(listName), 3, 'KEDA would see 3 waiting tasks');
      assert.equal(queue.stats().queued, 3, 'a2a_gateway_queued_tasks would say 3');
      for (const id of ['t1', 't2', 't3']) queue.cancel(id);
    } finally {
      await queue.close();
      await dropRedisKeys(url, prefix);
      redis.disconnect();
    }
  });
});

/** KEDA's ScaledObject (keda.sh/v1alpha1) fields, from its CRD; the Kubernetes schemas do not include it. */
const SCALED_OBJECT_SPEC = new Set([
  'scaleTargetRef',
  'pollingInterval',
  'cooldownPeriod',
  'initialCooldownPeriod',
  'idleReplicaCount',
  'minReplicaCount',
  'maxReplicaCount',
  'fallback',
  'advanced',
  'triggers',
]);
const REDIS_LIST_METADATA = new Set([
  'address',
  'addressFromEnv',
  'host',
  'hostFromEnv',
  'port',
  'portFromEnv',
  'passwordFromEnv',
  'usernameFromEnv',
  'databaseIndex',
  'enableTLS',
  'unsafeSsl',
  'listName',
  'listLength',
  'activationListLength',
]);

/** What KEDA's admission would refuse in a ScaledObject with a redis list trigger, one line each. */
function scaledObjectProblems(so: any): string[] {
  const out: string[] = [];
  if (so.apiVersion !== 'keda.sh/v1alpha1') out.push(`apiVersion ${so.apiVersion}`);
  if (!so.metadata?.name) out.push('metadata.name missing');
  for (const k of Object.keys(so.spec ?? {})) if (!SCALED_OBJECT_SPEC.has(k)) out.push(`spec.${k} unknown`);
  if (typeof so.spec?.scaleTargetRef?.name !== 'string') out.push('spec.scaleTargetRef.name missing');
  for (const k of ['pollingInterval', 'cooldownPeriod', 'minReplicaCount', 'maxReplicaCount']) {
    const v = so.spec?.[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) out.push(`spec.${k} is not a whole number`);
  }
  if (so.spec?.minReplicaCount > so.spec?.maxReplicaCount) out.push('minReplicaCount > maxReplicaCount');
  const advanced = so.spec?.advanced ?? {};
  for (const k of Object.keys(advanced)) {
    if (!['restoreToOriginalReplicaCount', 'horizontalPodAutoscalerConfig', 'scalingModifiers'].includes(k))
      out.push(`spec.advanced.${k} unknown`);
  }
  const triggers = so.spec?.triggers;
  if (!Array.isArray(triggers) || triggers.length === 0) out.push('spec.triggers empty');
  // scalingModifiers (KEDA 2.12+): a formula over the triggers' names, and a target as a string.
  const mod = advanced.scalingModifiers;
  if (mod) {
    for (const k of Object.keys(mod))
      if (!['formula', 'target', 'activationTarget', 'metricType'].includes(k))
        out.push(`spec.advanced.scalingModifiers.${k} unknown`);
    if (typeof mod.formula !== 'string' || typeof mod.target !== 'string')
      out.push('scalingModifiers: formula and target must be strings');
    const names = new Set((triggers ?? []).map((tr: { name?: string }) => tr.name));
    for (const id of String(mod.formula ?? '').match(/[A-Za-z_][\w-]*/g) ?? [])
      if (!names.has(id)) out.push(`scalingModifiers.formula names ${id}, no trigger's name`);
  }
  for (const [i, tr] of (triggers ?? []).entries()) {
    for (const k of Object.keys(tr))
      if (!['type', 'name', 'metadata', 'authenticationRef', 'metricType', 'useCachedMetrics'].includes(k))
        out.push(`triggers[${i}].${k} unknown`);
    if (typeof tr.type !== 'string') out.push(`triggers[${i}].type missing`);
    // KEDA's metadata is map[string]string: every value a string.
    for (const [k, v] of Object.entries(tr.metadata ?? {})) {
      if (typeof v !== 'string') out.push(`triggers[${i}].metadata.${k} is not a string`);
      if (tr.type === 'redis' && !REDIS_LIST_METADATA.has(k))
        out.push(`triggers[${i}].metadata.${k} unknown`);
    }
    if (tr.type === 'redis' && !tr.metadata?.listName) out.push(`triggers[${i}].metadata.listName missing`);
  }
  return out;
}
