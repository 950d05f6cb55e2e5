import { homedir } from 'node:os';
import { CLI_ADAPTERS } from '../agents/cli/index.js';
import type { CliAdapter } from '../agents/cli/types.js';
import { ACP_PRESET_NAMES, ACP_PRESETS } from '../agents/acp/index.js';
import type { GatewayConfig } from '../config/load.js';
import type { AcpBackendConfig } from '../config/schema.js';
import { Containment, ContainmentError, type ContainmentReport } from '../runner/containment.js';
import { buildChildEnv } from '../runner/env.js';
import { runProcess } from '../runner/spawn.js';
import { resolveCommand } from '../runner/which.js';
import type { SkillDefinition } from '../skills/types.js';

export interface BackendReport {
  name: string;
  type: string;
  command: string;
  found: boolean;
  path: string | undefined;
  version: string | undefined;
  /** For coding-agent CLIs: a credential variable is set, or the user's CLI login exists. */
  credentials: 'set' | 'missing' | 'n/a';
  credentialSource: string | undefined;
  skills: string[];
}

async function versionOf(
  path: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  const result = await runProcess({
    argv: [path, ...args],
    cwd: homedir(),
    env: buildChildEnv({ base: env, allow: ['HOME'] }),
    signal: AbortSignal.timeout(15_000),
    graceMs: 1000,
    maxBufferedBytes: 16 * 1024,
  });
  const text = `${result.stdout}\n${result.stderr}`.trim();
  const line = text.split('\n').find((l) => /\d+\.\d+/.test(l)) ?? text.split('\n')[0];
  return result.exitCode === 0 && line ? line.trim().slice(0, 80) : undefined;
}

async function credentialsOf(
  adapter: CliAdapter,
  env: NodeJS.ProcessEnv,
): Promise<{ ok: boolean; source?: string }> {
  const variable = adapter.credentialEnv.find((name) => Boolean(env[name]));
  if (variable) return { ok: true, source: variable };
  if (await adapter.hasLogin(homedir())) return { ok: true, source: 'CLI login' };
  return { ok: false };
}

/** Versions by path, each asked once (the ACP presets run the same binaries as the native backends). */
class Versions {
  private readonly known = new Map<string, Promise<string | undefined>>();
  constructor(private readonly env: NodeJS.ProcessEnv) {}
  of(path: string, args: readonly string[]): Promise<string | undefined> {
    const key = `${path}\u0000${args.join(' ')}`;
    let version = this.known.get(key);
    if (!version) {
      version = versionOf(path, args, this.env);
      this.known.set(key, version);
    }
    return version;
  }
}

/** An ACP agent: the first of its commands found, its version where it is a native CLI's binary, its credentials. */
async function diagnoseAcp(
  backend: AcpBackendConfig,
  env: NodeJS.ProcessEnv,
  versions: Versions,
): Promise<Omit<BackendReport, 'name' | 'skills'>> {
  const preset = backend.preset ? ACP_PRESETS[backend.preset] : undefined;
  const commands = backend.command ? [backend.command] : (preset?.commands ?? []);
  let path: string | undefined;
  for (const command of commands) {
    path = await resolveCommand(command, env.PATH);
    if (path) break;
  }
  const adapter = preset?.adapter;
  const native = adapter !== undefined && commands[0] === adapter.defaultCommand;
  const version = path && native ? await versions.of(path, adapter.versionArgs) : undefined;
  const creds = adapter ? await credentialsOf(adapter, env) : undefined;
  return {
    type: `acp${preset ? `:${preset.name}` : ''}`,
    command: commands.join('|'),
    found: path !== undefined,
    path,
    version,
    credentials: creds ? (creds.ok ? 'set' : 'missing') : 'n/a',
    credentialSource: creds?.source,
  };
}

