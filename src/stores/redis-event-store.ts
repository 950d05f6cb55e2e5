import { waitForReady } from './redis-ready.js';
import { StreamResponse, TaskState } from '@a2a-js/sdk';
import type { Redis } from 'ioredis';
import { TaskUnreadableError } from './errors.js';
import type { LiveEvents, LoggedEvent, TaskEventRecord, TaskEventStore } from './task-event-store.js';
import { blockingConnection } from './redis-connection.js';

export interface RedisEventStoreOptions {
  /** Prefix of every key (REDIS_KEY_PREFIX). */
  prefix: string;
  /** How long a task's stream is kept once it holds the task's end (the retention for finished tasks). */
  finishedTtlMs: number;
  /** How long one blocking read of a live subscription waits before it asks again (bounded, not a poll). */
  blockMs?: number;
  /** How long an append waits for Redis to come back when it is away (0: fails at once), as the task store's. */
  writeWaitMs?: number;
}

/**
 * Appends one event with its seq as the entry id (Redis refuses an id not above the stream's last, which is
 * the port's "seq must grow"), then drops the oldest droppable entries (not the one appended) while the stream is
 * over its bound, and sets the stream's expiry when the event ends the task. One script, so a reader never sees a
 * half trim.
 * KEYS[1] stream; ARGV: id, droppable (0/1), json, limit, ttl ms (0: none).
 */
const APPEND = `
local added = redis.pcall('XADD', KEYS[1], ARGV[1], 'd', ARGV[2], 'e', ARGV[3])
if type(added) == 'table' and added.err then return added end
local limit = tonumber(ARGV[4])
local excess = redis.call('XLEN', KEYS[1]) - limit
local from = '-'
while excess > 0 do
  local batch = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', 100)
  if #batch == 0 then break end
  for _, entry in ipairs(batch) do
    if excess <= 0 then break end
    local fields = entry[2]
    if fields[2] == '1' and entry[1] ~= ARGV[1] then
      redis.call('XDEL', KEYS[1], entry[1])
      excess = excess - 1
    end
    from = '(' .. entry[1]
  end
end
local ttl = tonumber(ARGV[5])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`;

const TERMINAL = new Set<TaskState>([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
]);

/** Whether the event says the task has ended (its stream then expires with the finished-task retention). */
function endsTask(event: StreamResponse): boolean {
  const p = event.payload;
  if (p?.$case === 'statusUpdate')
    return TERMINAL.has(p.value.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED);
  if (p?.$case === 'task') return TERMINAL.has(p.value.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED);
  return false;
}

type StreamEntry = [id: string, fields: string[]];

/**
 * The task event stream port on Redis Streams: one stream per task (`<prefix>events:<taskId>`), each entry's id
 * the event's seq (`<seq>-0`), so a resume by Last-Event-ID is a range read and any API node can follow a task
 * that any worker runs. Live subscribers read with XREAD BLOCK on a connection of their own, from the stream's
 * last id at the moment they subscribed, so "subscribe, then read" sees every event exactly once. Over its bound
 * a stream loses its oldest droppable entries (the port keeps state changes however many there are, so a plain
 * MAXLEN trim would not do); a finished task's stream expires after `finishedTtlMs`.
 */
export class RedisEventStore implements TaskEventStore {
  constructor(
    private readonly deps: { redis: Redis },
    private readonly opts: RedisEventStoreOptions,
  ) {
    deps.redis.defineCommand('a2aAppendEvent', { numberOfKeys: 1, lua: APPEND });
  }

  private key(taskId: string): string {
    return `${this.opts.prefix}events:${taskId}`;
  }

  async appendTaskEvent(taskId: string, record: TaskEventRecord, limit: number): Promise<void> {
    await waitForReady(this.deps.redis, this.opts.writeWaitMs ?? 0);
    if (!Number.isSafeInteger(record.seq) || record.seq < 1)
      throw new Error(`invalid event seq ${record.seq}`);
    const json = JSON.stringify(StreamResponse.toJSON(record.event));
    const ttl = endsTask(record.event) ? this.opts.finishedTtlMs : 0;
    const redis = this.deps.redis as Redis & {
      a2aAppendEvent(key: string, ...args: (string | number)[]): Promise<unknown>;
    };
    await redis.a2aAppendEvent(
      this.key(taskId),
      `${record.seq}-0`,
      record.droppable ? '1' : '0',
      json,
      Math.max(1, limit),
      ttl,
    );
  }

  async readTaskEvents(taskId: string, afterSeq: number): Promise<TaskEventRecord[]> {
    const entries = (await this.deps.redis.xrange(
      this.key(taskId),
      `${Math.max(0, Math.floor(afterSeq)) + 1}-0`,
      '+',
    )) as StreamEntry[];
    return entries.map((e) => recordOf(taskId, e));
  }

  async lastTaskEvent(taskId: string): Promise<TaskEventRecord | undefined> {
    const [entry] = (await this.deps.redis.xrevrange(
      this.key(taskId),
      '+',
      '-',
      'COUNT',
      1,
    )) as StreamEntry[];
    return entry ? recordOf(taskId, entry) : undefined;
  }

  async subscribeTaskEvents(taskId: string, signal?: AbortSignal): Promise<LiveEvents> {
    const key = this.key(taskId);
    const closedAtOnce = signal?.aborted === true;
    // Where the live part starts: after the last entry stored when the subscription is made.
    const [last] = closedAtOnce
      ? []
      : ((await this.deps.redis.xrevrange(key, '+', '-', 'COUNT', 1)) as StreamEntry[]);
    let cursor = last?.[0] ?? '0-0';
    const reader = closedAtOnce ? undefined : blockingConnection(this.deps.redis);
    reader?.on('error', () => undefined);
    let closed = closedAtOnce;
    const close = (): void => {
      if (closed) return;
      closed = true;
      signal?.removeEventListener('abort', close);
      reader?.disconnect();
    };
    signal?.addEventListener('abort', close, { once: true });
    const blockMs = this.opts.blockMs ?? 5000;
    return {
      close,
      async *[Symbol.asyncIterator](): AsyncGenerator<LoggedEvent> {
        while (!closed && reader) {
          let batch: [string, StreamEntry[]][] | null;
          try {
            batch = await reader.xread('COUNT', 100, 'BLOCK', blockMs, 'STREAMS', key, cursor);
          } catch (err) {
            if (closed) return;
            throw err;
          }
          if (closed) return;
          for (const [, entries] of batch ?? []) {
            for (const entry of entries) {
              cursor = entry[0];
              const record = recordOf(taskId, entry);
              yield { seq: record.seq, event: record.event };
            }
          }
        }
      },
    };
  }
}

function recordOf(taskId: string, [id, fields]: StreamEntry): TaskEventRecord {
  try {
    const get = (name: string): string | undefined => {
      const i = fields.indexOf(name);
      return i >= 0 && i % 2 === 0 ? fields[i + 1] : undefined;
    };
    return {
      seq: Number(id.split('-')[0]),
      droppable: get('d') === '1',
      event: StreamResponse.fromJSON(JSON.parse(get('e') ?? '')),
    };
  } catch (cause) {
    throw new TaskUnreadableError(taskId, { cause });
  }
}
