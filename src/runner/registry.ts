import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { terminateGroup } from './process-group.js';
import { sweepMarked } from './proc-table.js';
import { runProcess } from './spawn.js';
import type { RunOptions, RunResult } from './types.js';

/** The kernel's start time of a process (clock ticks since boot), which tells a pid apart from a reused one. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 overall; after "pid (comm) " the fields start at "state", so it is index 19.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

interface Record {
  pgid: number;
  startTime: string | undefined;
  label: string;
  /** The run's marker variable (see `RUN_MARKER_ENV`), to find processes that left the group. */
  marker?: string;
}

/**
 * A pid file per running process group, so that groups a crashed gateway left behind (children run in their own
 * session and outlive it) can be ended when the gateway starts again. A group is ended only when its leader's
 * start time still matches, so a reused pid is never signalled.
 */
export class ProcessRegistry {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private file(pgid: number): string {
    return join(this.dir, `${pgid}.json`);
  }

  track(pgid: number, label: string, marker?: string): void {
    const record: Record = { pgid, startTime: startTimeOf(pgid), label, ...(marker ? { marker } : {}) };
    writeFileSync(this.file(pgid), JSON.stringify(record));
  }

  untrack(pgid: number): void {
    rmSync(this.file(pgid), { force: true });
  }

  /** Runs a process like {@link runProcess}, recorded here for as long as it runs. */
  run(opts: RunOptions, label: string, marker?: string): Promise<RunResult> {
    let pgid: number | undefined;
    return runProcess({
      ...opts,
      onSpawn: (pid) => {
        pgid = pid;
        this.track(pid, label, marker);
        opts.onSpawn?.(pid);
      },
    }).finally(() => {
      if (pgid !== undefined) this.untrack(pgid);
    });
  }

  /** Ends the groups a previous gateway process left running; returns how many it found alive. */
  async reapLeftovers(graceMs: number): Promise<Array<{ pgid: number; label: string }>> {
    const reaped: Array<{ pgid: number; label: string }> = [];
    for (const name of readdirSync(this.dir).filter((n) => n.endsWith('.json'))) {
      const path = join(this.dir, name);
      let record: Record | undefined;
      try {
        record = JSON.parse(readFileSync(path, 'utf8')) as Record;
      } catch {
        record = undefined;
      }
      if (record && record.startTime !== undefined && startTimeOf(record.pgid) === record.startTime) {
        await terminateGroup(record.pgid, graceMs);
        reaped.push({ pgid: record.pgid, label: record.label });
      }
      // Processes of the run that left its group (setsid daemons) carry its marker, whatever became of the leader.
      if (record?.marker) await sweepMarked(record.marker);
      rmSync(path, { force: true });
    }
    return reaped;
  }
}
