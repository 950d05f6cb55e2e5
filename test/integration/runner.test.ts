// The process runner against fake CLIs (test/fixtures/fake-cli): exit codes, lines, stdin, cancellation of whole
// process groups, leftovers of a leader that exits, output floods, spawn failures, the env allowlist and PATH
// lookup. Every process a test starts is ended by its process group in afterEach, even when the test fails.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_ENV_ALLOWLIST,
  LineSplitter,
  buildChildEnv,
  resolveCommand,
  runProcess,
  type ChildInput,
  type RunOptions,
  type RunResult,
} from '../../src/runner/index.js';
import { KILL_CONFIRM_MS } from '../../src/runner/process-group.js';

const FAKE_DIR = fileURLToPath(new URL('../fixtures/fake-cli/', import.meta.url));
const fake = (name: string): string => join(FAKE_DIR, name);
const GRACE_MS = 300;
/** The runner's own bound after an abort or a leader's exit, plus slack for a loaded 2-core machine. */
const TEARDOWN_BOUND_MS = GRACE_MS + KILL_CONFIRM_MS + 1500;
const NODE_DIR = dirname(process.execPath);
const childEnv = buildChildEnv({
  base: { ...process.env, PATH: `${NODE_DIR}${delimiter}${process.env.PATH ?? ''}` },
});

// --- bookkeeping: the process groups this file started, and runs still going -----------------------------------

const ownedGroups = new Set<number>();
const liveRuns: { controller: AbortController; done: Promise<unknown> }[] = [];

interface Started {
  result: Promise<RunResult>;
  controller: AbortController;
}

/** Starts a fake CLI with test defaults; the run is aborted and its group killed after the test whatever happens. */
function start(opts: Partial<RunOptions> & Pick<RunOptions, 'argv'>): Started {
  const controller = new AbortController();
  const result = runProcess({
    cwd: FAKE_DIR,
    env: childEnv,
    graceMs: GRACE_MS,
    signal: controller.signal,
    ...opts,
    onSpawn: (pid) => {
      ownedGroups.add(pid);
      opts.onSpawn?.(pid);
    },
  });
  liveRuns.push({ controller, done: result.catch(() => undefined) });
  return { result, controller };
}

function node(script: string, ...args: string[]): string[] {
  return [process.execPath, fake(script), ...args];
}

interface ProcState {
  state: string;
  pgrp: number;
}

function procState(pid: number): ProcState | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', pgrp: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

