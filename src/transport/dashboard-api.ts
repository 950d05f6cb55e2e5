import express, { type Request, type Response } from 'express';
import { TaskState, taskStateToJSON, type Task } from '@a2a-js/sdk';
import { ServerCallContext, type A2ARequestHandler } from '@a2a-js/sdk/server';
import type { LoggedEvent } from '../events/task-event-log.js';
import type { Logger } from '../observability/logger.js';
import type { BackendStatus } from '../service/backend-status.js';
import { statusKey } from '../stores/listing.js';
import { GatewayUser } from './auth.js';
import { restError } from './body.js';
import { principalOfRequest } from './security.js';

/** One task as the dashboard's list shows it. */
export interface TaskRow {
  id: string;
  contextId: string;
  /** The A2A state in its short form: `working`, `input-required`, `completed`... */
  state: string;
  skill: string | undefined;
  backend: string | undefined;
  workdir: string | undefined;
  createdAt: string | undefined;
  /** When the task last changed state or reported progress. */
  updatedAt: string | undefined;
  /** How long the run took, once it has ended. */
  durationMs: number | undefined;
  costUsd: number | undefined;
  /** The first line of the latest status message (the question, the reason, the summary). */
  message: string | undefined;
}

export interface DashboardApiDeps {
  requestHandler: A2ARequestHandler;
  /** Every task's events as they are logged (the task event log's `watch`). */
  watchEvents: (listener: (taskId: string, event: LoggedEvent) => void) => () => void;
  /** Running and queued tasks now. */
  stats: () => { running: number; queued: number; maxConcurrent: number; maxQueued: number };
  backends: () => Promise<BackendStatus[]>;
  logger: Logger;
  /** How long changes are gathered before the feed sends them, in ms (default 150). */
  feedCoalesceMs?: number;
}

/** `TASK_STATE_INPUT_REQUIRED` -> `input-required`, the form the 0.3 wire and people use. */
export function shortState(state: TaskState): string {
  return taskStateToJSON(state)
    .replace(/^TASK_STATE_/, '')
    .toLowerCase()
    .replace(/_/g, '-');
}

const STATE_FILTERS: ReadonlyMap<string, TaskState> = new Map(
  Object.values(TaskState)
    .filter((v): v is TaskState => typeof v === 'number' && Number(v) > 0)
    .map((v): [string, TaskState] => [shortState(v), v])
    .filter(([name]) => name !== 'unrecognized'),
);

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function messageLine(task: Task): string | undefined {
  for (const part of task.status?.message?.parts ?? []) {
    if (part.content?.$case === 'text') {
      const line = part.content.value.split('\n').find((l) => l.trim() !== '');
      if (line) return line.length > 200 ? `${line.slice(0, 199)}…` : line;
    }
  }
  return undefined;
}

/** The row of a task: what its metadata and status say. */
export function rowOf(task: Task): TaskRow {
  const meta = (task.metadata ?? {}) as Record<string, unknown>;
  const usage = (meta.usage ?? {}) as Record<string, unknown>;
  return {
    id: task.id,
    contextId: task.contextId,
    state: shortState(task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED),
    skill: text(meta.skill),
    backend: text(meta.backend),
    workdir: text(meta.workdir),
    createdAt: text(meta.createdAt),
    updatedAt: text(task.status?.timestamp),
    durationMs: typeof meta.durationMs === 'number' ? meta.durationMs : undefined,
    costUsd: typeof usage.costUsd === 'number' ? usage.costUsd : undefined,
    message: messageLine(task),
  };
}

/**
 * The task as its latest logged event says, when that is newer than what the store returned: the status and the
 * metadata a status update carries (usage, duration) over the stored ones.
 */
function withLatest(task: Task, logged: LoggedEvent): Task {
  const payload = logged.event.payload;
  if (payload?.$case !== 'statusUpdate') return task;
  const update = payload.value;
  const stored = statusKey(task.status?.timestamp);
  const latest = statusKey(update.status?.timestamp);
  if (!update.status || latest < stored) return task;
  return {
    ...task,
    status: update.status,
    metadata: { ...(task.metadata ?? {}), ...(update.metadata ?? {}) },
  };
}

/** The caller's view of the tasks: the A2A call context for the key the request carries. */
function contextOf(req: Request): ServerCallContext {
  return new ServerCallContext({ user: new GatewayUser(principalOfRequest(req)), requestedVersion: '1.0' });
}

interface ListFilter {
  state: TaskState | undefined;
  skill: string | undefined;
  backend: string | undefined;
  limit: number;
}

