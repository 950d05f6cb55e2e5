/**
 * `terminal/*` for an ACP agent: each terminal is one command run through the gateway's process runner (so it is
 * contained like the agent itself), from an argv (the command and its arguments, never a shell string), in a
 * directory inside the task's workspace, with the agent's own allowlisted environment plus the variables the
 * request names. Output is kept up to the request's byte limit (the oldest bytes dropped first). Every terminal
 * still running when the turn ends is killed.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type {
  CreateTerminalRequest,
  CreateTerminalResponse,
  TerminalExitStatus,
  TerminalOutputResponse,
  WaitForTerminalExitResponse,
} from '@agentclientprotocol/sdk';
import type { ProcessRunner, RunResult } from '../../runner/types.js';
import { isInside } from '../../workspace/roots.js';
import { WorkspaceFsError } from './workspace-fs.js';

/** Output kept per terminal when the request sets no limit. */
export const TERMINAL_OUTPUT_MAX = 1024 * 1024;
/** Terminals one turn may have open at once. */
export const TERMINALS_MAX = 16;

interface Terminal {
  output: string;
  truncated: boolean;
  limit: number;
  exit: TerminalExitStatus | undefined;
  done: Promise<TerminalExitStatus>;
  stop: AbortController;
}

export interface TerminalsOptions {
  workdir: string;
  /** The agent's own environment (already allowlisted); a terminal adds the variables its request names. */
  env: Readonly<Record<string, string>>;
  run: ProcessRunner;
  label: string;
  killGraceMs: number;
}

export class Terminals {
  private readonly open = new Map<string, Terminal>();
  private count = 0;

  constructor(private readonly opts: TerminalsOptions) {}

  async create(request: CreateTerminalRequest): Promise<CreateTerminalResponse> {
    if (this.open.size >= TERMINALS_MAX) {
      throw new WorkspaceFsError('too_large', `at most ${TERMINALS_MAX} terminals may be open at once`);
    }
    const cwd = await this.confine(request.cwd ?? this.opts.workdir);
    const env = { ...this.opts.env };
    for (const v of request.env ?? []) env[v.name] = v.value;
    const stop = new AbortController();
    const terminal: Terminal = {
      output: '',
      truncated: false,
      limit: request.outputByteLimit ?? TERMINAL_OUTPUT_MAX,
      exit: undefined,
      stop,
      done: undefined as unknown as Promise<TerminalExitStatus>,
    };
    const append = (line: string): void => {
      terminal.output += `${line}\n`;
      const bytes = Buffer.byteLength(terminal.output);
      if (bytes > terminal.limit) {
        // Drop from the front, at a character boundary.
        const buffer = Buffer.from(terminal.output).subarray(bytes - terminal.limit);
        terminal.output = buffer.toString('utf8').replace(/^\uFFFD+/, '');
        terminal.truncated = true;
      }
    };
    terminal.done = this.opts
      .run(
        {
          argv: [request.command, ...(request.args ?? [])],
          cwd,
          env,
          signal: stop.signal,
          graceMs: this.opts.killGraceMs,
          onStdoutLine: append,
          onStderrLine: append,
        },
        this.opts.label,
      )
      .then((result) => {
        terminal.exit = exitStatus(result, append);
        return terminal.exit;
      });
    const terminalId = `term-${++this.count}`;
    this.open.set(terminalId, terminal);
    return { terminalId };
  }

  output(terminalId: string): TerminalOutputResponse {
    const t = this.get(terminalId);
    return { output: t.output, truncated: t.truncated, ...(t.exit ? { exitStatus: t.exit } : {}) };
  }

  async waitForExit(terminalId: string): Promise<WaitForTerminalExitResponse> {
    return this.get(terminalId).done;
  }

  kill(terminalId: string): Record<string, never> {
    this.get(terminalId).stop.abort();
    return {};
  }

  async release(terminalId: string): Promise<Record<string, never>> {
    const t = this.get(terminalId);
    t.stop.abort();
    this.open.delete(terminalId);
    await t.done;
    return {};
  }

  /** Kills every terminal and waits for them to end (the turn is over). */
  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    for (const t of all) t.stop.abort();
    await Promise.all(all.map((t) => t.done));
  }

  private get(terminalId: string): Terminal {
    const t = this.open.get(terminalId);
    if (!t) throw new WorkspaceFsError('not_found', `no terminal ${terminalId}`);
    return t;
  }

  private async confine(dir: string): Promise<string> {
    if (!isAbsolute(dir)) {
      throw new WorkspaceFsError('not_absolute', `expected an absolute cwd, got ${JSON.stringify(dir)}`);
    }
    const [root, real] = await Promise.all([
      realpath(this.opts.workdir),
      realpath(resolve(dir)).catch(() => undefined),
    ]);
    if (real === undefined) throw new WorkspaceFsError('not_found', `cwd ${dir} does not exist`);
    if (!isInside(root, real)) {
      throw new WorkspaceFsError('outside_workspace', `cwd ${dir} is outside the task's workspace`);
    }
    return real;
  }
}

function exitStatus(result: RunResult, append: (line: string) => void): TerminalExitStatus {
  if (result.spawnError) append(`could not start: ${result.spawnError.message}`);
  return { exitCode: result.exitCode, signal: result.signal };
}
