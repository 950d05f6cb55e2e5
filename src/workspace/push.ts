/**
 * Publishing a task's branch: a push to the repository's remote that never forces, with credentials from an
 * allowlisted source only (a token variable, else the user's own credential helper or ssh agent), and a pull
 * request through the `gh` CLI. Credentials never appear in argv, messages or logs.
 */
import { buildChildEnv } from '../runner/env.js';
import { runProcess } from '../runner/spawn.js';
import { resolveCommand } from '../runner/which.js';
import { WorkspaceError } from './errors.js';
import { runGit, type GitContext } from './git-exec.js';

/**
 * Variables a push token may come from, in order of preference. Nothing else of the gateway's environment is read
 * for credentials.
 */
export const PUSH_TOKEN_VARIABLES: readonly string[] = ['A2A_GIT_TOKEN', 'GH_TOKEN', 'GITHUB_TOKEN'];

/** What a pushed branch is: where it went and which commit it points at. */
export interface PushResult {
  remote: string;
  branch: string;
  /** The remote's URL with any user name or password in it masked. */
  url: string;
  commit: string;
}

/** Masks the user info of a URL (`https://user:secret@host/…` → `https://***@host/…`). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
}

/** The URL of `remote` in the repository at `dir`, or undefined when it has no such remote. */
export async function remoteUrl(dir: string, remote: string, ctx: GitContext): Promise<string | undefined> {
  // `git remote get-url` exits 2 when the remote does not exist.
  const out = await runGit(ctx, dir, ['remote', 'get-url', '--', remote], { okExitCodes: [0, 2] });
  const url = out.stdout.trim();
  return out.exitCode === 0 && url !== '' ? url : undefined;
}

/**
 * Checks up front that the repository at `dir` has `remote`, so a task that asks to push is refused before any
 * agent runs. Returns the remote's URL (masked).
 */
export async function requireRemote(dir: string, remote: string, ctx: GitContext): Promise<string> {
  const url = await remoteUrl(dir, remote, ctx);
  if (url === undefined) {
    throw new WorkspaceError(
      'no_remote',
      `the repository has no remote "${remote}" to push to (git remote -v lists its remotes; name one in input.remote)`,
    );
  }
  return redactUrl(url);
}

/** The token from the first allowlisted variable that is set, if any. */
export function pushToken(env: GitContext['env']): string | undefined {
  for (const name of PUSH_TOKEN_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return value.trim();
  }
  return undefined;
}

/**
 * git config given through the environment (never argv, so `ps` does not show it): the token as an HTTP
 * authorization header, scoped to the remote's own scheme and host. Only for http(s) remotes.
 */
