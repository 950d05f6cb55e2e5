import type Database from 'better-sqlite3';
import { StoreSchemaError } from './errors.js';

/**
 * Migrations in order; migration i takes the schema from version i to i + 1. The version lives in SQLite's
 * `user_version` pragma, so a file tells which gateway wrote it. Append, never edit, once released.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    owner TEXT NOT NULL,
    context_id TEXT NOT NULL,
    state INTEGER NOT NULL,
    -- status timestamp normalized to UTC ISO with milliseconds ('' when absent), so text order is time order
    status_ts TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- the task in A2A wire JSON (Task.toJSON)
    json TEXT NOT NULL
  );
  CREATE INDEX tasks_list ON tasks (tenant, owner, status_ts DESC, id DESC);
  CREATE INDEX tasks_context ON tasks (context_id);
  CREATE INDEX tasks_state ON tasks (state, status_ts);
  CREATE TABLE context_sessions (
    context_id TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    session_id TEXT NOT NULL,
    workdir TEXT,
    updated_at TEXT NOT NULL
  );
  `,
  `
  -- Each task's events (Task snapshots, status and artifact updates) for replay on resubscribe. No foreign key:
  -- an event is logged when it is published, which can be before the SDK first saves its task.
  CREATE TABLE task_events (
    task_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    droppable INTEGER NOT NULL,
    -- the StreamResponse in A2A 1.0 wire JSON (StreamResponse.toJSON)
    json TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
  ) WITHOUT ROWID;
  `,
  `
  -- The messageId of the message that created a task, so a client retrying a send gets the same task.
  ALTER TABLE tasks ADD COLUMN message_id TEXT;
  CREATE INDEX tasks_message ON tasks (tenant, owner, message_id) WHERE message_id IS NOT NULL;
  -- Jobs acknowledged and not yet ended: what a restart still owes (queued) or must settle (running).
  CREATE TABLE jobs (
    task_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- the TaskJob as JSON
    json TEXT NOT NULL
  );
  `,
  `
  -- ListTasks in list order without a sort or a scan: one key's tasks of one context (a filtered page was a scan
  -- of all the key's tasks, 250 ms at 100,000), and everyone's tasks for an admin key (a sort of every row).
  CREATE INDEX tasks_context_list ON tasks (tenant, owner, context_id, status_ts DESC, id DESC);
  CREATE INDEX tasks_recent ON tasks (status_ts DESC, id DESC);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the file's schema up to {@link SCHEMA_VERSION}. The version is read inside an immediate (write-locked)
 * transaction so that two processes opening a new file at once do not both run the same migration.
 */
export function migrate(db: Database.Database): void {
  db.transaction(() => {
    const found = db.pragma('user_version', { simple: true }) as number;
    if (found > SCHEMA_VERSION) throw new StoreSchemaError(found, SCHEMA_VERSION);
    for (let version = found; version < SCHEMA_VERSION; version++) db.exec(MIGRATIONS[version] ?? '');
    // A pragma takes no bound parameters; the value is our own integer.
    if (found < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