/**
 * True when `pid` no longer runs. This machine's PID 1 does not reap orphans, so a killed grandchild (reparented
 * to PID 1) can stay a zombie: `kill(pid, 0)` still succeeds, but /proc shows state Z. A zombie runs nothing.
 */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  const state = procState(pid)?.state;
  return state === undefined || state === 'Z' || state === 'X';
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** SIGKILLs the running members of groups we started; only fake-CLI processes, checked by command line. */
function killOwnedGroups(): void {
  const pids = readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
  for (const pid of pids) {
    const st = procState(pid);
    if (!st || st.state === 'Z' || !ownedGroups.has(st.pgrp) || !cmdline(pid).includes(FAKE_DIR)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

afterEach(async () => {
  for (const run of liveRuns) run.controller.abort();
  await Promise.all(liveRuns.map((run) => run.done));
  liveRuns.length = 0;
  killOwnedGroups();
});

// --- waiting on output, with a bound -------------------------------------------------------------------------

interface LineLog {
  lines: string[];
  onLine: (line: string) => void;
  waitFor: (match: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>;
}

function lineLog(): LineLog {
  const lines: string[] = [];
  const waiters: { match: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  return {
    lines,
    onLine(line) {
      lines.push(line);
      for (const w of [...waiters]) {
        const m = w.match.exec(line);
        if (m) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    },
    waitFor(match, timeoutMs = 15_000) {
      for (const line of lines) {
        const m = match.exec(line);
        if (m) return Promise.resolve(m);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no line matching ${match} within ${timeoutMs} ms; got ${JSON.stringify(lines)}`));
        }, timeoutMs);
        const waiter = {
          match,
          resolve: (m: RegExpExecArray) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        waiters.push(waiter);
      });
    },
  };
}

// --- tests ---------------------------------------------------------------------------------------------------

void describe('runProcess: exit and output', () => {
  void test('exit code 0, argv passed verbatim (no shell), cwd honoured', async () => {
    const out = lineLog();
    const cwd = mkdtempSync(join(tmpdir(), 'runner-cwd-'));
    try {
      const args = ['a b', '$HOME', '; rm -rf /', '`id`', "it's"];
      const r = await start({ argv: [fake('echo-args.mjs'), ...args], cwd, onStdoutLine: out.onLine }).result;
      assert.equal(r.exitCode, 0);
      assert.equal(r.signal, null);
      assert.equal(r.aborted, false);
      assert.equal(r.spawnError, undefined);
      assert.ok(typeof r.pid === 'number');
      assert.deepEqual(JSON.parse(r.stdout), { argv: args, cwd });
      assert.deepEqual(out.lines, [r.stdout.trimEnd()]);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  void test('non-zero exit code with stdout and stderr kept apart', async () => {
    const out = lineLog();
    const err = lineLog();
    const r = await start({
      argv: node('exit-code.mjs', '3', 'boom: model unreachable'),
      onStdoutLine: out.onLine,
      onStderrLine: err.onLine,
    }).result;
    assert.equal(r.exitCode, 3);
    assert.equal(r.signal, null);
    assert.equal(r.stdout, 'exit-code: 3\n');
    assert.equal(r.stderr, 'boom: model unreachable\n');
    assert.deepEqual(out.lines, ['exit-code: 3']);
    assert.deepEqual(err.lines, ['boom: model unreachable']);
    assert.equal(r.stdoutTruncated, false);
    assert.equal(r.stderrTruncated, false);
  });

  void test('a child killed by a signal it sent itself: exitCode null, signal set, not aborted', async () => {
    const r = await start({ argv: node('exit-code.mjs', 'SIGKILL') }).result;
    assert.equal(r.exitCode, null);
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.aborted, false);
  });

  void test('lines: CRLF, a UTF-8 character split across chunks, a last line without newline', async () => {
    const out = lineLog();
    const chunks = [
      Buffer.concat([Buffer.from('h'), Buffer.from('€').subarray(0, 1)]),
      Buffer.concat([Buffer.from('€').subarray(1), Buffer.from('llo\r\n\r\nsecond 😀 line\nthi')]),
      Buffer.from('rd, no newline'),
    ].map((b) => b.toString('base64'));
    const r = await start({
      argv: node('write-chunks.mjs', '--gap-ms', '40', ...chunks),
      onStdoutLine: out.onLine,
    }).result;
    assert.equal(r.exitCode, 0);
    assert.deepEqual(out.lines, ['h€llo', '', 'second 😀 line', 'third, no newline']);
    assert.equal(r.stdout, 'h€llo\r\n\r\nsecond 😀 line\nthird, no newline');
  });

  void test('a throwing line callback is reported, later lines still arrive, the run completes', async () => {
    const seen: string[] = [];
    const r = await start({
      argv: node('write-chunks.mjs', Buffer.from('one\ntwo\nthree\n').toString('base64')),
      onStdoutLine: (line) => {
        seen.push(line);
        if (line === 'one') throw new Error('parser bug');
      },
    }).result;
    assert.equal(r.exitCode, 0);
    assert.deepEqual(seen, ['one', 'two', 'three']);
    assert.equal(r.callbackError?.message, 'parser bug');
  });
});

void describe('LineSplitter', () => {
  void test('byte-by-byte input with 2-, 3- and 4-byte characters and CRLF', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter(1024, (l) => lines.push(l));
    for (const byte of Buffer.from('é€😀\r\nx\n\nlast')) splitter.push(Buffer.from([byte]));
    splitter.end();
    assert.deepEqual(lines, ['é€😀', 'x', '', 'last']);
  });

  void test('long lines are cut to maxLineBytes on a character boundary, the rest of the line dropped', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter(4, (l) => lines.push(l));
    splitter.push(Buffer.from('abcdefgh\nxy\naé€\nabcd\r\n'));
    splitter.push(Buffer.from('abcd'));
    splitter.push(Buffer.from('efgh'));
    splitter.push(Buffer.from('ijkl\nend'));
    splitter.end();
    assert.deepEqual(lines, ['abcd', 'xy', 'aé', 'abcd', 'abcd', 'end']);
  });
});

void describe('runProcess: stdin', () => {
  void test('stdin is closed when no input is given: the child reads EOF at once', async () => {
    const r = await start({ argv: node('read-stdin.mjs', '--timeout-ms', '10000') }).result;
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { bytes: 0, text: '' });
    assert.ok(r.durationMs < 8000, `took ${r.durationMs} ms`);
  });

  void test('stdin text is delivered and then closed', async () => {
    const input = 'héllo\nworld 😀';
    const r = await start({ argv: node('read-stdin.mjs'), stdin: input }).result;
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { bytes: Buffer.byteLength(input), text: input });
  });

  void test('interactive stdin: the caller answers the child while it runs, then closes stdin', async () => {
    let input: ChildInput | undefined;
    const seen: string[] = [];
    const r = await start({
      argv: node('claude-asks.mjs'),
      interactive: (i) => {
        input = i;
        i.write(`${JSON.stringify({ type: 'user', message: { role: 'user', content: 'go' } })}\n`);
      },
      onStdoutLine: (line) => {
        seen.push(line);
        const event = JSON.parse(line) as { type: string; request_id?: string };
        if (event.type === 'control_request') {
          const response = {
            subtype: 'success',
            request_id: event.request_id,
            response: { behavior: 'deny', message: 'no' },
          };
          assert.equal(input?.write(`${JSON.stringify({ type: 'control_response', response })}\n`), true);
        }
        if (event.type === 'result') input?.end();
      },
    }).result;
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(seen.at(-1) ?? '', /"result":"denied: no"/);
    // After the run, the writer drops what it is given instead of throwing.
    assert.equal(input?.write('late\n'), false);
    input?.end();
  });

  void test('interactive stdin left open is closed when the run is aborted', async () => {
    const run = start({
      argv: node('read-stdin.mjs', '--timeout-ms', '60000'),
      interactive: () => undefined,
    });
    setTimeout(() => run.controller.abort(), 300);
    const r = await run.result;
    assert.equal(r.aborted, true);
  });

  void test('input the child never reads does not break the run', async () => {
    const r = await start({ argv: node('exit-code.mjs', '0'), stdin: 'x'.repeat(1024 * 1024) }).result;
    assert.equal(r.exitCode, 0);
  });
});

void describe('runProcess: cancellation and process groups', () => {
  void test('an already aborted signal starts nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    let spawned = false;
    const r = await runProcess({
      argv: node('hang.mjs'),
      cwd: FAKE_DIR,
      env: childEnv,
      signal: controller.signal,
      onSpawn: () => {
        spawned = true;
      },
    });
    assert.equal(r.aborted, true);
    assert.equal(r.pid, undefined);
    assert.equal(r.exitCode, null);
    assert.equal(spawned, false);
  });

  void test('abort ends a child with SIGTERM, quickly, and removes its abort listener', async () => {
    const out = lineLog();
    const run = start({ argv: node('hang.mjs'), graceMs: 5000, onStdoutLine: out.onLine });
    await out.waitFor(/^READY$/);
    const abortedAt = performance.now();
    run.controller.abort();
    const r = await run.result;
    const teardownMs = performance.now() - abortedAt;
    assert.equal(r.aborted, true);
    assert.equal(r.signal, 'SIGTERM');
    assert.equal(r.exitCode, null);
    assert.ok(teardownMs < 2000, `teardown took ${Math.round(teardownMs)} ms (grace was 5000 ms)`);
    assert.ok(isGone(r.pid!));
    assert.equal(getEventListeners(run.controller.signal, 'abort').length, 0);
  });

  void test('a leader and a grandchild that both ignore SIGTERM are SIGKILLed after the grace period', async () => {
    const out = lineLog();
    const err = lineLog();
    let leader: number | undefined;
    const run = start({
      argv: node('ignore-term.mjs'),
      onStdoutLine: out.onLine,
      onStderrLine: err.onLine,
      onSpawn: (pid) => {
        leader = pid;
      },
    });
    const grandchild = Number((await out.waitFor(/^GRANDCHILD (\d+)$/))[1]);
    await out.waitFor(/^READY$/);
    assert.ok(leader !== undefined && !isGone(leader) && !isGone(grandchild));
    assert.equal(procState(grandchild)?.pgrp, leader, 'the grandchild is in the leader’s process group');

    const abortedAt = performance.now();
    run.controller.abort();
    const r = await run.result;
    const teardownMs = performance.now() - abortedAt;

    assert.equal(r.aborted, true);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(r.stderr.includes('SIGTERM ignored'), 'SIGTERM came first');
    assert.ok(
      teardownMs >= GRACE_MS - 20,
      `SIGKILL came before the grace period (${Math.round(teardownMs)} ms)`,
    );
    assert.ok(teardownMs < TEARDOWN_BOUND_MS, `teardown took ${Math.round(teardownMs)} ms`);
    assert.ok(isGone(leader), 'leader gone');
    assert.ok(isGone(grandchild), 'grandchild gone');
    assert.equal(getEventListeners(run.controller.signal, 'abort').length, 0);
  });

  void test('a background grandchild of a leader that exits normally is gone when the run resolves', async () => {
    const out = lineLog();
    const r = await start({ argv: node('background-child.mjs'), onStdoutLine: out.onLine }).result;
    const grandchild = Number((await out.waitFor(/^GRANDCHILD (\d+)$/, 0))[1]);
    assert.equal(r.exitCode, 0);
    assert.equal(r.aborted, false);
    assert.ok(isGone(grandchild), 'grandchild gone');
    assert.ok(r.durationMs < 10_000, `took ${r.durationMs} ms although the grandchild holds stdout open`);
  });

  void test('a background grandchild that ignores SIGTERM is SIGKILLed after the grace period', async () => {
    const out = lineLog();
    const r = await start({ argv: node('background-child.mjs', '--ignore-term'), onStdoutLine: out.onLine })
      .result;
    const grandchild = Number((await out.waitFor(/^GRANDCHILD (\d+)$/, 0))[1]);
    assert.equal(r.exitCode, 0);
    assert.equal(r.aborted, false);
    assert.ok(isGone(grandchild), 'grandchild gone');
  });

  void test('a grandchild that left the group (setsid) and holds stdout open does not make the run hang', async () => {
    const out = lineLog();
    let escaped: number | undefined;
    try {
      const run = start({ argv: node('background-child.mjs', '--escape'), onStdoutLine: out.onLine });
      escaped = Number((await out.waitFor(/^GRANDCHILD (\d+)$/))[1]);
      const r = await run.result;
      assert.equal(r.exitCode, 0);
      assert.ok(r.durationMs < TEARDOWN_BOUND_MS + 2000, `took ${r.durationMs} ms`);
      // Out of the runner's reach by design: a process that calls setsid() is no longer in the group.
      assert.ok(!isGone(escaped));
    } finally {
      if (escaped !== undefined && cmdline(escaped).includes(FAKE_DIR)) process.kill(escaped, 'SIGKILL');
    }
  });

  void test('spareLeaderFromTerm: the rest of the group gets SIGTERM and its grace, the leader outlives it', async () => {
    // A wrapper like bubblewrap: a shell that dies of SIGTERM, around a CLI that traps it and cleans up.
    const wrapped = (tag: string): string[] => [
      '/bin/sh',
      '-c',
      '"$@"; echo "WRAPPER EXIT $?"',
      'sh',
      ...node('trap-term.mjs', `TAG ${tag}`),
    ];
    const cancel = async (
      spareLeaderFromTerm: boolean,
    ): Promise<{ r: RunResult; lines: string[]; ms: number }> => {
      const out = lineLog();
      const tag = `60.${Date.now() % 1_000_000}`;
      const run = start({ argv: wrapped(tag), graceMs: 5000, spareLeaderFromTerm, onStdoutLine: out.onLine });
      await out.waitFor(/^READY$/);
      const abortedAt = performance.now();
      run.controller.abort();
      const r = await run.result;
      return { r, lines: out.lines, ms: performance.now() - abortedAt };
    };

    const spared = await cancel(true);
    assert.equal(spared.r.aborted, true);
    assert.deepEqual(spared.lines, ['READY', 'TERM', 'CLEANED', 'WRAPPER EXIT 143']);
    assert.equal(spared.r.exitCode, 0);
    assert.ok(spared.ms < 2000, `ended by the CLI's own exit (${Math.round(spared.ms)} ms, grace 5000 ms)`);

    // Without it, the wrapper dies of the SIGTERM at once (for bubblewrap, that SIGKILLs what runs inside).
    const control = await cancel(false);
    assert.equal(control.r.signal, 'SIGTERM');
    assert.ok(!control.lines.some((l) => l.startsWith('WRAPPER EXIT')), JSON.stringify(control.lines));
  });

  void test('spareLeaderFromTerm with the leader alone in its group: it gets the SIGTERM, no wait', async () => {
    const out = lineLog();
    const run = start({
      argv: node('hang.mjs'),
      graceMs: 5000,
      spareLeaderFromTerm: true,
      onStdoutLine: out.onLine,
    });
    await out.waitFor(/^READY$/);
    const abortedAt = performance.now();
    run.controller.abort();
    const r = await run.result;
    const teardownMs = performance.now() - abortedAt;
    assert.equal(r.signal, 'SIGTERM');
    assert.ok(teardownMs < 2000, `teardown took ${Math.round(teardownMs)} ms (grace was 5000 ms)`);
  });

  void test('an abort after a normal exit changes nothing and leaves no listener', async () => {
    const run = start({ argv: node('exit-code.mjs', '0') });
    const r = await run.result;
    run.controller.abort();
    assert.equal(r.aborted, false);
    assert.equal(getEventListeners(run.controller.signal, 'abort').length, 0);
  });
});

void describe('runProcess: output floods', () => {
  // Memory under a flood is measured by bench/ (RSS is too noisy for a test on a shared 2-core machine); here the
  // bound that keeps it small is checked: what is kept is capped, whatever the child writes.
  void test('50 MB on stdout: buffered output capped to its tail and flagged', async () => {
    const cap = 256 * 1024;
    let lines = 0;
    const r = await start({
      argv: node('flood.mjs', '50'),
      maxBufferedBytes: cap,
      onStdoutLine: () => {
        lines += 1;
      },
    }).result;
    assert.equal(r.exitCode, 0);
    assert.equal(lines, 50 * 1024 + 1);
    assert.equal(r.stdoutTruncated, true);
    assert.ok(Buffer.byteLength(r.stdout) <= cap, `kept ${Buffer.byteLength(r.stdout)} bytes`);
    assert.ok(r.stdout.endsWith('FLOOD END\n'), 'the tail is kept');
    assert.equal(r.stderrTruncated, false);
  });

  void test('a 20 MB line without newline is cut to maxLineBytes', async () => {
    const out = lineLog();
    const r = await start({
      argv: node('flood.mjs', '20', '--line-bytes', '0', '--stderr'),
      maxLineBytes: 64 * 1024,
      maxBufferedBytes: 64 * 1024,
      onStderrLine: out.onLine,
    }).result;
    assert.equal(r.exitCode, 0);
    assert.equal(out.lines.length, 2);
    assert.equal(out.lines[0], 'x'.repeat(64 * 1024));
    assert.equal(out.lines[1], 'FLOOD END');
    assert.equal(r.stderrTruncated, true);
    assert.equal(r.stdout, '');
  });
});

void describe('runProcess: spawn failures resolve, never throw', () => {
  void test('a missing command', async () => {
    const r = await start({ argv: ['no-such-cli-a2a-gateway-test', '--help'] }).result;
    assert.equal(r.spawnError?.code, 'ENOENT');
    assert.match(r.spawnError.message, /command not found/);
    assert.equal(r.exitCode, null);
    assert.equal(r.pid, undefined);
  });

  void test('a working directory that does not exist', async () => {
    const cwd = join(tmpdir(), 'runner-no-such-dir-' + process.pid);
    const r = await start({ argv: node('echo-args.mjs'), cwd }).result;
    assert.equal(r.spawnError?.code, 'ENOENT');
    assert.match(r.spawnError.message, /working directory/);
    assert.equal(r.exitCode, null);
  });

  void test('a file that is not executable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runner-noexec-'));
    try {
      const file = join(dir, 'not-executable');
      writeFileSync(file, '#!/bin/sh\necho hi\n');
      chmodSync(file, 0o644);
      const r = await start({ argv: [file] }).result;
      assert.equal(r.spawnError?.code, 'EACCES');
      assert.equal(r.exitCode, null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void test('an empty argv', async () => {
    const r = await start({ argv: [] }).result;
    assert.equal(r.spawnError?.code, 'EINVAL');
  });
});

void describe('buildChildEnv', () => {
  const base = {
    PATH: `${NODE_DIR}${delimiter}/usr/bin:/bin`,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    HOME: '/root',
    API_KEY: 'secret-xyz',
    REDIS_URL: 'redis://:pw@h',
    ANTHROPIC_API_KEY: 'sk-ant-test-123',
    ANTHROPICX: 'not-matched',
    OPENAI_API_KEY: 'sk-openai-456',
  };

  void test('the child sees allowlisted names only', async () => {
    const env = buildChildEnv({ base, allow: ['ANTHROPIC_*'] });
    const r = await start({ argv: [fake('print-env.mjs')], env }).result;
    assert.equal(r.exitCode, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as Record<string, string>;
    assert.equal(seen.PATH, base.PATH);
    assert.equal(seen.ANTHROPIC_API_KEY, 'sk-ant-test-123');
    assert.equal(seen.LC_ALL, 'C.UTF-8');
    for (const name of ['API_KEY', 'REDIS_URL', 'OPENAI_API_KEY', 'ANTHROPICX', 'HOME']) {
      assert.equal(seen[name], undefined, `${name} must not reach the child`);
    }
    assert.ok(!r.stdout.includes('secret-xyz') && !r.stdout.includes('pw@h'));
  });

  void test('set overrides and deletes, home sets HOME, default list is exported', () => {
    const env = buildChildEnv({
      base,
      allow: ['OPENAI_API_KEY'],
      set: { LANG: undefined, CODEX_HOME: '/tmp/codex', OPENAI_API_KEY: 'mock-key' },
      home: '/tmp/task-home',
    });
    assert.deepEqual(env, {
      PATH: base.PATH,
      LC_ALL: 'C.UTF-8',
      OPENAI_API_KEY: 'mock-key',
      CODEX_HOME: '/tmp/codex',
      HOME: '/tmp/task-home',
    });
    assert.ok(DEFAULT_ENV_ALLOWLIST.includes('PATH') && DEFAULT_ENV_ALLOWLIST.includes('LC_*'));
    assert.ok(!DEFAULT_ENV_ALLOWLIST.includes('HOME'));
  });
});

void describe('resolveCommand', () => {
  void test('finds node on PATH, a fake CLI by path; undefined for missing or non-executable', async () => {
    const found = await resolveCommand('node', `/nonexistent${delimiter}${NODE_DIR}`);
    assert.equal(found, join(NODE_DIR, 'node'));
    assert.equal(await resolveCommand('no-such-cli-a2a-gateway-test', process.env.PATH), undefined);
    assert.equal(await resolveCommand('node', undefined), undefined);
    assert.equal(await resolveCommand('node', ''), undefined);
    assert.equal(await resolveCommand(fake('hang.mjs'), undefined), fake('hang.mjs'));
    assert.equal(await resolveCommand('./hang.mjs', undefined, FAKE_DIR), fake('hang.mjs'));
    assert.equal(await resolveCommand(fake('spawn-sleeper.mjs'), undefined), undefined, 'not executable');
    assert.equal(await resolveCommand(FAKE_DIR, undefined), undefined, 'a directory');
    assert.equal(await resolveCommand('fake-cli', dirname(FAKE_DIR)), undefined, 'a directory on PATH');
  });

  void test('PATH entries that are files, relative or empty are passed over; the first executable wins', async () => {
    const file = fake('hang.mjs');
    // FAKE_DIR as seen from the test's working directory: found there if relative entries were searched.
    const relativeDir = relative(process.cwd(), FAKE_DIR);
    const path = [file, relativeDir, '', FAKE_DIR, NODE_DIR].join(delimiter);
    assert.equal(await resolveCommand('node', path), join(NODE_DIR, 'node'));
    assert.equal(await resolveCommand('hang.mjs', path), file);
    assert.equal(await resolveCommand('hang.mjs', [relativeDir, ''].join(delimiter)), undefined);
  });
});
