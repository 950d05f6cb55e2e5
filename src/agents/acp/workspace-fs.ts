/**
 * `fs/read_text_file` and `fs/write_text_file` for an ACP agent, confined to the task's workspace: the path must be
 * absolute and, with every symlink followed, inside the workspace; anything else is refused with an error the
 * agent sees. Reads are capped so a huge file cannot exhaust the gateway's memory.
 */
import { mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type {
  ReadTextFileRequest,
  ReadTextFileResponse,
  WriteTextFileRequest,
} from '@agentclientprotocol/sdk';
import { isInside } from '../../workspace/roots.js';

/** Largest file a read returns, in bytes. */
export const READ_MAX_BYTES = 10 * 1024 * 1024;

/** A request the workspace cannot serve (outside it, too large, missing); its message goes back to the agent. */
export class WorkspaceFsError extends Error {
  constructor(
    readonly code: 'outside_workspace' | 'not_absolute' | 'too_large' | 'not_found',
    message: string,
  ) {
    super(message);
    this.name = 'WorkspaceFsError';
  }
}

export class WorkspaceFs {
  private rootReal: Promise<string> | undefined;

  constructor(private readonly root: string) {}

  async read(request: ReadTextFileRequest): Promise<ReadTextFileResponse> {
    const path = await this.confine(request.path);
    let text: string;
    try {
      const buffer = await readFile(path);
      if (buffer.length > READ_MAX_BYTES) {
        throw new WorkspaceFsError('too_large', `${request.path} is larger than ${READ_MAX_BYTES} bytes`);
      }
      text = buffer.toString('utf8');
    } catch (err) {
      if (err instanceof WorkspaceFsError) throw err;
      throw new WorkspaceFsError('not_found', `cannot read ${request.path}: ${(err as Error).message}`);
    }
    const start = Math.max(0, (request.line ?? 1) - 1);
    if (request.line == null && request.limit == null) return { content: text };
    const lines = text.split('\n');
    const end = request.limit == null ? lines.length : start + request.limit;
    return { content: lines.slice(start, end).join('\n') };
  }

  async write(request: WriteTextFileRequest): Promise<Record<string, never>> {
    const path = await this.confine(request.path);
    await mkdir(dirname(path), { recursive: true });
    // Checked again after creating the parents: a directory swapped for a symlink meanwhile is refused.
    const parent = await realpath(dirname(path));
    if (!isInside(await this.realRoot(), parent)) throw outside(request.path);
    await writeFile(join(parent, basename(path)), request.content);
    return {};
  }

  /** The real path `path` stands for, or an error when it is not absolute or lies outside the workspace. */
  private async confine(path: string): Promise<string> {
    if (!isAbsolute(path)) {
      throw new WorkspaceFsError('not_absolute', `expected an absolute path, got ${JSON.stringify(path)}`);
    }
    const root = await this.realRoot();
    const real = await realOfNearest(resolve(path));
    if (!isInside(root, real)) throw outside(path);
    return real;
  }

  private realRoot(): Promise<string> {
    this.rootReal ??= realpath(this.root);
    return this.rootReal;
  }
}

function outside(path: string): WorkspaceFsError {
  return new WorkspaceFsError('outside_workspace', `${path} is outside the task's workspace`);
}

/** The real path of `path`, resolving symlinks in the part that exists (a new file's parents may not yet). */
async function realOfNearest(path: string): Promise<string> {
  const missing: string[] = [];
  let current = path;
  for (;;) {
    try {
      return join(await realpath(current), ...missing.reverse());
    } catch {
      const parent = dirname(current);
      if (parent === current) return path;
      missing.push(basename(current));
      current = parent;
    }
  }
}
