import { taskStateFromJSON } from '@a2a-js/sdk';
import type { Redis } from 'ioredis';
import { indexRecord, type TaskIndexCommands, type TaskIndexKeys } from './redis-task-index.js';

/** What building the listing indexes of tasks saved by an earlier version did. */
export interface IndexBuild {
  /** Tasks found without their indexes, and indexed now. */
  indexed: number;
  /** Index records of tasks that no longer exist, dropped. */
  dropped: number;
  /** Stored tasks that could not be read (left out of listing, as they would fail it). */
  unreadable: number;
  ms: number;
}

/** Tasks read and indexed per round (one pipelined round trip each). */
const BATCH = 500;
/** Rounds of the build, each of BATCH tasks: far beyond any store (50,000,000 tasks). */
const MAX_ROUNDS = 100_000;

/** The part of a stored entry the indexes need (the task itself is left undecoded). */
interface StoredEntry {
  tenant: string;
  owner: string;
  statusKey: string;
  task: { contextId?: string; status?: { state?: string } };
}

/**
 * Gives the listing indexes to the tasks an earlier version saved without them, and drops the index records of
 * tasks such a version removed. Every task has one record, so equal counts (the usual case, O(1)) mean there is
 * nothing to do. Tasks are walked in first-save order (unique, increasing scores), so tasks saved or removed
 * meanwhile shift nothing; a task saved meanwhile has its record already and is left as its save indexed it.
 */
export async function buildTaskIndexes(
  redis: Redis & TaskIndexCommands,
  keys: { ix: TaskIndexKeys; all: string; taskKey: (id: string) => string },
): Promise<IndexBuild> {
  const t0 = performance.now();
  const { ix } = keys;
  const result = { indexed: 0, dropped: 0, unreadable: 0 };
  const counts = async (): Promise<[number, number]> => [
    await redis.zcard(keys.all),
    await redis.hlen(ix.records),
  ];
  let [tasks, records] = await counts();
  if (tasks !== records) {
    let after = '-inf';
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const page = await redis.zrangebyscore(keys.all, after, '+inf', 'WITHSCORES', 'LIMIT', 0, BATCH);
      if (page.length === 0) break;
      const ids = page.filter((_, i) => i % 2 === 0);
      after = `(${page.at(-1)}`;
      const known = await redis.hmget(ix.records, ...ids);
      const missing = ids.filter((_, i) => known[i] === null);
      if (missing.length === 0) continue;
      const values = await redis.mget(...missing.map(keys.taskKey));
      // The commands of a batch go out together (pipelined), each its own script.
      const done = await Promise.all(
        missing.map((id, i) => {
          const entry = parseEntry(values[i]);
          if (!entry) {
            if (values[i] != null) result.unreadable++;
            return Promise.resolve(0);
          }
          const state = entry.task.status?.state;
          return redis.a2aIndexIfMissing(
            keys.taskKey(id),
            ix.records,
            ix.states,
            id,
            ix.root,
            indexRecord(
              entry,
              entry.task.contextId ?? '',
              state === undefined ? 0 : taskStateFromJSON(state),
              entry.statusKey,
            ),
          );
        }),
      );
      result.indexed += done.reduce((a, b) => a + b, 0);
    }
    [tasks, records] = await counts();
  }
  if (records > tasks) {
    let cursor = '0';
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const [next, fields] = await redis.hscan(ix.records, cursor, 'COUNT', BATCH);
      const ids = fields.filter((_, i) => i % 2 === 0);
      const done = await Promise.all(
        ids.map((id) => redis.a2aDropStaleRecord(keys.taskKey(id), ix.records, id, ix.root)),
      );
      result.dropped += done.reduce((a, b) => a + b, 0);
      cursor = next;
      if (cursor === '0') break;
    }
  }
  return { ...result, ms: Math.round(performance.now() - t0) };
}

function parseEntry(json: string | null | undefined): StoredEntry | undefined {
  if (json == null) return undefined;
  try {
    const entry = JSON.parse(json) as Partial<StoredEntry> | null;
    return entry && typeof entry.task === 'object' && entry.task !== null
      ? (entry as StoredEntry)
      : undefined;
  } catch {
    return undefined;
  }
}
