// The cost of SANDBOX_NETWORK=allowlist per request: a fake agent in the real bubblewrap makes N sequential GETs,
// each on a new connection, to an HTTP server on the host's 127.0.0.1: directly with the network on, and through
// the gateway's proxy (the forwarder in the sandbox, the unix socket, the proxy) with the allowlist, both as a
// plain-HTTP forward and as a CONNECT tunnel.
//   node --import tsx bench/sandbox-egress.ts [--requests 200]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Containment } from '../src/runner/containment.js';
import { ProcessRegistry } from '../src/runner/registry.js';
import { Sandboxes, type SandboxNetwork } from '../src/runner/sandbox.js';
import { createTaskRunner } from '../src/runner/task-runner.js';

const FIXTURE = fileURLToPath(new URL('../test/fixtures/fake-cli/egress.mjs', import.meta.url));
const i = process.argv.indexOf('--requests');
const requests = i > 0 ? Number(process.argv[i + 1]) : 200;

const server = createServer((_req, res) => res.end('ok\n'));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as { port: number }).port;
const base = mkdtempSync('/var/tmp/a2a-bench-egress-');
const workspace = join(base, 'data', 'scratch', 'w');
mkdirSync(workspace, { recursive: true });
const containment = await Containment.detect('auto', process.env.PATH);
try {
  for (const network of ['on', 'allowlist'] as SandboxNetwork[]) {
    const sandboxes = await Sandboxes.detect(
      'bwrap',
      [],
      {
        dataDir: join(base, 'data'),
        workspaceParents: [join(base, 'data', 'scratch')],
        secretFiles: [],
        network,
        allowedHosts: [`127.0.0.1:${port}`],
      },
      process.env.PATH,
    );
    const run = createTaskRunner({
      registry: new ProcessRegistry(join(base, `reg-${network}`)),
      limits: { apply: (o) => o },
      containment,
      sandbox: sandboxes.for(undefined),
    });
    const r = await run(
      {
        argv: [process.execPath, FIXTURE, 'bench', String(port), String(requests)],
        cwd: workspace,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: workspace },
        signal: AbortSignal.timeout(300_000),
      },
      `bench-egress-${network}`,
    );
    if (r.exitCode !== 0) throw new Error(`network ${network}: exit ${r.exitCode}: ${r.stderr}`);
    for (const line of r.stdout.trim().split('\n')) console.log(`network ${network}: ${line} ms`);
  }
} finally {
  server.close();
  await containment.close();
  rmSync(base, { recursive: true, force: true });
}
