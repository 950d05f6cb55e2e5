import type { BackendConfig, EnvSettings } from './schema.js';

/**
 * The container sandbox's settings, checked together: an engine named globally or on a backend needs
 * SANDBOX_IMAGE (nothing is pulled behind the user's back), one gateway uses one engine, and the allowlisted
 * network (a proxy bridged into bubblewrap's namespace) is not available in a container.
 */
export function containerSandboxIssues(
  env: Pick<EnvSettings, 'SANDBOX' | 'SANDBOX_IMAGE' | 'SANDBOX_NETWORK'>,
  backends: Record<string, BackendConfig>,
): string[] {
  const named: Array<{ where: string; engine: string }> = [];
  if (env.SANDBOX === 'docker' || env.SANDBOX === 'podman') {
    named.push({ where: `SANDBOX=${env.SANDBOX}`, engine: env.SANDBOX });
  }
  for (const [name, backend] of Object.entries(backends)) {
    const own = 'sandbox' in backend ? backend.sandbox : undefined;
    if (own === 'docker' || own === 'podman')
      named.push({ where: `backends.${name}.sandbox: ${own}`, engine: own });
  }
  const first = named[0];
  if (!first) return [];
  const issues: string[] = [];
  if (!env.SANDBOX_IMAGE) {
    issues.push(
      `SANDBOX_IMAGE: ${first.where} needs the image each task's container starts from, built or pulled beforehand (the gateway never pulls one), e.g. SANDBOX_IMAGE=a2a-sandbox:latest (docs/sandbox.md has a Dockerfile)`,
    );
  }
  const engines = [...new Set(named.map((n) => n.engine))];
  if (engines.length > 1) {
    issues.push(
      `SANDBOX: one gateway runs containers with one engine; ${named.map((n) => n.where).join(' and ')} name both`,
    );
  }
  if (env.SANDBOX_NETWORK === 'allowlist') {
    issues.push(
      `SANDBOX_NETWORK: allowlist is not supported with containers (${first.where}); use on (the host's network) or off (none), or SANDBOX=bwrap for the allowlist`,
    );
  }
  return issues;
}
