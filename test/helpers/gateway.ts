import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load.js';
import { createGateway, type Gateway } from '../../src/main.js';
import { BUILTIN_SKILLS } from '../../src/skills/catalog.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const FAKE_CLI_DIR = join(REPO_ROOT, 'test/fixtures/fake-cli');

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix = 'a2a-gw-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Collects log lines in memory so a test can read (and grep) everything the gateway logged. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  text(): string {
    return this.lines.join('\n');
  }
}

export interface TestGateway {
  url: string;
  gateway: Gateway;
  dataDir: string;
  workDir: string;
  logs: LogCapture;
  stop(): Promise<void>;
}

export interface TestGatewayOptions {
  env?: Record<string, string>;
  /** YAML text of the config file. */
  configYaml?: string;
  /** The environment children see (defaults to this process's). */
  childEnv?: NodeJS.ProcessEnv;
}

/** Starts a gateway in this process on 127.0.0.1 and a random port, with its own data and workspace dirs. */
export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const data = tempDir('a2a-gw-data-');
  const work = tempDir('a2a-gw-work-');
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: data.dir,
    WORKSPACE_ROOTS: work.dir,
    LOG_LEVEL: 'debug',
    KILL_GRACE: '0.5',
    SHUTDOWN_TIMEOUT: '2',
    ...opts.env,
  };
  let configFile: string | undefined;
  if (opts.configYaml) {
    configFile = join(data.dir, 'gateway.yaml');
    writeFileSync(configFile, opts.configYaml);
  }
  const config = loadConfig({
    env,
    ...(configFile ? { configFile } : {}),
    cwd: work.dir,
    knownSkills: BUILTIN_SKILLS.map((s) => s.id),
  });
  const logs = new LogCapture();
  const gateway = await createGateway({
    config,
    env: opts.childEnv ?? process.env,
    logDestination: logs.stream,
  });
  const url = await gateway.start();
  let stopped = false;
  return {
    url,
    gateway,
    dataDir: data.dir,
    workDir: work.dir,
    logs,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await gateway.stop();
      data.cleanup();
      work.cleanup();
    },
  };
}

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

/** Gateways this test process spawned and has not seen exit: ended with it, whatever way it ends. */
const spawned = new Set<ChildProcess>();
let reaperInstalled = false;

function installReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  const reap = (): void => {
    for (const child of spawned) {
      try {
        if (child.pid) process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', reap);
  // The test runner ends a file that overruns its timeout with SIGTERM; the gateways it started go with it.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      reap();
      process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
    });
  }
}

/**
 * Runs `a2a-gateway serve` as its own process (through tsx, from the sources) and waits until it listens.
 * The caller ends it with `kill`; it is killed by pid, never by name.
 */
export async function spawnGateway(
  env: Record<string, string>,
  args: string[] = [],
): Promise<GatewayProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'serve', ...args],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        HOST: '127.0.0.1',
        PORT: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  installReaper();
  spawned.add(child);
  let out = '';
  const exited = new Promise<number | null>((res) =>
    child.on('exit', (code) => {
      spawned.delete(child);
      res(code);
    }),
  );
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => {
      // A gateway that never listened is not left running for the rest of the file.
      child.kill('SIGKILL');
      rej(new Error(`gateway did not start within 30 s:\n${out}`));
    }, 30_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString('utf8');
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*a2a-gateway listening/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        res(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`gateway exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    child,
    url,
    output: () => out,
    exited,
    kill: (signal) => {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
      try {
        process.kill(child.pid, signal);
      } catch {
        // exited between the check and the signal
      }
    },
  };
}

/** POSTs a JSON-RPC request (or any raw body) to the gateway and returns status and parsed body. */
export async function rpc(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // leave as text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Polls `check` until it returns a value, at most `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * True while a process with this pid is running. A zombie counts as gone: on machines whose PID 1 does not reap
 * orphans, a killed orphan stays a zombie for good, though it can no longer run.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export interface SendOptions {
  skill: string;
  /** Plain text for the skill's main field, or an input object sent as a data part. */
  input: string | Record<string, unknown>;
  /** More message metadata (timeout, model, ...). */
  metadata?: Record<string, unknown>;
  /** Fields set on the message itself (contextId, taskId). */
  message?: Record<string, unknown>;
  blocking?: boolean;
  headers?: Record<string, string>;
}

/** A 0.3 `message/send` for a skill, as most tests send it. */
export function sendTask(url: string, opts: SendOptions): ReturnType<typeof rpc> {
  const part =
    typeof opts.input === 'string' ? { kind: 'text', text: opts.input } : { kind: 'data', data: opts.input };
  return rpc(
    url,
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'message/send',
      params: {
        message: {
          kind: 'message',
          role: 'user',
          messageId: `m-${Math.random()}`,
          parts: [part],
          metadata: { skill: opts.skill, ...opts.metadata },
          ...opts.message,
        },
        configuration: { blocking: opts.blocking ?? true },
      },
    },
    opts.headers,
  );
}

/**
 * An A2A 1.0 `SendMessage` of one text part (JSON-RPC, `A2A-Version: 1.0`): the new task's id. `metadata` goes on
 * the message (backend, skill), `returnImmediately` answers before the task ends.
 */
export async function sendMessage10(
  url: string,
  opts: {
    headers: Record<string, string>;
    text?: string;
    metadata?: Record<string, unknown>;
    returnImmediately?: boolean;
  },
): Promise<string> {
  const sent = await rpc(
    url,
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'SendMessage',
      params: {
        message: {
          messageId: `m-${Math.random()}`,
          role: 'ROLE_USER',
          parts: [{ text: opts.text ?? 'hi' }],
          metadata: opts.metadata ?? { skill: 'code' },
        },
        ...(opts.returnImmediately ? { configuration: { returnImmediately: true } } : {}),
      },
    },
    { 'a2a-version': '1.0', ...opts.headers },
  );
  const id = (sent.body as { result?: { task?: { id?: string } } }).result?.task?.id;
  if (!id) throw new Error(`SendMessage did not return a task: ${JSON.stringify(sent.body)}`);
  return id;
}

/** `tasks/get` (0.3) of one task: its result, or undefined. */
export async function getTask(url: string, id: string): Promise<any> {
  return (await rpc(url, { jsonrpc: '2.0', id: 3, method: 'tasks/get', params: { id } })).body.result;
}

/** A message on an existing task (a reply to its question): text, or a data part. */
export function replyToTask(
  url: string,
  task: { id: string; contextId: string },
  content: string | object,
): ReturnType<typeof rpc> {
  const part =
    typeof content === 'string' ? { kind: 'text', text: content } : { kind: 'data', data: content };
  return rpc(url, {
    jsonrpc: '2.0',
    id: 2,
    method: 'message/send',
    params: {
      message: {
        kind: 'message',
        role: 'user',
        messageId: `r-${Math.random()}`,
        taskId: task.id,
        contextId: task.contextId,
        parts: [part],
      },
    },
  });
}

/** The data part of an input-required task's status: the question it asks. */
export function questionOf(task: any): Record<string, any> {
  const part = task.status?.message?.parts?.find((p: any) => p.kind === 'data');
  if (!part) throw new Error(`no question in ${JSON.stringify(task.status)}`);
  return part.data;
}
