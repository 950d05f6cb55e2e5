import { readFile, mkdir, writeFile, access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Backend, BackendOutcome, BackendRunContext } from './types.js';

/** The project kinds the template backend knows, found from the files at the top of the workdir. */
export type ProjectKind = 'node' | 'python' | 'go';

interface Project {
  kind: ProjectKind;
  /** The port the service listens on: from the description ("port 3000") or the kind's usual one. */
  port: number;
  /** The command that starts it, as an exec-form argv. */
  start: string[];
  /** Node: a lockfile is there, so `npm ci` works. Python: requirements.txt is there. */
  lockfile: boolean;
  name: string;
}

const DEFAULT_PORT: Record<ProjectKind, number> = { node: 3000, python: 8000, go: 8080 };

async function present(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** A name Kubernetes and compose accept: lower-case letters, digits and `-`. */
function serviceName(text: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return cleaned === '' ? 'app' : cleaned;
}

/** Looks at the workdir's top-level files; undefined when it is none of the known kinds. */
export async function detectProject(dir: string, description: string): Promise<Project | undefined> {
  const portMatch = /\bport\s*:?\s*(\d{2,5})\b/i.exec(description);
  const described = portMatch ? Number(portMatch[1]) : undefined;
  const port = (kind: ProjectKind): number =>
    described !== undefined && described > 0 && described < 65536 ? described : DEFAULT_PORT[kind];
  const folder = serviceName(dir.split('/').pop() ?? 'app');

  const pkgText = await readFile(join(dir, 'package.json'), 'utf8').catch(() => undefined);
  if (pkgText !== undefined) {
    let pkg: Record<string, unknown> = {};
    try {
      pkg = JSON.parse(pkgText) as Record<string, unknown>;
    } catch {
      // A package.json that does not parse still says "node"; the defaults apply.
    }
    const scripts = (pkg.scripts ?? {}) as Record<string, unknown>;
    const main = typeof pkg.main === 'string' ? pkg.main : 'index.js';
    return {
      kind: 'node',
      port: port('node'),
      start: typeof scripts.start === 'string' ? ['npm', 'start'] : ['node', main],
      lockfile: await present(join(dir, 'package-lock.json')),
      name: serviceName(typeof pkg.name === 'string' ? pkg.name.replace(/^@[^/]+\//, '') : folder),
    };
  }
  const requirements = await present(join(dir, 'requirements.txt'));
  if (requirements || (await present(join(dir, 'pyproject.toml')))) {
    const entry = (await present(join(dir, 'app.py')))
      ? 'app.py'
      : (await present(join(dir, 'main.py')))
        ? 'main.py'
        : 'app.py';
    return {
      kind: 'python',
      port: port('python'),
      start: ['python', entry],
      lockfile: requirements,
      name: folder,
    };
  }
  const gomod = await readFile(join(dir, 'go.mod'), 'utf8').catch(() => undefined);
  if (gomod !== undefined) {
    const module = /^module\s+(\S+)/m.exec(gomod)?.[1] ?? folder;
    return {
      kind: 'go',
      port: port('go'),
      start: ['/app'],
      lockfile: true,
      name: serviceName(module.split('/').pop() ?? folder),
    };
  }
  return undefined;
}

function execForm(argv: readonly string[]): string {
  return `[${argv.map((a) => JSON.stringify(a)).join(', ')}]`;
}

export function dockerfileFor(p: Project): string {
  switch (p.kind) {
    case 'node':
      return `# syntax=docker/dockerfile:1
FROM node:20-slim AS deps
WORKDIR /app
COPY package*.json ./
RUN ${p.lockfile ? 'npm ci --omit=dev' : 'npm install --omit=dev'} && npm cache clean --force

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
USER node
EXPOSE ${p.port}
CMD ${execForm(p.start)}
`;
    case 'python':
      return `# syntax=docker/dockerfile:1
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
${p.lockfile ? 'COPY requirements.txt ./\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY . .' : 'COPY . .\nRUN pip install --no-cache-dir .'}
RUN useradd --create-home --uid 10001 app
USER app
EXPOSE ${p.port}
CMD ${execForm(p.start)}
`;
    case 'go':
      return `# syntax=docker/dockerfile:1
FROM golang:1.22 AS build
WORKDIR /src
COPY go.* ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/app .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/app /app
EXPOSE ${p.port}
ENTRYPOINT ["/app"]
`;
  }
}

const DOCKERIGNORE = `.git
node_modules
__pycache__
*.pyc
.venv
.env
*.log
dist
coverage
`;

export function composeFor(p: Project): string {
  return `services:
  ${p.name}:
    build: .
    image: ${p.name}:latest
    ports:
      - "${p.port}:${p.port}"
    environment:
      PORT: "${p.port}"
    restart: unless-stopped
`;
}

export function k8sFor(p: Project): Record<string, string> {
  const labels = `app.kubernetes.io/name: ${p.name}`;
  return {
    'k8s/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${p.name}
  labels:
    ${labels}
spec:
  replicas: 2
  selector:
    matchLabels:
      ${labels}
  template:
    metadata:
      labels:
        ${labels}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
      containers:
        - name: ${p.name}
          image: ${p.name}:latest
          ports:
            - containerPort: ${p.port}
          env:
            - name: PORT
              value: "${p.port}"
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              memory: 512Mi
          readinessProbe:
            tcpSocket:
              port: ${p.port}
            periodSeconds: 10
          livenessProbe:
            tcpSocket:
              port: ${p.port}
            initialDelaySeconds: 15
            periodSeconds: 20
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: false
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
    - port: 80
      targetPort: ${p.port}
      protocol: TCP
`,
  };
}

/** The files a skill gets from the templates, by path relative to the workdir. */
function filesFor(skill: string, p: Project): Record<string, string> | undefined {
  switch (skill) {
    case 'generate_dockerfile':
      return { Dockerfile: dockerfileFor(p), '.dockerignore': DOCKERIGNORE };
    case 'generate_docker_compose':
      return { 'compose.yaml': composeFor(p) };
    case 'generate_k8s_manifests':
      return k8sFor(p);
    default:
      return undefined;
  }
}

/**
 * The built-in template backend: no model, no CLI. For the deployment-file skills it detects the project kind
 * (Node, Python, Go) and writes sound defaults (multi-stage builds, a non-root user, probes and resource requests).
 * The gateway uses it when a generation skill's coding agent is not installed (TEMPLATE_FALLBACK), or where the
 * config maps a skill to it.
 */
export class TemplateBackend implements Backend {
  readonly type = 'template';

  constructor(readonly name: string) {}

  async run(ctx: BackendRunContext): Promise<BackendOutcome> {
    const { spec, emit } = ctx;
    const started = Date.now();
    const description =
      typeof spec.input.project_description === 'string' ? spec.input.project_description : '';
    const declared = typeof spec.input.project_type === 'string' ? spec.input.project_type : undefined;
    const project = await detectProject(spec.workdir, description);
    if (!project) {
      return {
        status: 'failed',
        summary: '',
        reason: `the template backend could not tell the project type of ${spec.workdir}${declared ? ` (project_type "${declared}" was given)` : ''}: it looks for package.json (Node), requirements.txt or pyproject.toml (Python) and go.mod (Go) at the top of the workdir`,
      };
    }
    const files = filesFor(spec.skill, project);
    if (!files) {
      return {
        status: 'failed',
        summary: '',
        reason: `the template backend only writes deployment files (generate_dockerfile, generate_docker_compose, generate_k8s_manifests), not ${spec.skill}`,
      };
    }
    for (const [path, text] of Object.entries(files)) {
      if (ctx.signal.aborted) break;
      const target = join(spec.workdir, path);
      const existed = await present(target);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, text);
      emit({ type: 'file_change', path: target, kind: existed ? 'update' : 'add' });
    }
    const written = Object.keys(files).join(', ');
    return {
      status: 'completed',
      summary: `Wrote ${written} from the built-in templates for a ${project.kind} project (service "${project.name}", port ${project.port}). These are defaults without a model: review the base image, start command and resources.`,
      usage: { durationMs: Date.now() - started },
    };
  }
}
