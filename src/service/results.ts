/**
 * What a finished task hands back besides its summary: the files it wrote, read from its workspace, and the
 * changed-files list. The checks on generated files and the review parsing are skill traits (src/skills/).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDockerfile, isYaml, type GeneratedFile } from '../skills/generated-files.js';
import type { ChangedFile, Changes } from '../workspace/index.js';

export type { GeneratedFile } from '../skills/generated-files.js';

const MAX_FILE_ARTIFACT_BYTES = 512 * 1024;
const MAX_FILE_ARTIFACTS = 50;

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
