import type { Redis } from 'ioredis';

/**
 * The listing indexes of the Redis task store. Every task is a member of six sorted sets, all scores 0 so that
 * Redis orders members by their bytes: `<statusKey> <id>`, which sorts as the list order (newest status first,
 * then id descending, when read in reverse; a task without a status time has the key '' and so sorts oldest).
 * The sets: the caller's scope (tenant, owner) and everyone's (admins), each whole, per context and per state.
 * A page is one range read from the cursor (`ZRANGE … BYLEX REV LIMIT`), a total one `ZCARD`/`ZLEXCOUNT`:
 * O(log n + page size) whatever the number of tasks.
 *
 * Where a task is indexed is kept beside it (`@records`: id -> `[scope, contextId, state, statusKey]`) so that
 * a save removes the task's previous members in the same script that adds its new ones: a reader never sees a
 * task twice or not at all. Key names are built here and in the Lua below, the same way:
 * `<prefix>tasks:ix:<base>[:ctx:<contextId>|:state:<n>]`, base `@all` or the scope as JSON (`["tenant","owner"]`).
 */
export class TaskIndexKeys {
  constructor(private readonly prefix: string) {}

  /** What every index key starts with (passed to the scripts, which build the rest). */
  get root(): string {
    return `${this.prefix}tasks:ix:`;
  }
  get records(): string {
    return `${this.root}@records`;
  }
  /** The states any task has been indexed in (countByState reads one count per state). */
  get states(): string {
    return `${this.root}@states`;
  }
  base(scope: { tenant: string; owner: string } | 'all'): string {
    return this.root + (scope === 'all' ? '@all' : scopeName(scope));
  }
  byContext(base: string, contextId: string): string {
    return `${base}:ctx:${contextId}`;
  }
  byState(base: string, state: number): string {
    return `${base}:state:${state}`;
  }
}

export function scopeName(scope: { tenant: string; owner: string }): string {
  return JSON.stringify([scope.tenant, scope.owner]);
}

/** A task's member in every index: its list key, a space (below every character of a status key), its id. */
export function indexMember(statusKey: string, id: string): string {
  return `${statusKey} ${id}`;
}

/**
 * The lowest member whose status key is strictly later than `statusKey` (statusTimestampAfter): every member of
 * that key is `<statusKey> <id>`, below `<statusKey>!`, and every later key is above it.
 */
export function afterStatusBound(statusKey: string): string {
  return `[${statusKey}!`;
}

/** Where a task is indexed: its scope's name, context id, state and status key. */
export type IndexRecord = [scope: string, contextId: string, state: string, statusKey: string];

export function indexRecord(
  scope: { tenant: string; owner: string },
  contextId: string,
  state: number,
  statusKey: string,
): string {
  return JSON.stringify([scopeName(scope), contextId, String(state), statusKey] satisfies IndexRecord);
}

/** Lua: remove a task from the indexes its record names / add it to the ones a record names. */
const LUA_INDEX = `
local function each_index(root, id, record, call)
  local r = cjson.decode(record)
  local member = r[4] .. ' ' .. id
  for _, base in ipairs({root .. '@all', root .. r[1]}) do
    call(base, member)
    if r[2] ~= '' then call(base .. ':ctx:' .. r[2], member) end
    call(base .. ':state:' .. r[3], member)
  end
  return r
end
local function unindex(root, records, id)
  local old = redis.call('HGET', records, id)
  if old then
    each_index(root, id, old, function(key, member) redis.call('ZREM', key, member) end)
    redis.call('HDEL', records, id)
  end
end
local function index(root, records, states, id, record)
  local r = each_index(root, id, record, function(key, member) redis.call('ZADD', key, 0, member) end)
  redis.call('HSET', records, id, record)
  redis.call('SADD', states, r[3])
end
`;

/**
 * Saves one task with every index in one step. KEYS: task, all (first-save order), seq, unfinished, finished,
 * records, states, message (the task's first message id, or the task key again when it has none).
 * ARGV: id, entry JSON, terminal (1/0), finished age ms, now ms, index root, index record, has message (1/0).
 */
