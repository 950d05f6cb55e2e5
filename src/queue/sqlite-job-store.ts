import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from '../stores/sqlite-schema.js';
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

  constructor(opts: { file: string; busyTimeoutMs?: number }) {
    if (opts.file !== ':memory:') mkdirSync(dirname(opts.file), { recursive: true });
    this.db = new Database(opts.file, { timeout: opts.busyTimeoutMs ?? 5000 });
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      migrate(this.db);
    } catch (error) {
      this.db.close();
      throw error;
    }
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
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}
