/**
 * Deployment files written from a Project without a model: a Dockerfile and .dockerignore, a compose file with the
 * services the description names (and an nginx config when nginx is one), and Kubernetes manifests. The same
 * choices as the gateway's own files: multi-stage builds, production dependencies only, a non-root user, an
 * init process, a health check on the app's health route, pinned images.
 */
import type { Project, ServiceKind } from './project.js';

function execForm(argv: readonly string[]): string {
  return `[${argv.map((a) => JSON.stringify(a)).join(', ')}]`;
}

const HEADER = (p: Project): string =>
  `# Written by a2a-gateway's template backend for the ${p.kind} project "${p.name}" (no model): review it before use.\n`;

/** The health check command, as argv, for the image of a project kind. */
export function healthCommand(p: Project): string[] {
  const url = `http://127.0.0.1:${p.port}${p.health}`;
  switch (p.kind) {
    case 'node':
      return ['node', '-e', `fetch('${url}').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`];
    case 'python':
      return ['python', '-c', `import urllib.request; urllib.request.urlopen('${url}', timeout=4)`];
    case 'go':
      return ['wget', '-q', '-O', '/dev/null', url];
  }
}

/** The user the image runs as (uid), for the Kubernetes security context. */
export function imageUid(p: Project): number {
  return p.kind === 'node' ? 1000 : 10001;
}

function apt(packages: readonly string[]): string {
  return `RUN apt-get update \\\n  && apt-get install -y --no-install-recommends ${packages.join(' ')} \\\n  && rm -rf /var/lib/apt/lists/*\n`;
}

const HEALTHCHECK = (p: Project): string =>
  `HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \\\n  CMD ${execForm(healthCommand(p))}\n`;

function nodeDockerfile(p: Project): string {
  const n = p.node ?? {
    nodeMajor: 20,
    lockfile: false,
    build: false,
    outDir: 'dist',
    prepare: false,
    native: [],
    runtimeFiles: [],
  };
  const base = `node:${n.nodeMajor}-bookworm-slim`;
  const install = n.lockfile ? 'npm ci' : 'npm install';
  const flags = '--no-audit --no-fund';
  // A prepare script needs the sources, which come after the install (for the layer cache): skip scripts, then
  // run the native add-ons' own install steps.
  const ignore = n.prepare ? ' --ignore-scripts' : '';
  const rebuild = n.prepare && n.native.length > 0 ? ` \\\n  && npm rebuild ${n.native.join(' ')}` : '';
  const omit = n.build ? '' : ' --omit=dev';
  const runtimePkgs = ['tini', ...(p.systemPackages ?? [])];
  return `# syntax=docker/dockerfile:1
${HEADER(p)}
FROM ${base} AS build
${n.native.length > 0 ? apt(['python3', 'make', 'g++']) : ''}WORKDIR /app
COPY ${n.lockfile ? 'package.json package-lock.json' : 'package.json'} ./
RUN ${install}${omit}${ignore} ${flags}${rebuild}
COPY . .
${n.build ? `RUN npm run build \\\n  && npm prune --omit=dev --ignore-scripts ${flags}\n` : ''}
FROM ${base} AS runtime
${apt(runtimePkgs)}ENV NODE_ENV=production \\
  PORT=${p.port}
WORKDIR /app
${
  n.build
    ? `COPY --from=build /app/package.json ./package.json\nCOPY --from=build /app/node_modules ./node_modules\nCOPY --from=build /app/${n.outDir} ./${n.outDir}\n${n.runtimeFiles.map((f) => `COPY --from=build /app/${f} ./${f}\n`).join('')}`
    : 'COPY --from=build /app ./\n'
}USER node
EXPOSE ${p.port}
${HEALTHCHECK(p)}ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ${execForm(p.start)}
`;
}

