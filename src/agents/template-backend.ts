import { access, mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { detectProject, type Project } from '../deployment/project.js';
import {
  composeEnvExample,
  composeFor,
  dockerfileFor,
  dockerignoreFor,
  k8sFor,
  nginxConfFor,
} from '../deployment/templates.js';
import type { Backend, BackendOutcome, BackendRunContext } from './types.js';

export { detectProject, type Project };

async function present(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The files a skill gets from the templates, by path relative to the workdir. */
async function filesFor(
  skill: string,
  p: Project,
  input: Record<string, unknown>,
  workdir: string,
): Promise<Record<string, string> | undefined> {
  switch (skill) {
    case 'generate_dockerfile':
      return { Dockerfile: dockerfileFor(p), '.dockerignore': dockerignoreFor(p) };
    case 'generate_docker_compose': {
      const files: Record<string, string> = { 'docker-compose.yml': composeFor(p) };
      // The compose file builds the app: give it a Dockerfile when there is none.
      if (!(await present(join(workdir, 'Dockerfile')))) {
        files.Dockerfile = dockerfileFor(p);
        files['.dockerignore'] = dockerignoreFor(p);
      }
      if (p.services.includes('nginx')) files['nginx/default.conf'] = nginxConfFor(p);
      const env = composeEnvExample(p);
      if (env !== undefined && !(await present(join(workdir, '.env.example')))) files['.env.example'] = env;
      return files;
    }
    case 'generate_k8s_manifests':
      return k8sFor(p, {
        image: str(input.image),
        replicas: typeof input.replicas === 'number' ? input.replicas : undefined,
        namespace: str(input.namespace),
      });
    default:
      return undefined;
  }
}

/** The last segment of the workdir the caller named ("." and ".." name no folder of their own). */
function callerFolderName(workdir: unknown): string | undefined {
  if (typeof workdir !== 'string') return undefined;
  const last = basename(workdir.trim().replace(/\/+$/, ''));
  return last === '' || last === '.' || last === '..' ? undefined : last;
}

/**
 * The built-in template backend: no model, no CLI. For the deployment-file skills it reads the project (Node,
 * Python, Go: build and start commands, port, health route, the services the description names) and writes sound
 * defaults (multi-stage builds, a non-root user, health checks, probes and resource requests). The gateway uses
 * it when a generation skill's coding agent is not installed (TEMPLATE_FALLBACK), or where the config maps a skill
 * to it.
 */
export class TemplateBackend implements Backend {
  readonly type = 'template';

  constructor(readonly name: string) {}

  async run(ctx: BackendRunContext): Promise<BackendOutcome> {
    const { spec, emit } = ctx;
    const started = Date.now();
    const input = spec.input;
    const description = str(input.project_description) ?? '';
    const declared = str(input.project_type);
    const listed = Array.isArray(input.services)
      ? input.services.filter((s): s is string => typeof s === 'string')
      : [];
    const project = await detectProject(
      spec.workdir,
      description,
      declared,
      listed,
      callerFolderName(input.workdir) ?? basename(spec.workdir),
    );
    if (!project) {
      return {
        status: 'failed',
        summary: '',
        reason: `the template backend could not tell the project type of ${spec.workdir}${declared ? ` (project_type "${declared}" is none of node, python, go)` : ''}: it looks for package.json (Node), requirements.txt or pyproject.toml (Python) and go.mod (Go) at the top of the workdir, or a project_type of node, python or go`,
      };
    }
    const files = await filesFor(spec.skill, project, input, spec.workdir);
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
    const facts = [
      `start ${JSON.stringify(project.start.join(' '))}`,
      `port ${project.port}`,
      `health check on ${project.health}`,
      ...(project.services.length > 0 ? [`services: ${project.services.join(', ')}`] : []),
    ].join('; ');
    return {
      status: 'completed',
      summary: `Wrote ${written} from the built-in templates for a ${project.kind} project (service "${project.name}"; ${facts}).${project.note ? ` Note: ${project.note}.` : ''} These are defaults without a model: review the base image, start command and resources.`,
      usage: { durationMs: Date.now() - started },
    };
  }
}
