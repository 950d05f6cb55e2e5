/* eslint-disable @typescript-eslint/require-await -- both stores work synchronously; `async` keeps the SDK's
   PushNotificationStore promises and turns every throw into a rejection. */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { TaskPushNotificationConfig } from '@a2a-js/sdk';
import type { ServerCallContext, StoredPushNotificationConfig } from '@a2a-js/sdk/server';
import Database from 'better-sqlite3';
import type { PushConfigStore } from '../stores/push-config-store.js';
import { anonymousScope, type ScopeResolver, type StoreScope } from '../stores/types.js';

/** The wire version the SDK assumes when a call carries no `A2A-Version` header. */
const LEGACY_VERSION = '0.3';

export type { PushConfigStore } from '../stores/push-config-store.js';

/** One stored config, the same shape in every implementation. */
export interface Row {
  tenant: string;
  owner: string;
  configId: string;
  wireVersion: string;
  /** The config in A2A 1.0 wire JSON, so a load returns a fresh copy. */
  json: string;
}

/** Fills in the id (in place: the SDK reads it back from the same object) and builds the row to write. */
export function toRow(
  taskId: string,
  context: ServerCallContext,
  scope: StoreScope,
  config: TaskPushNotificationConfig,
): Row {
  const wireVersion = context.requestedVersion || LEGACY_VERSION;
  if (!config.id) config.id = wireVersion === LEGACY_VERSION ? taskId : randomUUID();
  const json = JSON.stringify(TaskPushNotificationConfig.toJSON({ ...config, taskId }));
  return { tenant: scope.tenant, owner: scope.owner, configId: config.id, wireVersion, json };
}

export function toStored(row: Pick<Row, 'json' | 'wireVersion'>): StoredPushNotificationConfig {
  return { config: TaskPushNotificationConfig.fromJSON(JSON.parse(row.json)), wireVersion: row.wireVersion };
}

/** A delete without an id (0.3 `tasks/pushNotificationConfig/delete` with none) means the task's default config. */
export function configIdOrDefault(taskId: string, configId: string | undefined): string {
  return configId === undefined || configId === '' ? taskId : configId;
}

/** Options shared by both stores. */
export interface PushStoreOptions {
  /** Who a call is; the default treats every unauthenticated caller as one anonymous owner. */
  scope?: ScopeResolver;
}

/** Push configs in process memory: for tests and single-node set-ups that accept losing them on restart. */
export class MemoryPushConfigStore implements PushConfigStore {
  readonly kind = 'memory' as const;
  private readonly byTask = new Map<string, Row[]>();
  private readonly resolveScope: ScopeResolver;

  constructor(opts: PushStoreOptions = {}) {
    this.resolveScope = opts.scope ?? anonymousScope;
  }

  async save(taskId: string, context: ServerCallContext, config: TaskPushNotificationConfig): Promise<void> {
    const row = toRow(taskId, context, this.resolveScope(context), config);
    const rows = this.byTask.get(taskId) ?? [];
    const at = rows.findIndex(
      (r) => r.tenant === row.tenant && r.owner === row.owner && r.configId === row.configId,
    );
    // An update keeps its place, as the SQLite store's upsert keeps its row.
    if (at === -1) rows.push(row);
    else rows[at] = row;
    this.byTask.set(taskId, rows);
  }

  async load(taskId: string, context: ServerCallContext): Promise<TaskPushNotificationConfig[]> {
    return (await this.loadWithMetadata(taskId, context)).map((stored) => stored.config);
  }

  async loadWithMetadata(
    taskId: string,
    context: ServerCallContext,
  ): Promise<StoredPushNotificationConfig[]> {
    const scope = this.resolveScope(context);
    return (this.byTask.get(taskId) ?? []).filter((row) => visible(row, scope)).map(toStored);
  }

  async delete(taskId: string, context: ServerCallContext, configId?: string): Promise<void> {
    const scope = this.resolveScope(context);
    const id = configIdOrDefault(taskId, configId);
    const rows = (this.byTask.get(taskId) ?? []).filter(
      (row) => !(row.configId === id && visible(row, scope)),
    );
    if (rows.length === 0) this.byTask.delete(taskId);
    else this.byTask.set(taskId, rows);
  }

  async deleteTask(taskId: string): Promise<number> {
    const n = this.byTask.get(taskId)?.length ?? 0;
    this.byTask.delete(taskId);
    return n;
  }

  async close(): Promise<void> {
    this.byTask.clear();
  }
}

export function visible(row: Row, scope: StoreScope): boolean {
  return scope.admin || (row.tenant === scope.tenant && row.owner === scope.owner);
}

