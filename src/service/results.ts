/**
 * What a finished task hands back besides its summary: checks on generated deployment files, the files themselves,
 * and review comments read out of the agent's answer.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { checkCompose } from '../deployment/compose.js';
import { lintDockerfile } from '../deployment/dockerfile.js';
import { checkManifests } from '../deployment/kubernetes.js';
import { REVIEW_SEVERITIES, type ReviewComment } from '../skills/review-skill.js';
import type { ChangedFile, Changes } from '../workspace/index.js';

/**
 * The skills whose output is files a person deploys: checked before the task may succeed, and the ones the
 * template backend can stand in for.
 */
export const DEPLOYMENT_SKILLS: ReadonlySet<string> = new Set([
  'generate_dockerfile',
  'generate_docker_compose',
  'generate_k8s_manifests',
]);

/** The skills that return the files they wrote as artifacts of their own. */
export const GENERATION_SKILLS: ReadonlySet<string> = new Set([...DEPLOYMENT_SKILLS, 'write_unit_tests']);

const MAX_FILE_ARTIFACT_BYTES = 512 * 1024;
const MAX_FILE_ARTIFACTS = 50;

export interface GeneratedFile {
  path: string;
  mediaType: string;
  text: string;
}

function isYaml(path: string): boolean {
  return /\.ya?ml$/i.test(path);
}

/** Dockerfile, Dockerfile.prod, api.Dockerfile, Containerfile. */
function isDockerfile(path: string): boolean {
  const name = basename(path);
  return /^(Dockerfile|Containerfile)(\.[\w.-]+)?$/.test(name) || /\.(Dockerfile|Containerfile)$/.test(name);
}

function mediaTypeOf(path: string): string {
  if (isYaml(path)) return 'application/yaml';
  if (isDockerfile(path)) return 'text/x-dockerfile';
  if (/\.json$/i.test(path)) return 'application/json';
  if (/\.(ts|tsx|mts|cts)$/i.test(path)) return 'text/x-typescript';
  if (/\.(js|mjs|cjs|jsx)$/i.test(path)) return 'text/javascript';
  if (/\.py$/i.test(path)) return 'text/x-python';
  if (/\.go$/i.test(path)) return 'text/x-go';
  return 'text/plain';
}

/** The text files a task added or modified, read from its workspace (bounded in count and size). */
export async function readGeneratedFiles(changes: Changes, root: string): Promise<GeneratedFile[]> {
  const out: GeneratedFile[] = [];
  for (const file of changes.files) {
    if (out.length >= MAX_FILE_ARTIFACTS) break;
    if (file.status === 'deleted' || file.binary) continue;
    const text = await readFile(join(root, file.path), 'utf8').catch(() => undefined);
    if (text === undefined || Buffer.byteLength(text) > MAX_FILE_ARTIFACT_BYTES) continue;
    out.push({ path: file.path, mediaType: mediaTypeOf(file.path), text });
  }
  return out;
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

/** The changed-files list of the result's data part. */
export function changedFilesList(files: readonly ChangedFile[]): Record<string, unknown>[] {
  return files.map((f) => ({
    path: f.path,
    status: f.status,
    added: f.added,
    removed: f.removed,
    ...(f.binary ? { binary: true } : {}),
    ...(f.oldPath !== undefined ? { oldPath: f.oldPath } : {}),
  }));
}

const SEVERITIES: ReadonlySet<string> = new Set(REVIEW_SEVERITIES);

/**
 * The review comments of a review_pr answer: the last fenced json block holding an array (the prompt asks for it
 * as the very last thing). Entries that are not comments are dropped; an unknown severity becomes `minor`.
 */
export function parseReviewComments(answer: string): { comments: ReviewComment[]; error?: string } {
  const blocks = [...answer.matchAll(/```(?:json)?[ \t]*\r?\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  for (const block of blocks.reverse()) {
    let value: unknown;
    try {
      value = JSON.parse(block);
    } catch {
      continue;
    }
    if (!Array.isArray(value)) continue;
    const comments: ReviewComment[] = [];
    for (const item of value) {
      if (item === null || typeof item !== 'object') continue;
      const c = item as Record<string, unknown>;
      if (typeof c.text !== 'string' || c.text.trim() === '') continue;
      const severity = typeof c.severity === 'string' && SEVERITIES.has(c.severity) ? c.severity : 'minor';
      comments.push({
        file: typeof c.file === 'string' ? c.file : '',
        line: typeof c.line === 'number' && Number.isInteger(c.line) && c.line > 0 ? c.line : null,
        severity: severity as ReviewComment['severity'],
        text: c.text.trim(),
        ...(typeof c.suggestion === 'string' && c.suggestion.trim() !== ''
          ? { suggestion: c.suggestion.trim() }
          : {}),
      });
    }
    return { comments };
  }
  return { comments: [], error: 'the review ended without a JSON block of comments' };
}
