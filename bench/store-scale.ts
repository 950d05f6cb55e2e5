/**
 * Benchmark 4: the store at scale. N finished tasks (5 per context), each with its event log (3 events), owned by
 * the bench key, in a SQLite file and in a Redis of the benchmark's own (written through the Redis stores); then
 * the gateway started on each: start-up time, resident memory, GetTask p99 at 16 connections (REST, ids spread
 * over 1,000 tasks; measured after a 2 s warm-up of the same requests, as benchmark 1 is, and the warm-up's own p99
 * reported beside it: the first requests after a start find the task JSON uncached and the code not yet optimized),
 * ListTasks first page, a page filtered by contextId and one filtered by state.
 * Targets: GetTask p99 <= 5 ms, first page <= 20 ms, RSS <= 300 MB, start <= 2 s.
 *
 *   node --import tsx bench/store-scale.ts [--tasks 100000] [--seconds 8] [--store sqlite|redis|both]
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { StreamResponse, Task } from '@a2a-js/sdk';
import { Redis } from 'ioredis';
import { RedisEventStore } from '../src/stores/redis-event-store.js';
import { RedisTaskStore } from '../src/stores/redis-task-store.js';
import { SqliteTaskStore } from '../src/stores/sqlite-store.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { V1 } from './lib/client.js';
import { machineLine, percentile, printTable, round, type Row } from './lib/report.js';
import { startGateway } from './lib/servers.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '8' },
    store: { type: 'string', default: 'both' },
  },
});
const which = values.store === 'sqlite' || values.store === 'redis' ? values.store : 'both';
const REDIS_PREFIX = 'bench-scale:';
/** Tasks being written at once while seeding Redis. */
const SEED_CONCURRENCY = 128;
const taskCount = Math.min(Number(values.tasks), 1_000_000);
const seconds = Math.min(Number(values.seconds), 30);
const PER_CONTEXT = 5;
// Two keys: a team's key owning the tasks (it lists its own) and an admin key (it lists everyone's).
const TEAM_KEY = 'bench-team-key-0123456789';
const ADMIN_KEY = 'bench-admin-key-0123456789';
const OWNER = 'team';
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const idOf = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const contextOf = (n: number): string => `ctx-${Math.floor(n / PER_CONTEXT)}`;

/** Task n as A2A wire JSON (finished, one artifact, its first message) and its event log (3 events). */
function fixture(n: number, start: number): { task: TaskJson; events: unknown[] } {
  const id = idOf(n);
  const contextId = contextOf(n);
  const ts = new Date(start + n * 100).toISOString();
  const user = {
    messageId: `m-${n}`,
    contextId,
    taskId: id,
    role: 'ROLE_USER',
    parts: [{ text: `fix bug ${n}` }],
  };
  const done = {
    messageId: `r-${n}`,
    contextId,
    taskId: id,
    role: 'ROLE_AGENT',
    parts: [{ text: `Fixed the off-by-one in task ${n}` }],
  };
  const task = {
    id,
    contextId,
    status: { state: 'TASK_STATE_COMPLETED', message: done, timestamp: ts },
    artifacts: [{ artifactId: `${id}-result`, name: 'result', parts: [{ text: `diff --git a/x b/x ${n}` }] }],
    history: [user],
    metadata: { skill: 'code' },
  };
  return {
    task,
    events: [
      { task: { ...task, status: { state: 'TASK_STATE_SUBMITTED', timestamp: ts } } },
      { statusUpdate: { taskId: id, contextId, status: { state: 'TASK_STATE_WORKING', timestamp: ts } } },
      { statusUpdate: { taskId: id, contextId, status: task.status } },
    ],
  };
}
type TaskJson = {
  id: string;
  contextId: string;
  status: { timestamp: string };
  history: { messageId: string }[];
};

/** Recent enough that retention (24 h for completed tasks) keeps every one. */
const seedStart = (): number => Date.now() - taskCount * 100;

/** Writes the tasks and their events straight into a migrated file, in one transaction. */
function seedSqlite(file: string): void {
  // Opening the store once creates the file and its schema.
  void new SqliteTaskStore({ file }).close();
  const db = new Database(file);
  const insertTask = db.prepare(
    `INSERT INTO tasks (id, tenant, owner, context_id, state, status_ts, created_at, updated_at, json, message_id)
     VALUES (?, '', ?, ?, 3, ?, ?, ?, ?, ?)`,
  );
  const insertEvent = db.prepare(
    'INSERT INTO task_events (task_id, seq, droppable, json) VALUES (?, ?, ?, ?)',
  );
  const start = seedStart();
  db.transaction(() => {
    for (let n = 0; n < taskCount; n++) {
      const { task, events } = fixture(n, start);
      const ts = task.status.timestamp;
      insertTask.run(
        task.id,
        OWNER,
        task.contextId,
        ts,
        ts,
        ts,
        JSON.stringify(task),
        task.history[0]?.messageId,
      );
      events.forEach((event, i) => insertEvent.run(task.id, i + 1, i === 1 ? 1 : 0, JSON.stringify(event)));
    }
  })();
  db.close();
}