function pythonDockerfile(p: Project): string {
  const py = p.python ?? { requirements: false, pyproject: false, framework: undefined };
  const deps = py.requirements
    ? 'COPY requirements.txt ./\nRUN pip install -r requirements.txt\nCOPY . .\n'
    : py.pyproject
      ? 'COPY . .\nRUN pip install .\n'
      : 'COPY . .\n';
  return `# syntax=docker/dockerfile:1
${HEADER(p)}
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 \\
  PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
${deps}
FROM python:3.12-slim AS runtime
${(p.systemPackages ?? []).length > 0 ? apt(p.systemPackages ?? []) : ''}ENV PYTHONDONTWRITEBYTECODE=1 \\
  PYTHONUNBUFFERED=1 \\
  PATH=/opt/venv/bin:$PATH \\
  PORT=${p.port}
RUN useradd --system --uid 10001 --create-home --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
USER app
EXPOSE ${p.port}
${HEALTHCHECK(p)}CMD ${execForm(p.start)}
`;
}

function goDockerfile(p: Project): string {
  return `# syntax=docker/dockerfile:1
${HEADER(p)}
FROM golang:${p.goVersion ?? '1.22'}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum* ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/server ${p.goMain ?? '.'}

FROM alpine:3.20 AS runtime
RUN addgroup -S -g 10001 app \\
  && adduser -S -D -H -u 10001 -G app app
COPY --from=build /out/server /app/server
ENV PORT=${p.port}
USER app
EXPOSE ${p.port}
${HEALTHCHECK(p)}ENTRYPOINT ${execForm(p.start)}
`;
}

export function dockerfileFor(p: Project): string {
  switch (p.kind) {
    case 'node':
      return nodeDockerfile(p);
    case 'python':
      return pythonDockerfile(p);
    case 'go':
      return goDockerfile(p);
  }
}

/** Leaves out what the image builds or installs itself, local state and secrets. */
export function dockerignoreFor(p: Project): string {
  const lines = [
    '.git',
    '.env',
    '.env.*',
    '!.env.example',
    '*.log',
    'coverage',
    'Dockerfile',
    '.dockerignore',
    'docker-compose*.yml',
    'k8s',
  ];
  if (p.kind === 'node') lines.push('node_modules', ...(p.node?.build ? [p.node.outDir] : []));
  if (p.kind === 'python') lines.push('__pycache__', '*.pyc', '.venv', 'venv', '.pytest_cache');
  if (p.kind === 'go') lines.push('bin', 'vendor');
  return `${lines.join('\n')}\n`;
}

interface ServiceSpec {
  image: string;
  env?: Record<string, string>;
  command?: string[];
  volume?: string;
  health: string[];
  /** What the app is told to reach it. */
  appEnv: Record<string, string>;
  /** Variables the caller sets in .env. */
  secrets?: Record<string, string>;
}

const SERVICES: Record<Exclude<ServiceKind, 'nginx'>, ServiceSpec> = {
  redis: {
    image: 'redis:7.4-alpine',
    command: ['redis-server', '--appendonly', 'yes'],
    volume: '/data',
    health: ['CMD', 'redis-cli', 'ping'],
    appEnv: { REDIS_URL: 'redis://redis:6379' },
  },
  postgres: {
    image: 'postgres:16-alpine',
    env: {
      POSTGRES_USER: 'app',
      POSTGRES_DB: 'app',
      POSTGRES_PASSWORD: '${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}',
    },
    volume: '/var/lib/postgresql/data',
    health: ['CMD', 'pg_isready', '-U', 'app', '-d', 'app'],
    appEnv: { DATABASE_URL: 'postgres://app:${POSTGRES_PASSWORD}@postgres:5432/app' },
    secrets: { POSTGRES_PASSWORD: 'change-me' },
  },
  mysql: {
    image: 'mysql:8.4',
    env: {
      MYSQL_DATABASE: 'app',
      MYSQL_USER: 'app',
      MYSQL_PASSWORD: '${MYSQL_PASSWORD:?set MYSQL_PASSWORD in .env}',
      MYSQL_RANDOM_ROOT_PASSWORD: 'yes',
    },
    volume: '/var/lib/mysql',
    health: ['CMD', 'mysqladmin', 'ping', '-h', '127.0.0.1'],
    appEnv: { DATABASE_URL: 'mysql://app:${MYSQL_PASSWORD}@mysql:3306/app' },
    secrets: { MYSQL_PASSWORD: 'change-me' },
  },
  mongodb: {
    image: 'mongo:7.0',
    volume: '/data/db',
    health: ['CMD', 'mongosh', '--quiet', '--eval', "db.adminCommand('ping')"],
    appEnv: { MONGODB_URL: 'mongodb://mongodb:27017/app' },
  },
  rabbitmq: {
    image: 'rabbitmq:3.13-alpine',
    volume: '/var/lib/rabbitmq',
    health: ['CMD', 'rabbitmq-diagnostics', '-q', 'ping'],
    appEnv: { AMQP_URL: 'amqp://guest:guest@rabbitmq:5672' },
  },
};

