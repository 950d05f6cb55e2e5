/**
 * The files a generation skill writes, and the checks deployment files pass before a task may succeed: YAML parses,
 * a Dockerfile starts with FROM and passes the linter's errors, a compose file fits the Compose Specification,
 * Kubernetes documents hold together, and the skill's main file exists at all.
 */
import { basename } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { checkCompose } from '../deployment/compose.js';
import { lintDockerfile } from '../deployment/dockerfile.js';
import { checkManifests } from '../deployment/kubernetes.js';

/** A file a task wrote, returned as an artifact of its own. */
export interface GeneratedFile {
  path: string;
  mediaType: string;
  text: string;
}

export function isYaml(path: string): boolean {
  return /\.ya?ml$/i.test(path);
}

/** Dockerfile, Dockerfile.prod, api.Dockerfile, Containerfile. */
export function isDockerfile(path: string): boolean {
  const name = basename(path);
  return /^(Dockerfile|Containerfile)(\.[\w.-]+)?$/.test(name) || /\.(Dockerfile|Containerfile)$/.test(name);
}

/**
 * The first instruction of a Dockerfile (after comments, parser directives, blank lines and `ARG`s, which may
 * come before it) must be FROM. Returns what is wrong, or undefined.
 */
export function checkDockerfile(text: string): string | undefined {
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const instruction = /^([A-Za-z]+)/.exec(line)?.[1]?.toUpperCase();
    if (instruction === 'ARG') continue;
    if (instruction === 'FROM') {
      if (!/^FROM\s+\S+/i.test(line)) return `line ${i + 1}: FROM names no image`;
      return undefined;
    }
    return `line ${i + 1}: the first instruction is ${instruction ?? JSON.stringify(line.slice(0, 40))}, expected FROM`;
  }
  return 'it has no FROM instruction (the file is empty)';
}

/** Parses every document of a YAML file; returns the first error, or undefined. */
export function checkYaml(text: string, requireKind: boolean): string | undefined {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const error = doc.errors[0];
    if (error) return error.message.split('\n')[0];
  }
  if (!requireKind) return undefined;
  for (const [i, doc] of list.entries()) {
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) return `document ${i + 1} is not a mapping`;
    const obj = value as Record<string, unknown>;
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
      return `document ${i + 1} has no apiVersion and kind, so it is not a Kubernetes manifest`;
    }
  }
  return undefined;
}

/** A compose file by its name: compose.yaml, docker-compose.yml, docker-compose.prod.yml ... */
function isComposeFile(path: string): boolean {
  return /^(docker-)?compose([.-][\w.-]+)?\.ya?ml$/.test(basename(path));
}

/**
 * Checks the files a generation skill wrote before the task may report success: YAML parses; a Dockerfile starts
 * with FROM and passes the linter's errors (syntax, unpinned or `latest` base images, root in the final stage,
 * shell-form CMD); a compose file is valid against the Compose Specification's schema; Kubernetes documents name
 * apiVersion and kind and hold together (selectors, ports, probe paths); and the skill's main file exists at all.
 * Returns the reason the task fails, or undefined.
 */
export function validateGenerated(skill: string, files: readonly GeneratedFile[]): string | undefined {
  const problems: string[] = [];
  const manifests: GeneratedFile[] = [];
  for (const file of files) {
    if (isDockerfile(file.path)) {
      const error = checkDockerfile(file.text);
      if (error) {
        problems.push(`${file.path} is not a valid Dockerfile: ${error}`);
        continue;
      }
      const lint = lintDockerfile(file.text).filter((f) => f.severity === 'error');
      if (lint.length > 0) {
        problems.push(
          `${file.path} fails the Dockerfile lint: ${lint.map((f) => `line ${f.line}: ${f.message} (${f.rule})`).join('; ')}`,
        );
      }
    } else if (isYaml(file.path)) {
      const error = checkYaml(
        file.text,
        skill === 'generate_k8s_manifests' && !/(^|\/)kustomization\.ya?ml$/.test(file.path),
      );
      if (error) {
        problems.push(`${file.path} does not parse as YAML: ${error}`);
        continue;
      }
      if (isComposeFile(file.path)) {
        const compose = checkCompose(file.text);
        if (compose.length > 0)
          problems.push(`${file.path} is not a valid compose file: ${compose.join('; ')}`);
      } else if (skill === 'generate_k8s_manifests') {
        manifests.push(file);
      }
    }
  }
  if (manifests.length > 0) {
    const k8s = checkManifests(manifests);
    if (k8s.length > 0) problems.push(`the Kubernetes manifests do not hold together: ${k8s.join('; ')}`);
  }
  if (problems.length > 0) return problems.join('; ');
  const wrote = (test: (f: GeneratedFile) => boolean): boolean => files.some(test);
  if (skill === 'generate_dockerfile' && !wrote((f) => isDockerfile(f.path))) {
    return 'the agent wrote no Dockerfile';
  }
  if (skill === 'generate_docker_compose' && !wrote((f) => isComposeFile(f.path))) {
    return 'the agent wrote no compose file (docker-compose.yml or compose.yaml)';
  }
  if (skill === 'generate_k8s_manifests' && !wrote((f) => isYaml(f.path))) {
    return 'the agent wrote no Kubernetes manifest (YAML)';
  }
  return undefined;
}
