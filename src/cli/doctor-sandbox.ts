import type { GatewayConfig } from '../config/load.js';
import {
  networkText,
  Sandboxes,
  SandboxError,
  sandboxPolicy,
  type SandboxReport,
} from '../runner/sandbox.js';
import { isInside, toolPaths } from '../runner/sandbox-paths.js';
import type { BackendReport } from './doctor.js';

/** The sandbox as `doctor` shows it: what is in force here, and for each backend its mode and the paths it needs. */
export interface SandboxDiagnosis {
  report: SandboxReport | { error: string };
  backends: Array<{
    name: string;
    mode: 'bwrap' | 'off';
    /** The programs a run starts (the CLI, its interpreter, node, git, sh) and the directory each needs. */
    needs: Array<{ name: string; path: string; dir: string; bound: boolean }>;
  }>;
}

/** Directories the sandbox hides, where a program's install directory must be bound back read-only. */
function hiddenDirs(config: GatewayConfig): string[] {
  return ['/tmp', '/run', config.dataDir, ...config.sandbox.hide];
}

/** Probes bubblewrap as the gateway would at start-up and resolves, per backend, what its runs need. */
export async function diagnoseSandbox(
  config: GatewayConfig,
  env: NodeJS.ProcessEnv,
  reports: readonly BackendReport[],
): Promise<SandboxDiagnosis> {
  const perBackend = Object.values(config.backends).flatMap((b) =>
    'sandbox' in b && b.sandbox ? [b.sandbox] : [],
  );
  let sandboxes: Sandboxes;
  try {
    sandboxes = await Sandboxes.detect(config.sandbox.setting, perBackend, sandboxPolicy(config), env.PATH);
  } catch (err) {
    if (err instanceof SandboxError) return { report: { error: err.message }, backends: [] };
    throw err;
  }
  const hidden = hiddenDirs(config);
  const backends: SandboxDiagnosis['backends'] = [];
  for (const report of reports) {
    const backend = config.backends[report.name];
    if (!backend || !report.path) continue;
    const own = 'sandbox' in backend ? backend.sandbox : undefined;
    const mode = sandboxes.for(own) ? 'bwrap' : 'off';
    const needs = (await toolPaths(report.path, env.PATH)).map((t) => ({
      ...t,
      bound: hidden.some((h) => isInside(t.dir, h)),
    }));
    backends.push({ name: report.name, mode, needs });
  }
  return { report: sandboxes.report, backends };
}

/** The sandbox diagnosis as lines a person reads. */
export function formatSandbox(d: SandboxDiagnosis): string {
  if ('error' in d.report) return `sandbox: UNAVAILABLE: ${d.report.error}`;
  const r = d.report;
  const lines =
    r.mode === 'bwrap'
      ? [
          `sandbox: bwrap (${r.bwrap?.version ?? r.bwrap?.path}), network ${networkText(r)}: agents write only their workspace and config home`,
        ]
      : r.setting === 'auto'
        ? [`sandbox: OFF: bubblewrap cannot run here (${r.reason}); agents can write anywhere this user can`]
        : [`sandbox: off (${r.reason ?? 'SANDBOX=off'})`];
  for (const b of d.backends) {
    const needs = b.needs.map((n) => `${n.name} ${n.path}${n.bound ? ` (binds ${n.dir} read-only)` : ''}`);
    lines.push(`  ${b.name}: ${b.mode}; needs ${needs.join(', ')}`);
  }
  return lines.join('\n');
}