/**
 * Writes the tasks and their events into Redis through the gateway's own Redis stores (so in their format, with
 * their indexes), SEED_CONCURRENCY tasks in flight on one auto-pipelined connection.
 */
async function seedRedis(url: string): Promise<void> {
  const redis = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
  try {
    const tasks = new RedisTaskStore({ redis }, { prefix: REDIS_PREFIX });
    const events = new RedisEventStore({ redis }, { prefix: REDIS_PREFIX, finishedTtlMs: 86_400_000 });
    const start = seedStart();
    const scope = { tenant: '', owner: OWNER, admin: false };
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let n = next++; n < taskCount; n = next++) {
        const { task, events: log } = fixture(n, start);
        await tasks.put(Task.fromJSON(task), scope);
        for (const [i, event] of log.entries()) {
          await events.appendTaskEvent(
            task.id,
            { seq: i + 1, droppable: i === 1, event: StreamResponse.fromJSON(event) },
            1000,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
  } finally {
    redis.disconnect();
  }
}

/** One section of Redis's INFO, read through a connection of its own. */
async function redisInfo(url: string, section: 'cpu' | 'memory'): Promise<string> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return await redis.info(section);
  } finally {
    redis.disconnect();
  }
}

/** CPU time Redis's own process has used (INFO cpu, user + system), in ms. */
async function redisCpuMs(url: string): Promise<number> {
  const info = await redisInfo(url, 'cpu');
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

/** Redis's own memory (INFO memory), in MB. */
async function redisMemoryMb(url: string): Promise<number> {
  const info = await redisInfo(url, 'memory');
  return Math.round(Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0) / 2 ** 20);
}

