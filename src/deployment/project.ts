/**
 * What a project is, read from its files: the kind (Node, Python, Go), how it is built and started, the port it
 * listens on, its health endpoint, and the services its description names. The deployment templates are written
 * from this.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export type ProjectKind = 'node' | 'python' | 'go';
export const PROJECT_KINDS: readonly ProjectKind[] = ['node', 'python', 'go'];

/** Services a stack may need beside the app, as the description or the caller names them. */
export type ServiceKind = 'redis' | 'postgres' | 'mysql' | 'mongodb' | 'rabbitmq' | 'nginx';

export interface NodeFacts {
  /** Major version from engines.node or .nvmrc (20 when neither says). */
  nodeMajor: number;
  lockfile: boolean;
  /** `npm run build` exists. */
  build: boolean;
  /** Where the build writes (tsconfig's outDir, else dist), when there is a build. */
  outDir: string;
  /** The package has a prepare script, which needs the sources: install with --ignore-scripts first. */
  prepare: boolean;
  /** Dependencies with a native add-on, rebuilt after an install with --ignore-scripts. */
  native: string[];
  /** What the package ships besides its build output (package.json `files`), copied into the runtime image. */
  runtimeFiles: string[];
}

export interface PythonFacts {
  requirements: boolean;
  pyproject: boolean;
  framework: 'fastapi' | 'flask' | 'django' | undefined;
}

export interface Project {
  kind: ProjectKind;
  name: string;
  port: number;
  /** The command that starts it, as an exec-form argv. */
  start: string[];
  /** The path a health check asks (found in the code, else /). */
  health: string;
  services: ServiceKind[];
  /** Why the kind was chosen, said in the task's summary. */
  note: string | undefined;
  node?: NodeFacts;
  python?: PythonFacts;
  /** Go: the package to build (`.` or `./cmd/<name>`). */
  goMain?: string;
  /** Go: the toolchain version go.mod names. */
  goVersion?: string;
  /** Debian packages the app runs at run time (git, when the code runs it). */
  systemPackages?: string[];
}

