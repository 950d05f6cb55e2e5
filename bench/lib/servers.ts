/**
 * Starts what a benchmark compares, each as a process of its own on 127.0.0.1 (so the load generator never shares
 * its event loop): A the gateway with production settings, B the bare SDK server, C raw node:http. Every process is
 * ended by its pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const BENCH_KEY = 'bench-key-0123456789abcdef';
/** Raised so that no request of a benchmark is refused (the default is 100 a minute). */
export const BENCH_RATE_LIMIT = 100_000_000;

export interface Server {
  name: string;
  url: string;
  pid: number;
  /** Milliseconds from spawn to listening. */
  startMs: number;
  /** Resident memory of the process now, in MB (from /proc). */
  rssMb(): number;
  /** CPU time the process has used so far (user + system), in ms (from /proc). */
  cpuMs(): number;
  stop(): Promise<void>;
}

/**
 * CPU time (user + system) a process has used, in ms, 0 when it is gone. Per request served, it tells what a
 * server costs even on a machine busy with other work, where throughput and latency mostly measure the scheduler.
 */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) in parentheses: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
/** Linux's USER_HZ, the unit of /proc's CPU times (100 on every mainstream architecture). */
const CLOCK_TICKS = 100;

/** Resident set size of a process in MB, 0 when it is gone. */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) if (child.pid) process.kill(child.pid, 'SIGKILL');
});

async function startProcess(
  name: string,
  argv: string[],
  env: Record<string, string>,
  ready: RegExp,
  cleanup: () => void = () => undefined,
): Promise<Server> {
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const exited = new Promise<void>((res) =>
    child.once('exit', () => {
      live.delete(child);
      res();
    }),
  );
  let out = '';
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${name} did not start within 60 s:\n${out}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      // Kept only until the server listens; afterwards its output (access logs) is read and dropped, as a log
      // shipper would.
      if (out.length < 1_000_000) out += chunk.toString('utf8');
      const m = ready.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        out = '';
        res(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => rej(new Error(`${name} exited before listening:\n${out}`)));
  });
  const startMs = performance.now() - t0;
  const pid = child.pid ?? 0;
  return {
    name,
    url,
    pid,
    startMs,
    rssMb: () => rssOf(pid),
    cpuMs: () => cpuMsOf(pid),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
      }, 10_000);
      await exited;
      clearTimeout(timer);
      cleanup();
    },
  };
}

export interface GatewayOptions {
  /** YAML of the gateway's config file (backends and skills). */
  configYaml: string;
  /** Extra environment (over the production defaults below). */
  env?: Record<string, string>;
  /** An existing data directory (kept on stop); a temporary one otherwise. */
  dataDir?: string;
  /** Another checkout to start the gateway from (its sources), to compare two versions on the same load. */
  root?: string;
}

/**
 * A: the gateway as it runs in production: SQLite store, an API key, metrics and access logs on (LOG_LEVEL info),
 * the rate limit raised to {@link BENCH_RATE_LIMIT} a minute (it stays in the path and never refuses).
 */
export async function startGateway(opts: GatewayOptions): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'a2a-bench-'));
  const dataDir = opts.dataDir ?? join(dir, 'data');
  const configFile = join(dir, 'gateway.yaml');
  writeFileSync(configFile, opts.configYaml);
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: '0',
    NODE_ENV: 'production',
    DATA_DIR: dataDir,
    WORKSPACE_ROOTS: dir,
    STORE: 'sqlite',
    API_KEY: BENCH_KEY,
    METRICS_ENABLED: 'true',
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_MINUTE: String(BENCH_RATE_LIMIT),
    A2A_GATEWAY_CONFIG: configFile,
    ...opts.env,
  };
  // BENCH_CPU_PROF=<dir> writes a CPU profile of the gateway there when it stops (open it in Chrome DevTools).
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  // BENCH_BUILT=1 starts the built gateway (`npm run build` first), as the image and the systemd unit do: no
  // TypeScript compiled at load time, which is most of the start-up from the sources.
  const root = opts.root ?? REPO_ROOT;
  const entry =
    process.env.BENCH_BUILT === '1'
      ? [join(root, 'dist/cli/main.js')]
      : ['--import', 'tsx', join(root, 'src/cli/main.ts')];
  return startProcess(
    'A gateway',
    [...profile, ...entry, 'serve'],
    env,
    /"url":"(http:\/\/[^"]+)"[^\n]*a2a-gateway listening/,
    () => rmSync(dir, { recursive: true, force: true }),
  );
}

/** B: the bare `@a2a-js/sdk` Express server; its executor spawns `spawnPath` when given. */
export function startBareSdk(spawnPath?: string): Promise<Server> {
  const argv = ['--import', 'tsx', join(REPO_ROOT, 'bench/servers/bare-sdk.ts')];
  if (spawnPath) argv.push('--spawn', spawnPath);
  return startProcess('B bare SDK', argv, { NODE_ENV: 'production' }, /LISTENING (http:\S+)/);
}

/** C: raw node:http answering one fixed JSON-RPC response. */
export function startRawHttp(): Promise<Server> {
  return startProcess(
    'C raw node:http',
    ['--import', 'tsx', join(REPO_ROOT, 'bench/servers/raw-http.ts')],
    { NODE_ENV: 'production' },
    /LISTENING (http:\S+)/,
  );
}
