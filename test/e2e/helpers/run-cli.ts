/** Spawning a real coding CLI for one bounded headless turn, in a throwaway git repository. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliEvent, CliInvocation } from './cli-env.js';

export interface CliRun {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The bound ran out and the process group was killed. */
  timedOut: boolean;
  ms: number;
  stdout: string;
  stderr: string;
  /** The stdout lines that parse as JSON objects. */
  events: CliEvent[];
}

const KILL_GRACE_MS = 3000;

/**
 * Runs the CLI with stdin closed (an open stdin blocks Codex and delays Claude Code) in its own process group,
 * so a timeout ends it and anything it spawned (Codex's native binary, Gemini's relaunch child, shells) at once.
 * Whatever is left of the group after the CLI exits is killed too.
 */
export function runCli(invocation: CliInvocation, timeoutMs: number): Promise<CliRun> {
  const started = Date.now();
  const child = spawn(invocation.command, invocation.args, {
    cwd: invocation.cwd,
    env: invocation.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = child.pid;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const killGroup = (signal: NodeJS.Signals): void => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is already gone.
    }
  };
  let timedOut = false;
  let escalate: NodeJS.Timeout | undefined;
  const deadline = setTimeout(() => {
    timedOut = true;
    killGroup('SIGTERM');
    escalate = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
  }, timeoutMs);

  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(deadline);
      clearTimeout(escalate);
      const ms = Date.now() - started;
      killGroup('SIGKILL');
      const finish = (): void => {
        const stdout = Buffer.concat(out).toString('utf8');
        resolve({
          code,
          signal,
          timedOut,
          ms,
          stdout,
          stderr: Buffer.concat(err).toString('utf8'),
          events: jsonLines(stdout),
        });
      };
      // The pipes close once every holder is gone; do not wait on them forever.
      const fallback = setTimeout(finish, 2000);
      child.once('close', () => {
        clearTimeout(fallback);
        finish();
      });
    });
  });
}

export function jsonLines(text: string): CliEvent[] {
  const events: CliEvent[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('{')) continue;
    try {
      const value: unknown = JSON.parse(trimmed);
      if (typeof value === 'object' && value !== null && !Array.isArray(value))
        events.push(value as CliEvent);
    } catch {
      // Not an event line.
    }
  }
  return events;
}

export interface Sandbox {
  /** A fresh git repository with one commit: the CLI's working directory. */
  repo: string;
  /** A private HOME for the CLI's config and session files. */
  home: string;
  cleanup(): void;
}

/** A temp HOME and a git repo (local user.name/email, one commit), with `files` committed. */
export function makeSandbox(files: Record<string, string> = {}): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'a2a-e2e-cli-'));
  const repo = join(root, 'repo');
  const home = join(root, 'home');
  const git = (...args: string[]): void => {
    const r = spawnSync('git', args, {
      cwd: repo,
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, GIT_CONFIG_NOSYSTEM: '1' },
    });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  };
  mkdirSync(repo);
  mkdirSync(home);
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'E2E Test');
  git('config', 'user.email', 'e2e@example.invalid');
  git('config', 'commit.gpgsign', 'false');
  writeFileSync(join(repo, 'README.md'), '# scratch repo for a CLI end-to-end test\n');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(repo, name), text);
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  return { repo, home, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