/** The code runs git as a child process. */
function runsGit(code: string): boolean {
  return /[[(]\s*['"]git['"]\s*[,)\]]/.test(code);
}

const DEFAULT_PORT: Record<ProjectKind, number> = { node: 3000, python: 8000, go: 8080 };
const NATIVE = [
  'better-sqlite3',
  'sqlite3',
  'bcrypt',
  'argon2',
  'sharp',
  'canvas',
  'node-pty',
  're2',
  'cpu-features',
];
const SERVICE_WORDS: [ServiceKind, RegExp][] = [
  ['redis', /\bredis\b/i],
  ['postgres', /\bpostgres(ql)?\b|\bpg\b/i],
  ['mysql', /\bmysql\b|\bmariadb\b/i],
  ['mongodb', /\bmongo(db)?\b/i],
  ['rabbitmq', /\brabbit(mq)?\b|\bamqp\b/i],
  ['nginx', /\bnginx\b|reverse proxy/i],
];

/** A name Kubernetes and compose accept: lower-case letters, digits and `-`. */
export function serviceName(text: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return cleaned === '' ? 'app' : cleaned;
}

/** The services named in a description and in an explicit list (unknown names in the list are ignored). */
export function servicesNamed(description: string, listed: readonly string[] = []): ServiceKind[] {
  const text = [description, ...listed].join(' ');
  return SERVICE_WORDS.filter(([, re]) => re.test(text)).map(([kind]) => kind);
}

async function text(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}

/** Source files to read for a port or a health route: the top level and a few source folders, bounded. */
async function sources(dir: string, exts: RegExp): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string, depth: number): Promise<void> => {
    if (out.length >= 200 || depth > 4) return;
    const entries = await readdir(join(dir, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (
        e.name.startsWith('.') ||
        ['node_modules', 'dist', 'build', 'vendor', 'test', 'tests', '__pycache__', 'venv'].includes(e.name)
      )
        continue;
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(path, depth + 1);
      else if (exts.test(e.name)) out.push(path);
    }
  };
  await walk('', 0);
  return out;
}

/** The port the code defaults to, and its health route, from the sources and .env.example. */
async function readCode(
  dir: string,
  exts: RegExp,
): Promise<{ port?: number; health?: string; code: string }> {
  let code = '';
  for (const file of await sources(dir, exts)) {
    const t = await text(join(dir, file));
    if (t !== undefined && t.length < 200_000) code += `\n${t}`;
    if (code.length > 2_000_000) break;
  }
  const envExample = (await text(join(dir, '.env.example'))) ?? (await text(join(dir, '.env.sample'))) ?? '';
  const patterns = [
    /^PORT\s*=\s*(\d{2,5})\s*$/m,
    /\bPORT\b[^\n]{0,80}?\.default\(\s*['"]?(\d{2,5})/,
    /\bPORT\b['"]?\]?\)?\s*(?:\|\||\?\?|,|or)\s*['"]?(\d{2,5})/,
    /\.listen\(\s*(\d{2,5})/,
    /\bport\s*=\s*(\d{2,5})\b/,
    /ListenAndServe\(\s*"[^":]*:(\d{2,5})"/,
    /"\s*:(\d{2,5})"/,
  ];
  let port: number | undefined;
  for (const re of patterns) {
    const m = re.exec(re === patterns[0] ? envExample : code);
    if (m?.[1]) {
      port = Number(m[1]);
      break;
    }
  }
  const health = ['/health', '/healthz', '/api/health', '/ping'].find((p) =>
    new RegExp(`['"\`]${p}['"\`]`).test(code),
  );
  return { ...(port !== undefined ? { port } : {}), ...(health !== undefined ? { health } : {}), code };
}

function describedPort(description: string): number | undefined {
  const m =
    /\bport\s*:?\s*(\d{2,5})\b/i.exec(description) ??
    /\b(?:on|listens? on)\s+:?(\d{4,5})\b/i.exec(description);
  const n = m ? Number(m[1]) : undefined;
  return n !== undefined && n > 0 && n < 65536 ? n : undefined;
}

/** `node file args` from a start script, so node (not npm) is the process that gets the signals. */
function nodeStart(script: string | undefined, main: string): string[] {
  if (script !== undefined) {
    const words = script.trim().split(/\s+/);
    if (words[0] === 'node' && words.length >= 2 && words.every((w) => /^[\w./@:=-]+$/.test(w))) return words;
    return ['npm', 'start'];
  }
  return ['node', main];
}

/** package.json `files` less the build output and the docs: what must be in the image beside the build. */
async function shippedFiles(dir: string, files: unknown, outDir: string): Promise<string[]> {
  if (!Array.isArray(files)) return [];
  const out: string[] = [];
  for (const f of files) {
    if (typeof f !== 'string' || /[*!]/.test(f)) continue;
    const path = f.replace(/^\.\//, '').replace(/\/$/, '');
    if (path === outDir || /^(README|LICENSE|CHANGELOG)/i.test(path)) continue;
    if ((await stat(join(dir, path)).catch(() => undefined)) !== undefined) out.push(path);
  }
  return out;
}

type NodeParts = Omit<Project, 'services' | 'note' | 'port' | 'health'> & {
  code: { port?: number; health?: string; code: string };
};

async function nodeProject(dir: string, pkgText: string, folderName: string): Promise<NodeParts> {
  let pkg: Record<string, unknown> = {};
  try {
    pkg = JSON.parse(pkgText) as Record<string, unknown>;
  } catch {
    // A package.json that does not parse still says "node"; the defaults apply.
  }
  const scripts = (pkg.scripts ?? {}) as Record<string, unknown>;
  const deps = { ...((pkg.dependencies ?? {}) as Record<string, unknown>) };
  const engines =
    typeof (pkg.engines as { node?: unknown } | undefined)?.node === 'string'
      ? (pkg.engines as { node: string }).node
      : '';
  const nvmrc = (await text(join(dir, '.nvmrc'))) ?? '';
  const major = Number(/(\d{2})/.exec(engines)?.[1] ?? /(\d{2})/.exec(nvmrc)?.[1] ?? 20);
  const build = typeof scripts.build === 'string';
  const tsconfig =
    (await text(join(dir, 'tsconfig.build.json'))) ?? (await text(join(dir, 'tsconfig.json'))) ?? '';
  const outDir = /"outDir"\s*:\s*"\.?\/?([\w./-]+?)\/?"/.exec(tsconfig)?.[1] ?? 'dist';
  const main = typeof pkg.main === 'string' ? pkg.main : 'index.js';
  const rawName = typeof pkg.name === 'string' ? pkg.name.replace(/^@[^/]+\//, '') : folderName;
  return {
    kind: 'node',
    name: serviceName(rawName),
    start: nodeStart(typeof scripts.start === 'string' ? scripts.start : undefined, main),
    node: {
      nodeMajor: major >= 18 && major <= 30 ? major : 20,
      lockfile: (await text(join(dir, 'package-lock.json'))) !== undefined,
      build,
      outDir: outDir === 'dist-check' ? 'dist' : outDir,
      prepare: typeof scripts.prepare === 'string',
      native: NATIVE.filter((n) => n in deps),
      runtimeFiles: await shippedFiles(dir, pkg.files, outDir),
    },
    code: await readCode(dir, /\.(m?[jt]s|cjs)$/),
  };
}

function pythonStart(
  framework: PythonFacts['framework'],
  entry: string,
  code: string,
  port: number,
  gunicorn: boolean,
): string[] {
  const module = entry.replace(/\.py$/, '').replace(/\//g, '.');
  if (framework === 'fastapi') {
    const app = /^(\w+)\s*=\s*FastAPI\(/m.exec(code)?.[1] ?? 'app';
    return ['uvicorn', `${module}:${app}`, '--host', '0.0.0.0', '--port', String(port)];
  }
  if (framework === 'flask' && gunicorn) {
    const app = /^(\w+)\s*=\s*Flask\(/m.exec(code)?.[1] ?? 'app';
    return ['gunicorn', '--bind', `0.0.0.0:${port}`, `${module}:${app}`];
  }
  return ['python', entry];
}

/**
 * Reads the project in `dir`. `declared` (the caller's project_type) wins when it names a known kind; otherwise
 * the files decide. Undefined when neither says what the project is. `folderName` is the project folder's name as
 * the caller knows it: a task reads a worktree or a copy whose own folder is named after the task, not the project.
 */
export async function detectProject(
  dir: string,
  description: string,
  declared?: string,
  listedServices: readonly string[] = [],
  folderName: string = dir.split('/').pop() ?? 'app',
): Promise<Project | undefined> {
  const declaredKind = PROJECT_KINDS.find(
    (k) =>
      declared?.toLowerCase().includes(k) ||
      (k === 'node' && /typescript|javascript|express/i.test(declared ?? '')),
  );
  const pkgText = await text(join(dir, 'package.json'));
  const requirements = await text(join(dir, 'requirements.txt'));
  const pyproject = await text(join(dir, 'pyproject.toml'));
  const gomod = await text(join(dir, 'go.mod'));
  const found: ProjectKind | undefined =
    pkgText !== undefined
      ? 'node'
      : requirements !== undefined || pyproject !== undefined
        ? 'python'
        : gomod !== undefined
          ? 'go'
          : undefined;
  const kind = declaredKind ?? found;
  if (!kind) return undefined;
  const note =
    declaredKind && found && declaredKind !== found
      ? `project_type "${declared}" was followed although the files look like a ${found} project`
      : !found
        ? `no ${kind} project files were found: the files follow project_type "${declared}" and the usual defaults`
        : undefined;
  const folder = serviceName(folderName);
  const services = servicesNamed(description, listedServices);
  const portOf = (code: { port?: number }): number =>
    describedPort(description) ?? code.port ?? DEFAULT_PORT[kind];

  if (kind === 'node') {
    const p = await nodeProject(dir, pkgText ?? '{}', folderName);
    const { code, ...rest } = p;
    return {
      ...rest,
      port: portOf(code),
      health: code.health ?? '/',
      services,
      note,
      ...(runsGit(code.code) ? { systemPackages: ['git', 'ca-certificates'] } : {}),
    };
  }
  if (kind === 'python') {
    const code = await readCode(dir, /\.py$/);
    const deps = `${requirements ?? ''}\n${pyproject ?? ''}`.toLowerCase();
    const framework = /\bfastapi\b/.test(deps)
      ? 'fastapi'
      : /\bflask\b/.test(deps)
        ? 'flask'
        : /\bdjango\b/.test(deps)
          ? 'django'
          : undefined;
    const candidates = ['main.py', 'app.py', 'app/main.py', 'src/main.py', 'server.py', 'manage.py'];
    const files = await sources(dir, /\.py$/);
    const entry = candidates.find((c) => files.includes(c)) ?? 'app.py';
    const port = portOf(code);
    const start =
      framework === 'django'
        ? ['python', 'manage.py', 'runserver', `0.0.0.0:${port}`]
        : pythonStart(framework, entry, code.code, port, /\bgunicorn\b/.test(deps));
    return {
      kind,
      name: folder,
      port,
      start,
      health: code.health ?? '/',
      services,
      note,
      python: { requirements: requirements !== undefined, pyproject: pyproject !== undefined, framework },
      ...(runsGit(code.code) ? { systemPackages: ['git', 'ca-certificates'] } : {}),
    };
  }
  const code = await readCode(dir, /\.go$/);
  const module = /^module\s+(\S+)/m.exec(gomod ?? '')?.[1] ?? folder;
  const cmds = await readdir(join(dir, 'cmd'), { withFileTypes: true }).catch(() => []);
  const cmd = cmds.find((e) => e.isDirectory());
  const rootMain = (await text(join(dir, 'main.go'))) !== undefined;
  return {
    kind,
    name: serviceName(module.split('/').pop() ?? folder),
    port: portOf(code),
    start: ['/app/server'],
    health: code.health ?? '/',
    services,
    note,
    goMain: rootMain || !cmd ? '.' : `./cmd/${cmd.name}`,
    goVersion: /^go\s+(\d+\.\d+)/m.exec(gomod ?? '')?.[1] ?? '1.22',
  };
}
