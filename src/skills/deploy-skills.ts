/** The skills that write deployment files: generate_dockerfile, generate_docker_compose, generate_k8s_manifests. */
import { z } from 'zod';
import { CHANGE_OUTPUT_MODES, defineSkill } from './define.js';
import { validateGenerated } from './generated-files.js';
import { projectDescription, projectType, workdir, workspaceOptions } from './fields.js';
import { fenced, preamble, quoted, sections, steps } from './prompt-text.js';

const DEPLOY_FINISH =
  'Finish with a short summary: the files you wrote, the choices you made and why (base images, ports, volumes, resources), the assumptions you had to make, and how you checked the files.';

function projectSection(input: { project_description: string; project_type?: string | undefined }): string {
  return sections(
    `The project, as the caller describes it:\n${fenced(input.project_description)}`,
    input.project_type !== undefined
      ? `Project type the caller gives: ${quoted(input.project_type)}.`
      : undefined,
  );
}

const dockerfileInput = z.strictObject({
  project_description: projectDescription,
  workdir,
  ...workspaceOptions,
  project_type: projectType,
});

/** generate_dockerfile: a production Dockerfile and .dockerignore at the project root. */
export const generateDockerfile = defineSkill({
  id: 'generate_dockerfile',
  name: 'Generate Dockerfile',
  description:
    'Writes a production-ready Dockerfile and .dockerignore at the project root (multi-stage build where it helps, pinned base image, non-root user, cached dependency layers, exec-form CMD), fitted to the project found in workdir, and returns a summary and the diff. Send project_description (plain text works), workdir and optionally project_type (node, python, go, ...).',
  tags: ['docker', 'dockerfile', 'deployment', 'containers'],
  examples: [
    'Write a Dockerfile for this Python FastAPI application served by uvicorn on port 8000.',
    '{"project_description": "A2A Gateway Python FastAPI application", "workdir": ".", "project_type": "python"}',
    '{"project_description": "Node 20 TypeScript API built with tsc, listening on 3000", "workdir": "/srv/repos/api", "project_type": "node"}',
  ],
  input: dockerfileInput,
  mainField: 'project_description',
  defaultBackend: 'claude',
  readOnly: false,
  deployment: true,
  returnsFiles: true,
  checkFiles: (files) => validateGenerated('generate_dockerfile', files),
  outputModes: CHANGE_OUTPUT_MODES,
  prompt: (input) =>
    sections(
      preamble('generate_dockerfile', false),
      'Task: write a production-ready Dockerfile and a .dockerignore at the root of the project in the current directory.',
      projectSection(input),
      steps(
        'Inspect the project first (dependency manifests, lock files, build scripts, entry point, the port it listens on) and trust what you find over the description where they differ; say so in your summary. If the directory is empty, work from the description alone.',
        'If a Dockerfile or .dockerignore already exists, improve it in place rather than starting over, and keep what is deliberate.',
        'Write Dockerfile: an official base image pinned to a specific version (never latest); a multi-stage build when there is a build step or build-only dependencies; dependency manifests copied and installed before the source so the layer caches; only what the app needs in the final image; a non-root user; EXPOSE for the port it listens on; a HEALTHCHECK if the app has a health endpoint; CMD or ENTRYPOINT in exec form.',
        'Write .dockerignore so the build context leaves out version control, dependencies installed on the host, build output, caches, local environment files and secrets.',
        'Do not put secrets in either file. If docker is available, build the image to check the Dockerfile (do not push it); otherwise say it was not built.',
      ),
      DEPLOY_FINISH,
    ),
});

const composeInput = z.strictObject({
  project_description: projectDescription,
  workdir,
  ...workspaceOptions,
  project_type: projectType,
  services: z
    .array(z.string().trim().min(1))
    .min(1)
    .optional()
    .describe('Services the stack needs besides the app: for example ["redis", "postgres", "nginx"].'),
});