/** Options of {@link SqlitePushConfigStore}. */
export type SqlitePushStoreOptions = PushStoreOptions &
  (
    | {
        /** Database file (may be the task store's file: this store only touches its own table). */
        file: string;
        /** How long a write waits for another connection's lock (default 5000 ms). */
        busyTimeoutMs?: number;
      }
    | {
        /** The gateway's connection, shared with the other SQLite stores; left open on close. */
        db: Database.Database;
      }
  );

// `IF NOT EXISTS` rather than the task store's user_version migrations, so both stores can share one file.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS push_configs (
    task_id TEXT NOT NULL,
    config_id TEXT NOT NULL,
    tenant TEXT NOT NULL,
    owner TEXT NOT NULL,
    -- the A2A version the config was registered over ('1.0', '0.3'): the webhook gets bodies in that version
    wire_version TEXT NOT NULL,
    -- the config in A2A 1.0 wire JSON (TaskPushNotificationConfig.toJSON); holds the caller's token
    json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (task_id, tenant, owner, config_id)
  );`;

const UPSERT = `
  INSERT INTO push_configs (task_id, config_id, tenant, owner, wire_version, json, created_at)
  VALUES (@taskId, @configId, @tenant, @owner, @wireVersion, @json, @now)
  ON CONFLICT (task_id, tenant, owner, config_id) DO UPDATE SET
    wire_version = excluded.wire_version, json = excluded.json`;
const SCOPED = 'task_id = @taskId AND (@admin = 1 OR (tenant = @tenant AND owner = @owner))';

/**
 * Push configs in a SQLite file (WAL), so registrations survive a restart and every process on the file sees
 * them. Tokens and credentials are stored as given (the receiver needs them back verbatim); protect the file
 * like the task database.
 */
export class SqlitePushConfigStore implements PushConfigStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  /** Whether close() closes the connection (it opened its file itself). */
  private readonly ownsDb: boolean;
  private readonly resolveScope: ScopeResolver;
  private readonly upsert: Database.Statement;
  private readonly select: Database.Statement;
  private readonly remove: Database.Statement;
  private readonly removeTask: Database.Statement;

  constructor(opts: SqlitePushStoreOptions) {
    this.resolveScope = opts.scope ?? anonymousScope;
    this.ownsDb = !('db' in opts);
    this.db = 'db' in opts ? opts.db : openFile(opts.file, opts.busyTimeoutMs);
    try {
      this.db.exec(SCHEMA);
      this.upsert = this.db.prepare(UPSERT);
      this.select = this.db.prepare(
        `SELECT wire_version AS wireVersion, json FROM push_configs WHERE ${SCOPED} ORDER BY created_at, rowid`,
      );
      this.remove = this.db.prepare(`DELETE FROM push_configs WHERE ${SCOPED} AND config_id = @configId`);
      this.removeTask = this.db.prepare('DELETE FROM push_configs WHERE task_id = ?');
    } catch (error) {
      if (this.ownsDb) this.db.close();
      throw error;
    }
  }

  async save(taskId: string, context: ServerCallContext, config: TaskPushNotificationConfig): Promise<void> {
    const row = toRow(taskId, context, this.resolveScope(context), config);
    this.upsert.run({ ...row, taskId, now: new Date().toISOString() });
  }

  async load(taskId: string, context: ServerCallContext): Promise<TaskPushNotificationConfig[]> {
    return (await this.loadWithMetadata(taskId, context)).map((stored) => stored.config);
  }

  async loadWithMetadata(
    taskId: string,
    context: ServerCallContext,
  ): Promise<StoredPushNotificationConfig[]> {
    const rows = this.select.all(this.scopeArgs(taskId, context)) as Pick<Row, 'json' | 'wireVersion'>[];
    return rows.map(toStored);
  }

  async delete(taskId: string, context: ServerCallContext, configId?: string): Promise<void> {
    this.remove.run({ ...this.scopeArgs(taskId, context), configId: configIdOrDefault(taskId, configId) });
  }

  async deleteTask(taskId: string): Promise<number> {
    return this.removeTask.run(taskId).changes;
  }

  async close(): Promise<void> {
    if (this.ownsDb && this.db.open) this.db.close();
  }

  private scopeArgs(taskId: string, context: ServerCallContext): Record<string, string | number> {
    const scope = this.resolveScope(context);
    return { taskId, tenant: scope.tenant, owner: scope.owner, admin: scope.admin ? 1 : 0 };
  }
}

/** Opens a file of its own (WAL); its directory is created when missing. */
function openFile(file: string, busyTimeoutMs = 5000): Database.Database {
  const inMemory = file === ':memory:' || file === '';
  if (!inMemory) mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file, { timeout: busyTimeoutMs });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