/** Checks every configured backend: found or not, where, its version, whether credentials are set, who uses it. */
export async function diagnose(
  config: GatewayConfig,
  skills: readonly SkillDefinition[],
  env: NodeJS.ProcessEnv,
): Promise<BackendReport[]> {
  const enabled = skills.filter((s) => config.skills[s.id]?.enabled !== false);
  const reports: BackendReport[] = [];
  const versions = new Versions(env);
  for (const [name, backend] of Object.entries(config.backends)) {
    const users = enabled
      .filter((s) => (config.skills[s.id]?.backend ?? s.defaultBackend) === name)
      .map((s) => s.id);
    if (backend.type === 'acp') {
      reports.push({ ...(await diagnoseAcp(backend, env, versions)), name, skills: users });
      continue;
    }
    const adapter = (CLI_ADAPTERS as Readonly<Record<string, CliAdapter | undefined>>)[backend.type];
    const command =
      'command' in backend && backend.command ? backend.command : (adapter?.defaultCommand ?? backend.type);
    if (backend.type === 'fake' || backend.type === 'template') {
      reports.push({
        name,
        type: backend.type,
        command: '-',
        found: true,
        path: undefined,
        version: undefined,
        credentials: 'n/a',
        credentialSource: undefined,
        skills: users,
      });
      continue;
    }
    const path = await resolveCommand(command, env.PATH);
    const version = path && adapter ? await versions.of(path, adapter.versionArgs) : undefined;
    const creds = adapter ? await credentialsOf(adapter, env) : undefined;
    reports.push({
      name,
      type: backend.type,
      command,
      found: path !== undefined,
      path,
      version,
      credentials: creds ? (creds.ok ? 'set' : 'missing') : 'n/a',
      credentialSource: creds?.source,
      skills: users,
    });
  }
  // The coding CLIs over ACP that no backend is configured for yet: found or not (`type: acp, preset: NAME`).
  const configured = new Set(
    Object.values(config.backends).flatMap((b) => (b.type === 'acp' && b.preset ? [b.preset] : [])),
  );
  for (const preset of ACP_PRESET_NAMES) {
    if (configured.has(preset)) continue;
    const report = await diagnoseAcp({ type: 'acp', preset, env: {}, passEnv: [] }, env, versions);
    reports.push({ ...report, name: `(acp ${preset})`, skills: [] });
  }
  // Not a backend, but every task needs it: worktrees, diffs, commits and applies are git.
  const git = await resolveCommand('git', env.PATH);
  reports.push({
    name: 'git',
    type: 'tool',
    command: 'git',
    found: git !== undefined,
    path: git,
    version: git ? await versionOf(git, ['--version'], env) : undefined,
    credentials: 'n/a',
    credentialSource: undefined,
    skills: enabled.map((s) => s.id),
  });
  return reports;
}

/** The report as a table a person reads in a terminal. */
export function formatReport(reports: readonly BackendReport[]): string {
  const rows = reports.map((r) => [
    r.name,
    r.type,
    r.found ? (r.path ?? '') : `NOT FOUND (${r.command})`,
    r.version ?? (r.found ? '?' : '-'),
    r.credentials === 'n/a' ? '-' : r.credentials === 'set' ? `set (${r.credentialSource ?? ''})` : 'MISSING',
    r.skills.join(', ') || '-',
  ]);
  const head = ['backend', 'type', 'command', 'version', 'credentials', 'skills'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The process containment the gateway would use here (tried for real), or why the configured one cannot work. */
export async function diagnoseContainment(
  config: GatewayConfig,
  env: NodeJS.ProcessEnv,
): Promise<ContainmentReport | { error: string }> {
  try {
    const containment = await Containment.detect(config.containment, env.PATH);
    await containment.close();
    return containment.report;
  } catch (err) {
    if (err instanceof ContainmentError) return { error: err.message };
    throw err;
  }
}

/** The containment report as lines a person reads. */
export function formatContainment(report: ContainmentReport | { error: string }): string {
  if ('error' in report) return `process containment: UNAVAILABLE: ${report.error}`;
  const lines = [`process containment: ${report.tier} (every process a task starts ends with it)`];
  for (const u of report.unavailable) lines.push(`  not ${u.tier}: ${u.reason}`);
  return lines.join('\n');
}
