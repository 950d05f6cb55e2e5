import type Database from 'better-sqlite3';
import { openGatewayDatabase } from '../stores/sqlite-database.js';
import type { JobState, StoredJob, TaskJob } from './job.js';
import type { JobStore } from './job-store.js';

interface JobRow {
  state: string;
  json: string;
}

/**
 * Jobs in the gateway's SQLite file (table `jobs`), committed before the call returns, so a job saved before its
 * task is acknowledged survives a SIGKILL of the process.
 */
export class SqliteJobStore implements JobStore {
  private readonly db: Database.Database;
  /** Whether close() closes the connection (it opened it itself, rather than sharing the gateway's). */
  private readonly ownsDb: boolean;

  /** The gateway's file, or its connection shared with the other SQLite stores (then left open on close). */
  constructor(opts: { file: string; busyTimeoutMs?: number } | { db: Database.Database }) {
    this.ownsDb = !('db' in opts);
    this.db = 'db' in opts ? opts.db : openGatewayDatabase(opts);
  }

  save(job: TaskJob): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO jobs (task_id, state, created_at, json) VALUES (?, 'queued', ?, ?)
         ON CONFLICT (task_id) DO UPDATE SET state = 'queued', json = excluded.json`,
      )
      .run(job.taskId, new Date().toISOString(), JSON.stringify(job));
    return Promise.resolve();
  }

  setState(taskId: string, state: JobState): Promise<void> {
    this.db.prepare('UPDATE jobs SET state = ? WHERE task_id = ?').run(state, taskId);
    return Promise.resolve();
  }

  remove(taskId: string): Promise<void> {
    this.db.prepare('DELETE FROM jobs WHERE task_id = ?').run(taskId);
    return Promise.resolve();
  }

  list(): Promise<StoredJob[]> {
    const rows = this.db.prepare('SELECT state, json FROM jobs ORDER BY rowid').all() as JobRow[];
    return Promise.resolve(
      rows.map((row) => ({
        job: JSON.parse(row.json) as TaskJob,
        state: row.state === 'running' ? 'running' : 'queued',
      })),
    );
  }

  close(): Promise<void> {
    if (this.ownsDb && this.db.open) this.db.close();
    return Promise.resolve();
  }
}
