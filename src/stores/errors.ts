/**
 * A caller tried to save a task whose id already belongs to another (tenant, owner) scope. Task ids are
 * global in every store, so letting the save through would overwrite someone else's task; it is refused and
 * the stored task is left as it was. The message does not say whose task it is.
 */
export class TaskOwnershipError extends Error {
  readonly code = 'task_owned_elsewhere';
  constructor(readonly taskId: string) {
    super(`task ${taskId} cannot be saved in the caller's scope`);
    this.name = 'TaskOwnershipError';
  }
}

/**
 * A stored task could not be decoded (a damaged row or a payload from an incompatible version). Raised
 * rather than skipped so that a task is never silently lost; `cause` carries the decoding error.
 */
export class TaskUnreadableError extends Error {
  readonly code = 'task_unreadable';
  constructor(
    readonly taskId: string,
    options?: { cause?: unknown },
  ) {
    super(`stored task ${taskId} could not be read`, options);
    this.name = 'TaskUnreadableError';
  }
}

/** The store file was written by a newer gateway whose schema this version does not know. */
export class StoreSchemaError extends Error {
  readonly code = 'store_schema_too_new';
  constructor(
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      `task store schema version ${found} is newer than this gateway supports (${supported}); upgrade it`,
    );
    this.name = 'StoreSchemaError';
  }
}
