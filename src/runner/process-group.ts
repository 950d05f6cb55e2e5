import { setTimeout as delay } from 'node:timers/promises';
import { eachProcess, parseStat } from './proc-table.js';

/** How long to wait for a group to vanish after SIGKILL before giving up on it. */
export const KILL_CONFIRM_MS = 2000;

/** Sends `signal` to every process in group `pgid`; false when the group is already gone (or not ours). */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * True while any process in group `pgid` is still running. A zombie counts as gone: it can no longer run or hold
 * files, and in a container whose PID 1 does not reap orphans (no `--init`) an orphaned zombie stays forever, so
 * `kill(-pgid, 0)` alone would report the group alive for good. On Linux the members are therefore checked in
 * /proc; elsewhere the signal-0 probe is all there is.
 */
export async function isGroupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    // EPERM: a member exists that we may not signal (it changed its uid); it is alive all the same.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  return hasRunningMember(pgid);
}

async function hasRunningMember(pgid: number): Promise<boolean> {
  let running = false;
  const listed = await eachProcess('stat', (_pid, bytes) => {
    const stat = running ? undefined : parseStat(bytes);
    if (stat && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') running = true;
  });
  return running || !listed;
}

/**
 * Resolves true once group `pgid` has no running process, or false when `timeoutMs` passes first. There is no
 * event for the death of a process that is not our child, so this polls, starting fast and backing off.
 */
export async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  let pause = 10;
  for (;;) {
    if (!(await isGroupAlive(pgid))) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await delay(Math.min(pause, left));
    pause = Math.min(pause * 2, 100);
  }
}

/** How {@link terminateGroup} asks a group to stop. */
export interface TerminateOptions {
  /**
   * The SIGTERM goes to every member but the leader, which only the SIGKILL after the grace reaches: the leader is
   * a wrapper whose death would end the run at once, without its grace (bubblewrap, whose PID namespace is
   * SIGKILLed when it dies). A leader alone in its group (a run still starting) gets the SIGTERM all the same.
   */
  spareLeaderFromTerm?: boolean;
}

/**
 * Ends every process in group `pgid`: SIGTERM, then SIGKILL if any is still running after `graceMs`. Resolves true
 * when the group is gone, false when something survived SIGKILL for {@link KILL_CONFIRM_MS} (a process in
 * uninterruptible sleep, or one we may not signal). Never takes longer than `graceMs + KILL_CONFIRM_MS` plus one
 * poll.
 */
export async function terminateGroup(
  pgid: number,
  graceMs: number,
  opts: TerminateOptions = {},
): Promise<boolean> {
  if (!(await isGroupAlive(pgid))) return true;
  if (opts.spareLeaderFromTerm) await signalAllButLeader(pgid, 'SIGTERM');
  else signalGroup(pgid, 'SIGTERM');
  if (await waitForGroupExit(pgid, graceMs)) return true;
  signalGroup(pgid, 'SIGKILL');
  return waitForGroupExit(pgid, KILL_CONFIRM_MS);
}

/**
 * Sends `signal` to every running member of group `pgid` but its leader, found in /proc; to the whole group when
 * there is no other member (or /proc cannot be read). Each is signalled as soon as its stat is read, so a pid is
 * not signalled long after it was seen in the group. A process forked after the pass is not signalled (it still
 * gets the SIGKILL after the grace); a namespace's init among the members ignores it unless it has a handler.
 */
async function signalAllButLeader(pgid: number, signal: NodeJS.Signals): Promise<void> {
  let signalled = 0;
  const listed = await eachProcess('stat', (pid, bytes) => {
    if (pid === pgid) return;
    const stat = parseStat(bytes);
    if (!stat || stat.pgrp !== pgid || stat.state === 'Z' || stat.state === 'X') return;
    try {
      process.kill(pid, signal);
      signalled += 1;
    } catch {
      // gone meanwhile
    }
  });
  if (!listed || signalled === 0) signalGroup(pgid, signal);
}
