// The /proc scans at the end of every run: findMarked finds a run's processes by the marker in their environment
// (first variable, last variable, past a large environment, not a mere prefix of another marker), leaves zombies out;
// isGroupAlive tells a live group from one whose members are all zombies. Real processes, each ended by its pid.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { findMarked, RUN_MARKER_ENV, sweepMarked } from '../../src/runner/proc-table.js';
import { isGroupAlive } from '../../src/runner/process-group.js';

const started: ChildProcess[] = [];
after(() => {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** A `sleep` with exactly `env`; resolves once it has exec'd (its environment is then the one given). */
async function sleeper(env: Record<string, string>, detached = false): Promise<ChildProcess> {
  const child = spawn('/bin/sleep', ['30'], { env, stdio: 'ignore', detached });
  started.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  return child;
}

void describe('findMarked', () => {
  void test('finds the marker as the only, the first, and the last variable, and past 200 KB of environment', async () => {
    const marker = randomUUID();
    const only = await sleeper({ [RUN_MARKER_ENV]: marker });
    const first = await sleeper({ [RUN_MARKER_ENV]: marker, B: 'b', C: 'c' });
    const last = await sleeper({ A: 'a', B: 'b', [RUN_MARKER_ENV]: marker });
    // One variable may hold at most 128 KiB (MAX_ARG_STRLEN).
    const big = 'x'.repeat(100_000);
    const large = await sleeper({ BIG1: big, BIG2: big, [RUN_MARKER_ENV]: marker, Z: 'z' });
    // Not ours: another marker that starts with ours, and ours as a value of another name.
    await sleeper({ [RUN_MARKER_ENV]: `${marker}0` });
    await sleeper({ OTHER: `${RUN_MARKER_ENV}=${marker}x` });
    const found = await findMarked(marker);
    assert.deepEqual(
      found.sort((a, b) => a - b),
      [only.pid, first.pid, last.pid, large.pid].sort((a, b) => (a ?? 0) - (b ?? 0)),
    );
  });

  void test('a zombie is not counted; sweepMarked kills the running ones and reports them', async () => {
    const marker = randomUUID();
    const zombie = spawn('/bin/sh', ['-c', 'exit 0'], { env: { [RUN_MARKER_ENV]: marker }, stdio: 'ignore' });
    started.push(zombie);
    // Until libuv reaps it on SIGCHLD, the exited child is a zombie; findMarked must not wait on it.
    await new Promise((resolve) => zombie.once('exit', resolve));
    const a = await sleeper({ [RUN_MARKER_ENV]: marker });
    const b = await sleeper({ [RUN_MARKER_ENV]: marker }, true);
    const gone = Promise.all([a, b].map((c) => new Promise((resolve) => c.once('exit', resolve))));
    assert.deepEqual(await sweepMarked(marker), { killed: 2, left: 0 });
    await gone;
    assert.deepEqual(await findMarked(marker), []);
  });
});

void describe('isGroupAlive', () => {
  void test('true while a member of the group runs, false once the group is gone', async () => {
    const leader = await sleeper({}, true);
    const pgid = leader.pid ?? 0;
    assert.equal(await isGroupAlive(pgid), true);
    const exited = new Promise((resolve) => leader.once('exit', resolve));
    leader.kill('SIGKILL');
    await exited;
    assert.equal(await isGroupAlive(pgid), false);
  });

  void test('a group whose only member is a zombie counts as gone', async () => {
    // The background child calls setsid (a group of its own) and exits at once; its parent execs `sleep`, which
    // never reaps it: the new group holds one zombie for as long as the parent sleeps.
    const parent = spawn('/bin/sh', ['-c', 'setsid /bin/sh -c "exit 0" & echo $!; exec /bin/sleep 30'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    started.push(parent);
    const pgid = Number(
      await new Promise<string>((resolve) => parent.stdout.once('data', (d) => resolve(String(d)))),
    );
    const deadline = performance.now() + 5000;
    while (performance.now() < deadline && !isZombie(pgid)) await new Promise((r) => setTimeout(r, 10));
    assert.ok(isZombie(pgid), 'the group leader became a zombie');
    process.kill(-pgid, 0); // the kernel still counts the group: signal 0 succeeds
    assert.equal(await isGroupAlive(pgid), false);
    assert.equal(await isGroupAlive(parent.pid ?? 0), true, "the parent's group runs");
  });
});

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}