/** Reads the list's query, naming the parameter at fault. */
function parseFilter(query: Request['query']): ListFilter | string {
  const one = (name: string): string | undefined => {
    const v: unknown = query[name];
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  };
  const stateName = one('state');
  const state = stateName === undefined ? undefined : STATE_FILTERS.get(stateName);
  if (stateName !== undefined && state === undefined)
    return `state: expected one of ${[...STATE_FILTERS.keys()].join(', ')}, got "${stateName.slice(0, 40)}"`;
  const limitText = one('limit') ?? '100';
  const limit = Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    return `limit: expected a whole number from 1 to 500, got "${limitText.slice(0, 20)}"`;
  return { state, skill: one('skill'), backend: one('backend'), limit };
}

/** Most pages of the A2A list read to fill one filtered answer. */
const MAX_PAGES = 20;
const PAGE_SIZE = 100;

/**
 * The dashboard's read API, beside the A2A bindings and behind the same auth; a key sees its own tasks, an admin
 * key all of them (the store's scoping, through the A2A request handler):
 *
 * - `GET /api/tasks?state=&skill=&backend=&limit=`: the newest tasks as rows (`{tasks: TaskRow[]}`);
 * - `GET /api/tasks/events`: an SSE feed, `event: task` with a row each time one of the caller's tasks changes
 *   (fed by the task event log, coalesced), and `event: stats` with running and queued counts;
 * - `GET /api/backends`: the configured backends and whether each one's command is installed.
 */
export function dashboardApi(deps: DashboardApiDeps): express.Router {
  const router = express.Router();
  const handler = deps.requestHandler;

  router.get('/api/tasks', async (req, res) => {
    const filter = parseFilter(req.query);
    if (typeof filter === 'string') {
      restError(res, 400, 'INVALID_ARGUMENT', filter);
      return;
    }
    const context = contextOf(req);
    const rows: TaskRow[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_PAGES && rows.length < filter.limit; page++) {
      const result = await handler.listTasks(
        {
          tenant: '',
          contextId: '',
          status: filter.state ?? TaskState.TASK_STATE_UNSPECIFIED,
          pageSize: PAGE_SIZE,
          pageToken: pageToken ?? '',
          historyLength: 0,
          statusTimestampAfter: undefined,
          includeArtifacts: false,
        },
        context,
      );
      for (const task of result.tasks) {
        const row = rowOf(task);
        if (filter.skill && row.skill !== filter.skill) continue;
        if (filter.backend && row.backend !== filter.backend) continue;
        rows.push(row);
        if (rows.length >= filter.limit) break;
      }
      pageToken = result.nextPageToken || undefined;
      if (!pageToken) break;
    }
    res.setHeader('Cache-Control', 'no-store');
    res.json({ tasks: rows });
  });

  router.get('/api/tasks/events', (req, res) => feed(req, res, deps));

  router.get('/api/backends', async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ backends: await deps.backends() });
  });

  return router;
}

/**
 * One client's feed: the ids of tasks that logged an event are gathered for a moment, then each is read with the
 * client's own context (another key's task is not found, so never sent) and sent as a row.
 */
function feed(req: Request, res: Response, deps: DashboardApiDeps): void {
  const context = contextOf(req);
  const coalesceMs = deps.feedCoalesceMs ?? 150;
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  // nginx would otherwise buffer the stream.
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  const send = (event: string, data: unknown): void => {
    if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const stats = (): void => {
    const s = deps.stats();
    send('stats', { active: s.running, queued: s.queued, maxConcurrent: s.maxConcurrent });
  };
  stats();

  // The latest status each changed task logged: the store may save it a moment after the log has it.
  const dirty = new Map<string, LoggedEvent>();
  // A task the store does not have yet (just created) is read again a few times.
  const misses = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let flushing = false;
  let closed = false;
  const flush = async (): Promise<void> => {
    timer = undefined;
    flushing = true;
    try {
      const changed = [...dirty];
      dirty.clear();
      for (const [id, logged] of changed) {
        if (closed) return;
        const task = await deps.requestHandler
          .getTask({ tenant: '', id, historyLength: 0 }, context)
          .catch(() => undefined);
        if (task) {
          misses.delete(id);
          send('task', rowOf(withLatest(task, logged)));
        } else {
          const n = (misses.get(id) ?? 0) + 1;
          if (n <= 3) {
            misses.set(id, n);
            dirty.set(id, logged);
          } else misses.delete(id);
        }
      }
      if (changed.length > 0) stats();
    } finally {
      flushing = false;
      if (dirty.size > 0 && !closed) schedule();
    }
  };
  const schedule = (): void => {
    if (timer || flushing || closed) return;
    timer = setTimeout(() => {
      flush().catch((err: unknown) => deps.logger.warn({ err }, 'dashboard feed: could not send a change'));
    }, coalesceMs);
  };
  const stop = deps.watchEvents((taskId, logged) => {
    const previous = dirty.get(taskId);
    // Keep the latest event that carries a status (an artifact update carries none).
    if (!previous || logged.event.payload?.$case !== 'artifactUpdate') dirty.set(taskId, logged);
    schedule();
  });
  res.on('close', () => {
    closed = true;
    stop();
    if (timer) clearTimeout(timer);
  });
}