/** generate_docker_compose: a docker-compose.yml for the project and the services it needs. */
export const generateDockerCompose = defineSkill({
  id: 'generate_docker_compose',
  name: 'Generate docker-compose',
  description:
    'Writes a docker-compose.yml at the project root that runs the project with the services it needs (databases, caches, proxies), with health checks, start-up order, named volumes and configuration from an .env file documented in .env.example, and returns a summary and the diff. Send project_description (plain text works), workdir, and optionally services.',
  tags: ['docker', 'docker-compose', 'deployment', 'containers'],
  examples: [
    '{"project_description": "A2A Gateway development environment with Redis and Nginx", "workdir": ".", "project_type": "compose"}',
    'Create a docker-compose setup for this Django app with Postgres and a Celery worker.',
    '{"project_description": "Go API with a Postgres database", "workdir": "/srv/repos/api", "services": ["postgres", "redis"]}',
  ],
  input: composeInput,
  mainField: 'project_description',
  defaultBackend: 'claude',
  readOnly: false,
  deployment: true,
  returnsFiles: true,
  checkFiles: (files) => validateGenerated('generate_docker_compose', files),
  outputModes: CHANGE_OUTPUT_MODES,
  prompt: (input) =>
    sections(
      preamble('generate_docker_compose', false),
      'Task: write a docker-compose.yml at the root of the project in the current directory that runs the project together with the services it needs.',
      projectSection(input),
      input.services !== undefined
        ? `Services the caller asks for besides the app: ${quoted(input.services)}.`
        : undefined,
      steps(
        'Inspect the project first (Dockerfile, dependency manifests, configuration, the environment variables it reads, the ports it listens on) and infer which services it needs. If the directory is empty, work from the description alone.',
        'If a compose file already exists, improve it in place rather than starting over.',
        'Build the app from the project (build: .) when it has a Dockerfile or needs one; write a Dockerfile too if the app must be built and there is none.',
        'Use official images pinned to specific versions (never latest), health checks for every service that supports them, depends_on with condition: service_healthy for start-up order, named volumes for data that must survive restarts, and a restart policy.',
        'Take configuration from environment variables loaded from a .env file, and write .env.example listing every variable with a safe example value. Never put real secrets in the files. Publish only the ports a person needs to reach.',
        'If docker is available, check the file with docker compose config (do not start the stack); otherwise say it was not checked.',
      ),
      DEPLOY_FINISH,
    ),
});

// A DNS-1123 label: what Kubernetes accepts as a namespace name.
const K8S_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const k8sInput = z.strictObject({
  project_description: projectDescription,
  workdir,
  ...workspaceOptions,
  project_type: projectType,
  image: z
    .string()
    .trim()
    .min(1)
    .optional()
    .describe(
      'Container image to deploy: for example ghcr.io/acme/api:1.4.2. Omit it for a placeholder the caller fills in.',
    ),
  replicas: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .describe('Number of replicas: an integer of at least 1 (default 2).'),
  namespace: z
    .string()
    .trim()
    .max(63)
    .regex(
      K8S_NAME,
      "a Kubernetes namespace name: lowercase letters, digits and '-', starting and ending with a letter or digit",
    )
    .optional()
    .describe('Kubernetes namespace to deploy into: omit it to leave the namespace to kubectl.'),
});

/** generate_k8s_manifests: Kubernetes manifests in k8s/, tied together by a kustomization. */
export const generateK8sManifests = defineSkill({
  id: 'generate_k8s_manifests',
  name: 'Generate Kubernetes manifests',
  description:
    'Writes Kubernetes manifests for the project in a k8s/ directory (Deployment with probes, resource requests and limits and a restricted security context; Service; ConfigMap where needed; kustomization.yaml), and returns a summary and the diff. Send project_description (plain text works), workdir, and optionally image, replicas and namespace.',
  tags: ['kubernetes', 'k8s', 'deployment', 'manifests'],
  examples: [
    'Write Kubernetes manifests for this API: it listens on 8080 and has /healthz.',
    '{"project_description": "A2A Gateway Python FastAPI application with Redis", "workdir": ".", "image": "ghcr.io/acme/a2a-gateway:1.0.0", "replicas": 3, "namespace": "a2a"}',
  ],
  input: k8sInput,
  mainField: 'project_description',
  defaultBackend: 'claude',
  readOnly: false,
  deployment: true,
  returnsFiles: true,
  checkFiles: (files) => validateGenerated('generate_k8s_manifests', files),
  outputModes: CHANGE_OUTPUT_MODES,
  prompt: (input) =>
    sections(
      preamble('generate_k8s_manifests', false),
      'Task: write Kubernetes manifests for the project in the current directory, in a k8s/ directory at its root.',
      projectSection(input),
      [
        input.image !== undefined
          ? `Image to deploy: ${quoted(input.image)}.`
          : 'No image was given: use a clear placeholder such as REGISTRY/NAME:TAG and say so in your summary.',
        `Replicas: ${input.replicas ?? 2}.`,
        input.namespace !== undefined
          ? `Namespace: ${quoted(input.namespace)}; include a Namespace manifest and set it in kustomization.yaml.`
          : 'No namespace was given: leave metadata.namespace unset.',
      ].join('\n'),
      steps(
        'Inspect the project first (Dockerfile, the port it listens on, health endpoints, configuration and the environment variables it reads, anything it stores on disk). If the directory is empty, work from the description alone.',
        'If a k8s/ directory or other manifests already exist, improve them in place rather than starting over.',
        'Write one file per resource: deployment.yaml (the standard app.kubernetes.io labels, resource requests and limits, liveness and readiness probes on the health endpoint or the port, a security context with runAsNonRoot, no privilege escalation and all capabilities dropped, readOnlyRootFilesystem with an emptyDir for paths the app writes to), service.yaml, a configmap.yaml for non-secret configuration if any, and kustomization.yaml listing them. Put no secret values in the files; reference a Secret by name and list the keys it needs in your summary.',
        'If kubectl is available, check the manifests with kubectl kustomize k8s/ (do not apply them to a cluster); otherwise say they were not checked.',
      ),
      DEPLOY_FINISH,
    ),
});
