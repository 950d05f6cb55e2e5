import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './sqlite-schema.js';

/** Options of {@link openGatewayDatabase}. */
export interface GatewayDatabaseOptions {
  /** Database file; its directory is created when missing. `:memory:` gives a private, non-durable database. */
  file: string;
  /**
   * `normal` (the default) keeps every committed write through a crash or SIGKILL of the process; `full` also
   * keeps it through power loss or an OS crash, at the cost of an fsync per write.
   */
  synchronous?: 'normal' | 'full';
  /** How long a write waits for another connection's lock before failing (default 5000 ms). */
  busyTimeoutMs?: number;
}

/**
 * Opens the gateway's SQLite file (WAL, the schema brought up to date). The composition root opens it once and
 * hands the one connection to every SQLite store (tasks, events, conversations, jobs, push configs); a store
 * given a connection leaves closing it to whoever opened it.
 */
export function openGatewayDatabase(opts: GatewayDatabaseOptions): Database.Database {
  const inMemory = opts.file === ':memory:' || opts.file === '';
  if (!inMemory) mkdirSync(dirname(opts.file), { recursive: true });
  const db = new Database(opts.file, { timeout: opts.busyTimeoutMs ?? 5000 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