async function timedGet(url: string, key: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { 'x-api-key': key, ...V1 }, signal: AbortSignal.timeout(30_000) });
  const body = (await res.json()) as { tasks?: unknown[] };
  const ms = performance.now() - t0;
  if (res.status !== 200 || !Array.isArray(body.tasks) || body.tasks.length === 0) {
    throw new Error(`list failed: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
  }
  return ms;
}

/** Starts the gateway on the seeded store, loads it, and returns its figures. */
async function measure(
  dir: string,
  env: Record<string, string>,
  storeCpuMs: () => Promise<number> = () => Promise.resolve(0),
): Promise<Figures> {
  const keysFile = join(dir, 'keys.json');
  writeFileSync(
    keysFile,
    JSON.stringify({
      keys: [
        { id: OWNER, hash: `sha256:${sha256(TEAM_KEY)}`, scopes: ['*'] },
        { id: 'admin', hash: `sha256:${sha256(ADMIN_KEY)}`, scopes: ['*', 'admin'] },
      ],
    }),
  );
  const a = await startGateway({
    configYaml: 'backends:\n  quick: { type: fake, summary: ok }\nskills:\n  code: { backend: quick }\n',
    dataDir: join(dir, 'data'),
    env: { API_KEY: '', API_KEYS_FILE: keysFile, ...env },
  });
  try {
    const rssStart = a.rssMb();
    let i = 0;
    const gets = (duration: number) =>
      autocannon({
        url: a.url,
        connections: 16,
        duration,
        headers: { 'x-api-key': TEAM_KEY, ...V1 },
        requests: [
          {
            method: 'GET',
            setupRequest: (req) => {
              i = (i + 7919) % Math.min(taskCount, 1000);
              return { ...req, path: `/tasks/${idOf(Math.floor((i * taskCount) / 1000))}` };
            },
          },
        ],
      });
    const cold = await gets(2);
    const cpu0 = [a.cpuMs(), await storeCpuMs()];
    const get = await gets(seconds);
    const cpu1 = [a.cpuMs(), await storeCpuMs()];
    const perGet = (k: 0 | 1): number =>
      Math.round((((cpu1[k] ?? 0) - (cpu0[k] ?? 0)) * 1000) / Math.max(1, get.requests.total));
    const lists = {
      first: [] as number[],
      filtered: [] as number[],
      byState: [] as number[],
      adminFirst: [] as number[],
      adminFiltered: [] as number[],
    };
    for (let k = 0; k < 20; k++) {
      const context = contextOf((k * 4999) % taskCount);
      lists.first.push(await timedGet(`${a.url}/tasks?pageSize=50`, TEAM_KEY));
      lists.filtered.push(await timedGet(`${a.url}/tasks?pageSize=50&contextId=${context}`, TEAM_KEY));
      lists.byState.push(await timedGet(`${a.url}/tasks?pageSize=50&status=TASK_STATE_COMPLETED`, TEAM_KEY));
      lists.adminFirst.push(await timedGet(`${a.url}/tasks?pageSize=50`, ADMIN_KEY));
      lists.adminFiltered.push(await timedGet(`${a.url}/tasks?pageSize=50&contextId=${context}`, ADMIN_KEY));
    }
    return {
      startMs: Math.round(a.startMs),
      rssStartMb: rssStart,
      rssAfterMb: a.rssMb(),
      getRps: Math.round(get.requests.average),
      getP99: get.latency.p99,
      getColdP99: cold.latency.p99,
      getNon2xx: get.non2xx + cold.non2xx,
      getCpuUs: perGet(0),
      getStoreCpuUs: perGet(1),
      firstPageP50: round(percentile(lists.first, 50)),
      filteredP50: round(percentile(lists.filtered, 50)),
      byStateP50: round(percentile(lists.byState, 50)),
      adminFirstPageP50: round(percentile(lists.adminFirst, 50)),
      adminFilteredP50: round(percentile(lists.adminFiltered, 50)),
    };
  } finally {
    await a.stop();
  }
}

interface Figures extends Record<string, number> {
  startMs: number;
  rssStartMb: number;
  rssAfterMb: number;
  getRps: number;
  getP99: number;
  /** The p99 of the first 2 s after the start (the warm-up). */
  getColdP99: number;
  getNon2xx: number;
  /** CPU time of the gateway per GetTask (user + system, µs), and of Redis's own process (0 for SQLite). */
  getCpuUs: number;
  getStoreCpuUs: number;
  firstPageP50: number;
  filteredP50: number;
  byStateP50: number;
  adminFirstPageP50: number;
  adminFilteredP50: number;
}

function row(store: string, seedS: number, f: Figures): Row {
  return {
    store,
    tasks: taskCount,
    'seed s': seedS,
    'start ms': f.startMs,
    'RSS MB start/after': `${f.rssStartMb}/${f.rssAfterMb}`,
    'GetTask req/s': f.getRps,
    'GetTask p99 ms': f.getP99,
    'first 2 s p99 ms': f.getColdP99,
    'non-2xx': f.getNon2xx,
    'CPU µs/GetTask gateway+Redis': `${f.getCpuUs}+${f.getStoreCpuUs}`,
    'first page p50 ms (own/admin)': `${f.firstPageP50}/${f.adminFirstPageP50}`,
    'by contextId p50 ms (own/admin)': `${f.filteredP50}/${f.adminFilteredP50}`,
    'by state p50 ms': f.byStateP50,
  };
}

/**
 * Runs the benchmark on each store asked for (`--store sqlite|redis|both`); returns the SQLite figures as they
 * were, and the Redis ones prefixed `redis` (e.g. `redisGetP99`).
 */
export async function runStoreScale(): Promise<Record<string, number>> {
  process.stdout.write(`\n# 4. Store at scale: ${taskCount} finished tasks (${which}) · ${machineLine()}\n`);
  const rows: Row[] = [];
  const result: Record<string, number> = {};
  if (which !== 'redis') {
    const dir = mkdtempSync(join(tmpdir(), 'a2a-bench-scale-'));
    try {
      mkdirSync(join(dir, 'data'));
      const t0 = performance.now();
      seedSqlite(join(dir, 'data', 'gateway.db'));
      const seedS = round((performance.now() - t0) / 1000);
      process.stdout.write(`SQLite seeded in ${seedS} s\n`);
      const figures = await measure(dir, {});
      Object.assign(result, figures);
      rows.push(row('SQLite', seedS, figures));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (which !== 'sqlite') {
    // A Redis of the benchmark's own on a free port, nothing saved to disk, stopped (by its pid) at the end.
    const redis = await startRedisServer().catch((err: unknown) => {
      process.stdout.write(`Redis skipped: ${err instanceof Error ? err.message : String(err)}\n`);
      return undefined;
    });
    if (redis) {
      const dir = mkdtempSync(join(tmpdir(), 'a2a-bench-scale-redis-'));
      try {
        const t0 = performance.now();
        await seedRedis(redis.url);
        const seedS = round((performance.now() - t0) / 1000);
        const memoryMb = await redisMemoryMb(redis.url);
        process.stdout.write(
          `Redis seeded in ${seedS} s through the Redis stores; Redis uses ${memoryMb} MB\n`,
        );
        const figures = await measure(
          dir,
          { REDIS_ENABLED: 'true', REDIS_URL: redis.url, REDIS_KEY_PREFIX: REDIS_PREFIX, STORE: 'redis' },
          () => redisCpuMs(redis.url),
        );
        for (const [k, v] of Object.entries({ ...figures, memoryMb }))
          result[`redis${k[0]?.toUpperCase()}${k.slice(1)}`] = v;
        rows.push(row(`Redis (${memoryMb} MB in Redis)`, seedS, figures));
      } finally {
        await redis.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  printTable(
    'Store at scale (targets: GetTask p99 <= 5 ms after a 2 s warm-up, first page <= 20 ms, RSS <= 300 MB, start <= 2 s)',
    rows,
  );
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) await runStoreScale();
