// Carries out a Dockerfile's stages without a Docker engine: each stage gets a directory that stands in for its
// filesystem root, and the stage's absolute paths (/app, /src, /opt/venv ...) are moved under it. WORKDIR, ENV,
// ARG, COPY (from the context or --from an earlier stage) and RUN are done; what needs the engine or root is noted
// and not run: apt-get and apk (their packages' commands must be on this machine instead), useradd, groupadd,
// adduser, addgroup. RUN steps run asynchronously, so a server in the calling process can answer them.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseDockerfile, stagesOf, type Stage } from '../../src/deployment/dockerfile.js';

export interface StageRun {
  root: string;
  env: Record<string, string>;
  /** The stage's working directory, under root. */
  cwd: string;
}

export interface StepsResult {
  stages: Stage[];
  runs: Map<string, StageRun>;
  /** What was not run, and why. */
  notRun: string[];
  /** Each RUN that ran, with its duration. */
  ran: string[];
}

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** `sh -c command`, without blocking this process. */
export function sh(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('close', (status) => resolve({ status, output }));
  });
}

// Packages an image installs, and the command on this machine that stands for each.
const COMMANDS: Record<string, string> = {
  python3: 'python3',
  make: 'make',
  'g++': 'g++',
  git: 'git',
  tini: 'tini',
};

/** The image's absolute paths moved under the stage's root (paths of the host, /usr/bin/... , are left alone). */
function mover(root: string): (text: string) => string {
  return (text) =>
    text.replace(
      /(^|[\s=:"'[,])(\/(?:app|src|out|opt|data|workspaces|home)(?=[/\s"',\]:]|$))/g,
      `$1${root}$2`,
    );
}

/**
 * Runs every stage of `dockerfile` (or those up to `upTo`) with `context` as the build context and `hostEnv` as the
 * base environment of RUN steps. `onRun` is told each step as it finishes.
 */
export async function runDockerfile(
  dockerfile: string,
  context: string,
  workDir: string,
  hostEnv: NodeJS.ProcessEnv,
  onRun: (line: string) => void = () => undefined,
): Promise<StepsResult> {
  const stages = stagesOf(parseDockerfile(dockerfile));
  const runs = new Map<string, StageRun>();
  const notRun: string[] = [];
  const ran: string[] = [];
  for (const [index, stage] of stages.entries()) {
    const name = stage.name ?? String(index);
    const root = join(workDir, `stage-${name}`);
    mkdirSync(root, { recursive: true });
    const move = mover(root);
    const run: StageRun = { root, env: {}, cwd: root };
    runs.set(name, run);
    for (const ins of stage.instructions) {
      const args = ins.args;
      switch (ins.keyword) {
        case 'WORKDIR':
          run.cwd = move(args);
          mkdirSync(run.cwd, { recursive: true });
          break;
        case 'ENV':
        case 'ARG':
          for (const m of args.matchAll(/(\w+)=("[^"]*"|\S*)/g)) {
            const value = m[2]!
              .replace(/^"|"$/g, '')
              .replace(
                /\$(\w+)|\$\{(\w+)\}/g,
                (_x, a?: string, b?: string) => run.env[a ?? b ?? ''] ?? hostEnv[a ?? b ?? ''] ?? '',
              );
            run.env[m[1]!] = move(value);
          }
          break;
        case 'COPY': {
          const words = args.split(/\s+/);
          const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
          const paths = words.filter((w) => !w.startsWith('--'));
          const destRaw = paths.pop()!;
          const dest = destRaw.startsWith('/') ? move(destRaw) : join(run.cwd, destRaw);
          for (const src of paths) {
            const fromRun = from !== undefined ? runs.get(from) : undefined;
            if (from !== undefined && !fromRun) throw new Error(`COPY --from=${from}: no such stage`);
            const sources = fromRun
              ? [join(fromRun.root, src)]
              : src.includes('*')
                ? (await sh(`ls -d ${src} 2>/dev/null || true`, context, hostEnv)).output
                    .split('\n')
                    .filter(Boolean)
                    .map((f) => join(context, f))
                : [join(context, src)];
            for (const source of sources) {
              const target =
                destRaw.endsWith('/') || paths.length > 1 || src.includes('*')
                  ? join(dest, source.split('/').pop()!)
                  : dest;
              cpSync(source, target, { recursive: true });
            }
          }
          break;
        }
        case 'RUN': {
          if (/\b(apt-get|apk)\b/.test(args) && /\b(install|add)\b/.test(args)) {
            const pkgs =
              /(?:--no-install-recommends|apk add(?: --no-cache)?) ([\w .+-]+?)\s*(?:&&|$)/
                .exec(args)?.[1]
                ?.trim()
                .split(/\s+/) ?? [];
            notRun.push(`${name}: install ${pkgs.join(' ')} (a package manager of the image)`);
            for (const p of pkgs) if (COMMANDS[p]) assert.ok(has(COMMANDS[p]), `${p} is on this machine`);
            break;
          }
          if (/\b(useradd|groupadd|adduser|addgroup)\b/.test(args)) {
            notRun.push(`${name}: ${args.split(/\s+/)[0]} ... (creates a system user: the engine's root)`);
            break;
          }
          const started = Date.now();
          const r = await sh(move(args), run.cwd, { ...hostEnv, ...run.env });
          assert.equal(r.status, 0, `RUN ${args}\n${r.output.slice(-3000)}`);
          const line = `${name}: RUN ${args.slice(0, 80)} (${((Date.now() - started) / 1000).toFixed(1)} s)`;
          ran.push(line);
          onRun(line);
          break;
        }
        default:
          break; // USER, VOLUME, EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD, STOPSIGNAL: read by the callers
      }
    }
  }
  return { stages, runs, notRun, ran };
}