export const SAVE_TASK = `${LUA_INDEX}
local id = ARGV[1]
local is_new = redis.call('EXISTS', KEYS[1]) == 0
redis.call('SET', KEYS[1], ARGV[2])
local order = false
if is_new then
  order = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[2], 'NX', order, id)
end
if ARGV[3] == '1' then
  redis.call('ZREM', KEYS[4], id)
  redis.call('ZADD', KEYS[5], ARGV[4], id)
else
  redis.call('ZREM', KEYS[5], id)
  redis.call('ZADD', KEYS[4], 'NX', order or redis.call('ZSCORE', KEYS[2], id) or ARGV[5], id)
end
if ARGV[8] == '1' then redis.call('SET', KEYS[8], id, 'NX') end
unindex(ARGV[6], KEYS[6], id)
index(ARGV[6], KEYS[6], KEYS[7], id, ARGV[7])
return is_new and 1 or 0
`;

/**
 * Removes one task, its indexes and its message key. KEYS: task, all, unfinished, finished, records, message
 * (or the task key again), the previous version's scope set. ARGV: id, index root.
 */
export const DROP_TASK = `${LUA_INDEX}
local id = ARGV[1]
unindex(ARGV[2], KEYS[5], id)
redis.call('DEL', KEYS[1], KEYS[6])
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], id)
redis.call('SREM', KEYS[7], id)
return 1
`;

/**
 * Indexes a task the previous version saved (no record yet); a task saved since has its record and is left
 * alone. KEYS: task, records, states. ARGV: id, index root, index record.
 */
export const INDEX_IF_MISSING = `${LUA_INDEX}
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 or redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
index(ARGV[2], KEYS[2], KEYS[3], ARGV[1], ARGV[3])
return 1
`;

/** Forgets the record of a task that no longer exists. KEYS: task, records. ARGV: id, index root. */
export const DROP_STALE_RECORD = `${LUA_INDEX}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
unindex(ARGV[2], KEYS[2], ARGV[1])
return 1
`;

/**
 * One page of an index, newest first, with the tasks' stored JSON, in one step (a save between the range read
 * and the task reads could otherwise show a task at a place it has left). KEYS: index. ARGV: max (`+` or an
 * exclusive cursor bound), min (`-` or the statusTimestampAfter bound), how many, task key prefix.
 * Returns [total, id1, json1, id2, json2, …] (a json is nil when retention removed the task meanwhile).
 */
export const LIST_PAGE = `
local members = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'BYLEX', 'REV', 'LIMIT', 0, tonumber(ARGV[3]))
local total
if ARGV[2] == '-' then total = redis.call('ZCARD', KEYS[1]) else total = redis.call('ZLEXCOUNT', KEYS[1], ARGV[2], '+') end
local out = { total }
for _, member in ipairs(members) do
  local id = string.sub(member, string.find(member, ' ', 1, true) + 1)
  out[#out + 1] = id
  out[#out + 1] = redis.call('GET', ARGV[4] .. id) or false
end
return out
`;

/** The scripts as commands of a client (EVALSHA, loaded on first use). */
export interface TaskIndexCommands {
  a2aSaveTask(...args: (string | number)[]): Promise<number>;
  a2aDropTask(...args: (string | number)[]): Promise<number>;
  a2aIndexIfMissing(...args: (string | number)[]): Promise<number>;
  a2aDropStaleRecord(...args: (string | number)[]): Promise<number>;
  a2aListPage(...args: (string | number)[]): Promise<(string | number | null)[]>;
}

export function defineTaskIndexCommands(redis: Redis): Redis & TaskIndexCommands {
  redis.defineCommand('a2aSaveTask', { numberOfKeys: 8, lua: SAVE_TASK });
  redis.defineCommand('a2aDropTask', { numberOfKeys: 7, lua: DROP_TASK });
  redis.defineCommand('a2aIndexIfMissing', { numberOfKeys: 3, lua: INDEX_IF_MISSING });
  redis.defineCommand('a2aDropStaleRecord', { numberOfKeys: 2, lua: DROP_STALE_RECORD });
  redis.defineCommand('a2aListPage', { numberOfKeys: 1, lua: LIST_PAGE });
  return redis as Redis & TaskIndexCommands;
}
