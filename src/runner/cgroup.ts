import { existsSync, readFileSync } from 'node:fs';
import { access, constants, mkdir, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** How long to wait for a killed cgroup to empty before leaving it behind. */
const EMPTY_MS = 2000;

/** Where the cgroup v2 hierarchy is mounted, from this process's mount table; undefined without one. */
function cgroup2Mount(): string | undefined {
  let table: string;
  try {
    table = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of table.split('\n')) {
    // "id parent major:minor root mountpoint options ... - fstype source superoptions"
    const [left, right] = line.split(' - ');
    if (right?.startsWith('cgroup2 ')) return left?.split(' ')[4];
  }
  return undefined;
}

/** This process's own cgroup v2 path ("0::/path" in /proc/self/cgroup). */
function ownCgroup(): string | undefined {
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    return line?.slice(3);
  } catch {
    return undefined;
  }
}

/** One run's cgroup: entered by the child before it execs, killed whole at the end. */
export interface RunCgroup {
  /** The `cgroup.procs` file the child writes its pid into. */
  readonly procs: string;
  /** SIGKILLs everything in the cgroup (cgroup.kill), waits for it to empty, removes it. True when it emptied. */
  kill(): Promise<boolean>;
}

const PREFIX = 'a2a-gateway-';

/**
 * A cgroup v2 directory of this gateway's own, `<own cgroup>/a2a-gateway-<pid>`, under which each run gets a
 * cgroup of its own. A process cannot leave its cgroup without write access to another one, so `cgroup.kill` ends
 * everything a run started, daemons that called setsid included.
 */
export class CgroupTree {
  private next = 0;

  private constructor(readonly dir: string) {}

  /**
   * Creates the gateway's cgroup directory, or says why it cannot: no cgroup v2, no `cgroup.kill` (Linux < 5.14),
   * or no permission to create a cgroup here. Also ends what a crashed gateway's runs left in theirs.
   */
  static async open(): Promise<CgroupTree | { reason: string }> {
    const mount = cgroup2Mount();
    const own = ownCgroup();
    if (!mount || own === undefined) return { reason: 'no cgroup v2 hierarchy is mounted' };
    const parent = join(mount, own);
    if (!existsSync(join(parent, 'cgroup.procs'))) {
      return { reason: `this process's cgroup (${parent}) is not visible in the mount` };
    }
    const dir = join(parent, `${PREFIX}${process.pid}`);
    try {
      await mkdir(dir, { recursive: true });
      await access(join(dir, 'cgroup.kill'), constants.W_OK);
      await access(join(dir, 'cgroup.procs'), constants.W_OK);
    } catch (err) {
      await rmdir(dir).catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      return {
        reason:
          code === 'ENOENT'
            ? 'the kernel has no cgroup.kill (Linux 5.14 or later is needed)'
            : `cannot create a cgroup under ${parent} (${code})`,
      };
    }
    await reapStale(parent);
    return new CgroupTree(dir);
  }

  /** A new, empty cgroup for one run. */
  async create(): Promise<RunCgroup> {
    this.next += 1;
    const dir = join(this.dir, `run-${this.next}`);
    await mkdir(dir);
    return { procs: join(dir, 'cgroup.procs'), kill: () => killCgroup(dir) };
  }

  /** Kills what is left in any run's cgroup and removes the gateway's directory. */
  async close(): Promise<void> {
    for (const run of await readdir(this.dir).catch(() => [] as string[])) {
      if (run.startsWith('run-')) await killCgroup(join(this.dir, run));
    }
    await rmdir(this.dir).catch(() => undefined);
  }
}

/** Read synchronously: it runs at the end of every task, and a promise-based read of this one-line file costs the
 *  event loop more than the read itself. */
function populated(dir: string): boolean {
  let events: string;
  try {
    events = readFileSync(join(dir, 'cgroup.events'), 'utf8');
  } catch {
    return false;
  }
  return /^populated 1$/m.test(events);
}

/** There is no event for "the cgroup emptied" we could await without inotify plumbing: poll, briefly. */
async function killCgroup(dir: string): Promise<boolean> {
  const deadline = performance.now() + EMPTY_MS;
  let pause = 5;
  if (populated(dir)) await writeFile(join(dir, 'cgroup.kill'), '1').catch(() => undefined);
  while (populated(dir)) {
    if (performance.now() >= deadline) return false;
    await delay(pause);
    pause = Math.min(pause * 2, 100);
  }
  await rmdir(dir).catch(() => undefined);
  return true;
}

/** The cgroups of gateways that are gone (crashed, killed): their runs are killed and the directories removed. */
async function reapStale(parent: string): Promise<void> {
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length));
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    const dir = join(parent, name);
    for (const run of await readdir(dir).catch(() => [] as string[])) {
      if (run.startsWith('run-')) await killCgroup(join(dir, run));
    }
    await rmdir(dir).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