function yamlList(items: readonly string[], indent: string): string {
  return items.map((i) => `${indent}- ${JSON.stringify(i)}`).join('\n');
}

const HEALTH_TIMING = (indent: string): string =>
  `${indent}interval: 15s\n${indent}timeout: 5s\n${indent}retries: 5\n${indent}start_period: 20s`;

/** docker-compose.yml: the app (built here), each named service with a health check and a volume, nginx in front. */
export function composeFor(p: Project): string {
  const backing = p.services.filter((s): s is Exclude<ServiceKind, 'nginx'> => s !== 'nginx');
  const nginx = p.services.includes('nginx');
  const env: Record<string, string> = { PORT: String(p.port) };
  for (const s of backing) Object.assign(env, SERVICES[s].appEnv);
  const out: string[] = [`# ${HEADER(p).slice(2)}services:`];
  out.push(
    `  ${p.name}:`,
    '    build: .',
    `    image: ${p.name}:dev`,
    '    restart: unless-stopped',
    '    environment:',
  );
  for (const [k, v] of Object.entries(env)) out.push(`      ${k}: ${JSON.stringify(v)}`);
  if (nginx) out.push('    expose:', `      - "${p.port}"`);
  else out.push('    ports:', `      - "${p.port}:${p.port}"`);
  if (backing.length > 0) {
    out.push('    depends_on:');
    for (const s of backing) out.push(`      ${s}:`, '        condition: service_healthy');
  }
  out.push(
    '    healthcheck:',
    '      test:',
    yamlList(['CMD', ...healthCommand(p)], '        '),
    HEALTH_TIMING('      '),
  );
  for (const s of backing) {
    const spec = SERVICES[s];
    out.push(`  ${s}:`, `    image: ${spec.image}`, '    restart: unless-stopped');
    if (spec.command) out.push('    command:', yamlList(spec.command, '      '));
    if (spec.env) {
      out.push('    environment:');
      for (const [k, v] of Object.entries(spec.env)) out.push(`      ${k}: ${JSON.stringify(v)}`);
    }
    if (spec.volume) out.push('    volumes:', `      - ${s}-data:${spec.volume}`);
    out.push('    healthcheck:', '      test:', yamlList(spec.health, '        '), HEALTH_TIMING('      '));
  }
  if (nginx) {
    out.push(
      '  nginx:',
      '    image: nginx:1.27-alpine',
      '    restart: unless-stopped',
      '    ports:',
      '      - "8080:80"',
      '    volumes:',
      '      - ./nginx/default.conf:/etc/nginx/conf.d/default.conf:ro',
      '    depends_on:',
      `      ${p.name}:`,
      '        condition: service_healthy',
      '    healthcheck:',
      '      test:',
      yamlList(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1/nginx-health'], '        '),
      HEALTH_TIMING('      '),
    );
  }
  const volumes = backing.filter((s) => SERVICES[s].volume);
  if (volumes.length > 0) {
    out.push('volumes:');
    for (const s of volumes) out.push(`  ${s}-data:`);
  }
  return `${out.join('\n')}\n`;
}

/** The variables the compose file reads from .env, with example values. */
export function composeEnvExample(p: Project): string | undefined {
  const vars: Record<string, string> = {};
  for (const s of p.services) if (s !== 'nginx') Object.assign(vars, SERVICES[s].secrets ?? {});
  const entries = Object.entries(vars);
  if (entries.length === 0) return undefined;
  return `# Copy to .env and set real values (never commit .env).\n${entries.map(([k, v]) => `${k}=${v}`).join('\n')}\n`;
}

/** nginx in front of the app: no buffering (streams pass as they come), client address and scheme forwarded. */
export function nginxConfFor(p: Project): string {
  return `upstream app {
    server ${p.name}:${p.port};
    keepalive 16;
}

server {
    listen 80;
    client_max_body_size 10m;

    location = /nginx-health {
        access_log off;
        return 200 "ok\\n";
    }

    location / {
        proxy_pass http://app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_buffering off;
        proxy_read_timeout 300s;
    }
}
`;
}

export interface K8sOptions {
  image?: string | undefined;
  replicas?: number | undefined;
  namespace?: string | undefined;
}

/** Kubernetes manifests in k8s/: Deployment (probes on the health route, restricted security), Service, kustomization. */
export function k8sFor(p: Project, opts: K8sOptions = {}): Record<string, string> {
  const labels = `app.kubernetes.io/name: ${p.name}`;
  const image = opts.image ?? `REGISTRY/${p.name}:TAG`;
  const uid = imageUid(p);
  const files: Record<string, string> = {
    'k8s/deployment.yaml': `${HEADER(p)}apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${p.name}
  labels:
    ${labels}
spec:
  replicas: ${opts.replicas ?? 2}
  selector:
    matchLabels:
      ${labels}
  template:
    metadata:
      labels:
        ${labels}
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: ${uid}
        runAsGroup: ${uid}
        fsGroup: ${uid}
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: ${p.name}
          image: ${image}
          ports:
            - name: http
              containerPort: ${p.port}
              protocol: TCP
          env:
            - name: PORT
              value: "${p.port}"
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              memory: 512Mi
          startupProbe:
            httpGet:
              path: ${p.health}
              port: http
            periodSeconds: 2
            failureThreshold: 30
          readinessProbe:
            httpGet:
              path: ${p.health}
              port: http
            periodSeconds: 10
          livenessProbe:
            httpGet:
              path: ${p.health}
              port: http
            periodSeconds: 20
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: tmp
              mountPath: /tmp${
                p.kind === 'node'
                  ? `
            - name: home
              mountPath: /home/node`
                  : ''
              }
      volumes:
        - name: tmp
          emptyDir: {}${
            p.kind === 'node'
              ? `
        - name: home
          emptyDir: {}`
              : ''
          }
`,
    'k8s/service.yaml': `apiVersion: v1
kind: Service
metadata:
  name: ${p.name}
  labels:
    ${labels}
spec:
  selector:
    ${labels}
  ports:
    - name: http
      port: 80
      targetPort: http
      protocol: TCP
`,
  };
  const resources = ['deployment.yaml', 'service.yaml'];
  if (opts.namespace !== undefined) {
    files['k8s/namespace.yaml'] = `apiVersion: v1
kind: Namespace
metadata:
  name: ${opts.namespace}
  labels:
    pod-security.kubernetes.io/enforce: restricted
`;
    resources.unshift('namespace.yaml');
  }
  files['k8s/kustomization.yaml'] = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
${opts.namespace !== undefined ? `namespace: ${opts.namespace}\n` : ''}resources:
${resources.map((r) => `  - ${r}`).join('\n')}
`;
  return files;
}
