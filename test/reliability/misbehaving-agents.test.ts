// Misbehaving agents: a fake Claude Code (test/fixtures/fake-cli/misbehave.mjs) that hangs, ignores SIGTERM,
// leaves a setsid daemon, floods 200 MB on stdout, prints invalid JSON between good lines, exits 0 with no result,
// exits at once, or dies by a signal, run through a real gateway process. For each: the task ends in a clear state
// with a reason a person can act on, the gateway's memory stays bounded, and no process of the task is alive
// afterwards, checked in the process table (/proc) by a tag every one of its processes carries.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FAKE_CLI_DIR,
  getTask,
  rpc,
  sendTask,
  spawnGateway,
  tempDir,
  waitFor,
  type GatewayProcess,
} from '../helpers/gateway.js';

const MODES = [
  'hang',
  'ignore-term',
  'setsid-daemon',
  'flood',
  'invalid-json',
  'no-result',
  'exit-now',
  'die-by-signal',
] as const;
type Mode = (typeof MODES)[number];

/** A tag per mode: numeric, so the daemon's "sleep 300.<tag>" is unique too. */
const TAGS = Object.fromEntries(MODES.map((m) => [m, String(randomInt(10_000_000, 99_999_999))])) as Record<
  Mode,
  string
>;

/** Pids of running processes whose command line or environment holds `tag`. */
function processesTagged(tag: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'Z' || state === 'X') continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      const environ = readFileSync(`/proc/${name}/environ`, 'utf8');
      if (cmdline.includes(tag) || environ.includes(`MISBEHAVE_TAG=${tag}`)) found.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** The gateway's resident memory now and at its peak, in MiB (VmRSS and VmHWM). */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

function reasonOf(task: any): string {
  return (task?.status?.message?.parts ?? []).map((p: any) => p.text ?? '').join(' ');
}

