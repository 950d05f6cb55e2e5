import type { GatewayConfig } from '../config/load.js';
import { dirname } from 'node:path';
import { ContainerSandbox, type ContainerEngine } from '../runner/container.js';
import { imageHas } from '../runner/container-probe.js';
import {
  isContainerSetting,
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
    mode: 'bwrap' | 'off' | ContainerEngine;
    /** The programs a run starts (the CLI, its interpreter, node, git, sh) and the directory each needs. In a
     *  container, the command only, and whether the image has it at that path (`inImage`). */
    needs: Array<{ name: string; path: string; dir: string; bound: boolean; inImage?: boolean }>;
  }>;
}

/** Directories the sandbox hides, where a program's install directory must be bound back read-only. */
function hiddenDirs(config: GatewayConfig): string[] {
  return ['/tmp', '/run', config.dataDir, ...config.sandbox.hide];
}

/** Probes bubblewrap (and the container engine) as the gateway would at start-up and resolves, per backend, what its runs need. */
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
    const sandbox = sandboxes.for(own);
    const mode = sandbox ? (isContainerSetting(sandbox.kind) ? sandbox.kind : 'bwrap') : 'off';
    // In a container the programs are the image's: the command at the path the gateway resolves, node and git
    // on the image's PATH (shown on the sandbox line).
    const needs = isContainerSetting(mode)
      ? [{ name: 'command', path: report.path, dir: dirname(report.path), bound: false }]
      : (await toolPaths(report.path, env.PATH)).map((t) => ({
          ...t,
          bound: hidden.some((h) => isInside(t.dir, h)),
        }));
    backends.push({ name: report.name, mode, needs });
  }
  // One trial container for every backend that runs in one: is its command in the image, at its path?
  const boxed = backends.filter((b) => isContainerSetting(b.mode));
  const engineSandbox = [sandboxes.for('docker'), sandboxes.for('podman')].find(
    (s): s is ContainerSandbox => s instanceof ContainerSandbox,
  );
  if (engineSandbox && boxed.length > 0) {
    const has = await imageHas(
      engineSandbox.policy,
      boxed.flatMap((b) => b.needs.map((n) => n.path)),
    );
    for (const need of boxed.flatMap((b) => b.needs)) {
      const found = has?.get(need.path);
      if (found !== undefined) need.inImage = found;
    }
  }
  return { report: sandboxes.report, backends };
}

/** The sandbox diagnosis as lines a person reads. */
export function formatSandbox(d: SandboxDiagnosis): string {
  if ('error' in d.report) return `sandbox: UNAVAILABLE: ${d.report.error}`;
  const r = d.report;
  const c = r.container;
  const lines = isContainerSetting(r.mode)
    ? [`sandbox: ${r.mode}, network ${networkText(r)}: each task in a container of its image`]
    : r.mode === 'bwrap'
      ? [
          `sandbox: bwrap (${r.bwrap?.version ?? r.bwrap?.path}), network ${networkText(r)}: agents write only their workspace and config home`,
        ]
      : r.setting === 'auto'
        ? [`sandbox: OFF: bubblewrap cannot run here (${r.reason}); agents can write anywhere this user can`]
        : [`sandbox: off (${r.reason ?? 'SANDBOX=off'})`];
  if (c) {
    lines.push(
      `  ${c.engine} ${c.version} at ${c.path}${c.rootless ? ' (rootless)' : ''}; image ${c.image} ${c.imageId}: node ${c.node ?? 'NOT FOUND'}, git ${c.git ?? 'NOT FOUND'}`,
    );
  }
  for (const b of d.backends) {
    if (isContainerSetting(b.mode)) {
      const need = b.needs[0];
      const state = need?.inImage === undefined ? '' : need.inImage ? ' (there)' : ' (NOT IN THE IMAGE)';
      lines.push(`  ${b.name}: ${b.mode}; needs ${need?.path ?? 'its command'} inside the image${state}`);
      continue;
    }
    const needs = b.needs.map((n) => `${n.name} ${n.path}${n.bound ? ` (binds ${n.dir} read-only)` : ''}`);
    lines.push(`  ${b.name}: ${b.mode}; needs ${needs.join(', ')}`);
  }
  return lines.join('\n');
}
