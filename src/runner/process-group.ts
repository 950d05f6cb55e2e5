import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

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
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return true;
  }
  const states = await Promise.all(entries.filter((name) => /^\d+$/.test(name)).map(readProcState));
  return states.some((s) => s !== undefined && s.pgrp === pgid && s.state !== 'Z' && s.state !== 'X');
}

async function readProcState(pid: string): Promise<{ state: string; pgrp: number } | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited while we looked
  }
  // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so parse after the last ")".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const pgrp = Number(fields[2]);
  return state === undefined || !Number.isInteger(pgrp) ? undefined : { state, pgrp };
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

/**
 * Ends every process in group `pgid`: SIGTERM, then SIGKILL if any is still running after `graceMs`. Resolves true
 * when the group is gone, false when something survived SIGKILL for {@link KILL_CONFIRM_MS} (a process in
 * uninterruptible sleep, or one we may not signal). Never takes longer than `graceMs + KILL_CONFIRM_MS` plus one
 * poll.
 */
export async function terminateGroup(pgid: number, graceMs: number): Promise<boolean> {
  if (!(await isGroupAlive(pgid))) return true;
  signalGroup(pgid, 'SIGTERM');
  if (await waitForGroupExit(pgid, graceMs)) return true;
  signalGroup(pgid, 'SIGKILL');
  return waitForGroupExit(pgid, KILL_CONFIRM_MS);
}