describe('misbehaving agents', () => {
  let gw: GatewayProcess;
  const dirs = [tempDir('a2a-rel-data-'), tempDir('a2a-rel-work-')];
  const [data, work] = dirs as [ReturnType<typeof tempDir>, ReturnType<typeof tempDir>];
  const figures: string[] = [];

  before(async () => {
    const backends = MODES.map(
      (mode) => `  ${mode}:
    type: claude
    command: ${join(FAKE_CLI_DIR, 'misbehave.mjs')}
    env: { MISBEHAVE_MODE: "${mode}", MISBEHAVE_TAG: "${TAGS[mode]}" }`,
    ).join('\n');
    const configFile = join(data.dir, 'gateway.yaml');
    writeFileSync(configFile, `allowBackendOverride: true\nbackends:\n${backends}\n`);
    gw = await spawnGateway({
      DATA_DIR: data.dir,
      WORKSPACE_ROOTS: work.dir,
      A2A_GATEWAY_CONFIG: configFile,
      KILL_GRACE: '0.5',
      LOG_LEVEL: process.env.REL_LOG_LEVEL ?? 'info',
      MAX_CONCURRENT_TASKS: '2',
      RATE_LIMIT_PER_MINUTE: '0',
      ...(process.env.SANDBOX ? { SANDBOX: process.env.SANDBOX } : {}),
      ...(process.env.PROCESS_CONTAINMENT ? { PROCESS_CONTAINMENT: process.env.PROCESS_CONTAINMENT } : {}),
    });
  });

  after(async () => {
    if (process.env.REL_LOG_LEVEL) process.stdout.write(gw?.output() ?? '');
    gw?.kill('SIGTERM');
    await gw?.exited;
    for (const d of dirs) d.cleanup();
    if (figures.length > 0) process.stdout.write(`# figures\n${figures.map((f) => `#   ${f}`).join('\n')}\n`);
  });

  /** Sends one task to `mode`'s backend and waits (bounded) for it to end; returns the finished task. */
  async function run(mode: Mode, metadata: Record<string, unknown> = {}, cancelWhenWorking = false) {
    const sent = await sendTask(gw.url, {
      skill: 'code',
      input: `misbehave: ${mode}`,
      metadata: { backend: mode, ...metadata },
      blocking: false,
    });
    const id: string = sent.body.result?.id;
    assert.ok(id, JSON.stringify(sent.body));
    if (cancelWhenWorking) {
      // Working, and its processes are up: both the fixture and its grandchild carry the tag.
      await waitFor(
        () => (processesTagged(TAGS[mode]).length >= 2 ? true : undefined),
        15_000,
        'the processes',
      );
      const canceled = await rpc(gw.url, { jsonrpc: '2.0', id: 9, method: 'tasks/cancel', params: { id } });
      assert.equal(canceled.body.result?.status?.state, 'canceled', JSON.stringify(canceled.body));
    }
    return waitFor(
      async () => {
        const task = await getTask(gw.url, id);
        return ['completed', 'failed', 'canceled'].includes(task?.status?.state) ? task : undefined;
      },
      60_000,
      `the ${mode} task to end`,
    );
  }

  function assertNoneLeft(mode: Mode): void {
    assert.deepEqual(processesTagged(TAGS[mode]), [], `no process of the ${mode} task is alive`);
  }

  test('hangs: the deadline fails it "timed out", and its processes are gone', async () => {
    const task = await run('hang', { timeout: 2 });
    assert.equal(task.status.state, 'failed');
    assert.match(reasonOf(task), /timed out after 2 s/);
    assertNoneLeft('hang');
  });

  test('ignores SIGTERM (and so does its grandchild): cancel ends it "canceled" and kills both', async () => {
    const started = Date.now();
    const task = await run('ignore-term', {}, true);
    assert.equal(task.status.state, 'canceled');
    assertNoneLeft('ignore-term');
    figures.push(`ignore-term: cancel to all processes gone in ${Date.now() - started} ms (incl. start)`);
  });

  test('leaves a setsid daemon holding stdout: the task completes, and the daemon is gone', async () => {
    const task = await run('setsid-daemon');
    assert.equal(task.status.state, 'completed', reasonOf(task));
    assertNoneLeft('setsid-daemon');
  });

  test('200 MB on stdout: the task completes with its result, the gateway stays within 100 MB of its peak', async () => {
    const before = memoryOf(gw.child.pid!);
    const started = Date.now();
    const task = await run('flood');
    const afterRun = memoryOf(gw.child.pid!);
    assert.equal(task.status.state, 'completed', reasonOf(task));
    const growth = afterRun.peak - before.peak;
    figures.push(
      `flood 200 MB: ${Date.now() - started} ms; gateway peak RSS ${before.peak.toFixed(0)} -> ${afterRun.peak.toFixed(0)} MiB (+${growth.toFixed(0)})`,
    );
    assert.ok(growth < 100, `peak RSS grew by ${growth.toFixed(0)} MiB for 200 MB of output`);
    assertNoneLeft('flood');
  });

  test('invalid JSON lines between good ones: skipped, and the result is the good one', async () => {
    const task = await run('invalid-json');
    assert.equal(task.status.state, 'completed', reasonOf(task));
    assert.match(JSON.stringify(task), /survived the garbage/);
    assertNoneLeft('invalid-json');
  });

  test('exits 0 with no result: failed, "ended without a result"', async () => {
    const task = await run('no-result');
    assert.equal(task.status.state, 'failed');
    assert.match(reasonOf(task), /ended without a result/);
    assertNoneLeft('no-result');
  });

  test('exits at once: failed with the exit code and its stderr', async () => {
    const task = await run('exit-now');
    assert.equal(task.status.state, 'failed');
    assert.match(reasonOf(task), /exited with code 3/);
    assert.match(reasonOf(task), /fatal: cannot start/);
    assertNoneLeft('exit-now');
  });

  test('dies by a signal: failed, "killed by SIGKILL"', async () => {
    const task = await run('die-by-signal');
    assert.equal(task.status.state, 'failed');
    assert.match(reasonOf(task), /killed by SIGKILL/);
    assertNoneLeft('die-by-signal');
  });

  test('the gateway still answers, and its memory is back near where it was', async () => {
    const health = await fetch(`${gw.url}/health?detailed=true`);
    assert.equal(health.status, 200);
    const body = (await health.json()) as { containment?: { tier?: string } };
    assert.ok(body.containment?.tier, JSON.stringify(body));
    figures.push(
      `containment: ${JSON.stringify(body.containment)}; gateway RSS now ${memoryOf(gw.child.pid!).rss.toFixed(0)} MiB`,
    );
  });
});