function tokenConfig(url: string, token: string | undefined): Record<string, string> {
  if (token === undefined) return {};
  let origin: string;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return {};
    origin = `${parsed.protocol}//${parsed.host}/`;
  } catch {
    return {};
  }
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `http.${origin}.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}

export interface PushBranchOptions {
  /** A directory of the repository (its root or a worktree of it). */
  dir: string;
  branch: string;
  remote: string;
  ctx: GitContext;
}

/**
 * Pushes `branch` to the branch of the same name on `remote`. Never forced: the refspec has no `+` and no
 * `--force`, so a remote branch that moved elsewhere rejects the push (`push_rejected`) rather than losing commits.
 * Credentials: a token from {@link PUSH_TOKEN_VARIABLES} for http(s) remotes, else whatever the user's git config
 * and ssh agent provide (git never prompts).
 */
export async function pushBranch(opts: PushBranchOptions): Promise<PushResult> {
  const { dir, branch, remote, ctx } = opts;
  const url = await remoteUrl(dir, remote, ctx);
  if (url === undefined) await requireRemote(dir, remote, ctx);
  const commit = (
    await runGit(ctx, dir, ['rev-parse', '--verify', `refs/heads/${branch}^{commit}`])
  ).stdout.trim();
  const env = { ...tokenConfig(url ?? '', pushToken(ctx.env)) };
  const sshAgent = ctx.env.SSH_AUTH_SOCK;
  if (sshAgent) env.SSH_AUTH_SOCK = sshAgent;
  // Exit 1 is a refused update, which --porcelain describes on stdout ("!  <ref> [rejected] (fetch first)").
  const out = await runGit(
    ctx,
    dir,
    ['push', '--porcelain', '--no-verify', '--', remote, `refs/heads/${branch}:refs/heads/${branch}`],
    { env, okExitCodes: [0, 1] },
  );
  if (out.exitCode !== 0) {
    const rejected = /\[rejected\]|\[remote rejected\]|non-fast-forward|fetch first|stale info/i.test(
      out.stdout,
    );
    const detail = redactUrl(`${out.stdout}\n${out.stderr}`.trim()).slice(-500);
    throw new WorkspaceError(
      rejected ? 'push_rejected' : 'git_failed',
      rejected
        ? `the push of ${branch} to ${remote} was rejected: the remote branch has commits this one does not (the gateway never forces a push): ${detail}`
        : `the push of ${branch} to ${remote} (${redactUrl(url ?? '')}) failed: ${detail}`,
    );
  }
  return { remote, branch, url: redactUrl(url ?? ''), commit };
}

export interface PullRequestOptions {
  /** A directory of the repository: gh finds the GitHub repository from its remotes. */
  dir: string;
  /** The pushed branch. */
  head: string;
  /** The branch to merge into; gh's default (the repository's default branch) when absent. */
  base?: string;
  title: string;
  body: string;
  /** The environment gh's is built from (the gateway's, handed down from the composition root). */
  env: GitContext['env'];
  signal?: AbortSignal;
  timeoutMs?: number;
}

const GH_ENV_ALLOW = [
  'HOME',
  'XDG_CONFIG_HOME',
  'GH_TOKEN',
  'GITHUB_TOKEN',
  'GH_HOST',
  'GH_ENTERPRISE_TOKEN',
  'GH_CONFIG_DIR',
];

/**
 * Opens a pull request for `head` with `gh pr create` and returns its URL. gh runs from an argv (no shell) with
 * the body on stdin, its prompts off, and only its own variables from the environment. Throws `gh_not_found`
 * when gh is not on PATH, `pull_request_failed` with the end of its output otherwise.
 */
export async function openPullRequest(opts: PullRequestOptions): Promise<{ url: string }> {
  const gh = await resolveCommand('gh', opts.env.PATH, opts.dir);
  if (gh === undefined) {
    throw new WorkspaceError(
      'gh_not_found',
      "pull_request needs the GitHub CLI (gh) on the gateway's PATH, installed and authenticated (gh auth login or GH_TOKEN)",
    );
  }
  const token = pushToken(opts.env);
  const env = buildChildEnv({
    base: opts.env,
    allow: GH_ENV_ALLOW,
    set: {
      GH_PROMPT_DISABLED: '1',
      GH_NO_UPDATE_NOTIFIER: '1',
      GH_SPINNER_DISABLED: '1',
      NO_COLOR: '1',
      ...(token !== undefined && opts.env.GH_TOKEN === undefined ? { GH_TOKEN: token } : {}),
    },
  });
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 120_000);
  const argv = [
    gh,
    'pr',
    'create',
    '--head',
    opts.head,
    ...(opts.base !== undefined ? ['--base', opts.base] : []),
    '--title',
    opts.title,
    '--body-file',
    '-',
  ];
  const result = await runProcess({
    argv,
    cwd: opts.dir,
    env,
    stdin: opts.body,
    signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
    graceMs: 2000,
    maxBufferedBytes: 64 * 1024,
  });
  const url = /https?:\/\/\S+/.exec(result.stdout.trim().split('\n').at(-1) ?? '')?.[0];
  if (result.exitCode !== 0 || url === undefined) {
    const why =
      result.spawnError?.message ??
      (result.aborted ? 'gh did not finish in time' : `${result.stderr}${result.stdout}`.trim().slice(-500));
    throw new WorkspaceError(
      'pull_request_failed',
      `gh pr create failed: ${why || `exit ${result.exitCode ?? 'by signal'}`}`,
    );
  }
  return { url };
}
