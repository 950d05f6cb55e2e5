/**
 * Benchmark 4: the store at scale. A SQLite file holding N finished tasks (5 per context), each with its event
 * log (3 events), owned by the bench key; then the gateway started on it: start-up time, resident memory, GetTask
 * p99 at 16 connections (REST, ids spread over 1,000 tasks), ListTasks first page and a page filtered by contextId.
 * Targets: GetTask p99 <= 5 ms, first page <= 20 ms, RSS <= 300 MB, start <= 2 s.
 *
 *   node --import tsx bench/store-scale.ts [--tasks 100000] [--seconds 8]
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { SqliteTaskStore } from '../src/stores/sqlite-store.js';
import { V1 } from './lib/client.js';
import { machineLine, percentile, printTable, round } from './lib/report.js';
import { startGateway } from './lib/servers.js';

const { values } = parseArgs({
  options: { tasks: { type: 'string', default: '100000' }, seconds: { type: 'string', default: '8' } },
});
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

/** Writes the tasks and their events straight into a migrated file, in one transaction. */
function seed(file: string): void {
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
  // Recent enough that retention (24 h for completed tasks) keeps every one.
  const start = Date.now() - taskCount * 100;
  db.transaction(() => {
    for (let n = 0; n < taskCount; n++) {
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
        artifacts: [
          { artifactId: `${id}-result`, name: 'result', parts: [{ text: `diff --git a/x b/x ${n}` }] },
        ],
        history: [user],
        metadata: { skill: 'code' },
      };
      insertTask.run(id, OWNER, contextId, ts, ts, ts, JSON.stringify(task), user.messageId);
      const working = {
        statusUpdate: { taskId: id, contextId, status: { state: 'TASK_STATE_WORKING', timestamp: ts } },
      };
      const completed = { statusUpdate: { taskId: id, contextId, status: task.status } };
      insertEvent.run(
        id,
        1,
        0,
        JSON.stringify({ task: { ...task, status: { state: 'TASK_STATE_SUBMITTED', timestamp: ts } } }),
      );
      insertEvent.run(id, 2, 1, JSON.stringify(working));
      insertEvent.run(id, 3, 0, JSON.stringify(completed));
    }
  })();
  db.close();
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

export async function runStoreScale(): Promise<Record<string, number>> {
  process.stdout.write(`\n# 4. Store at scale: ${taskCount} finished tasks (SQLite) · ${machineLine()}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'a2a-bench-scale-'));
  const t0 = performance.now();
  seed(join(dir, 'gateway.db'));
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
  process.stdout.write(`seeded in ${round((performance.now() - t0) / 1000)} s\n`);
  const a = await startGateway({
    configYaml: 'backends:\n  quick: { type: fake, summary: ok }\nskills:\n  code: { backend: quick }\n',
    dataDir: dir,
    env: { API_KEY: '', API_KEYS_FILE: keysFile },
  });
  try {
    const rssStart = a.rssMb();
    let i = 0;
    const get = await autocannon({
      url: a.url,
      connections: 16,
      duration: seconds,
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
    const lists = {
      first: [] as number[],
      filtered: [] as number[],
      adminFirst: [] as number[],
      adminFiltered: [] as number[],
    };
    for (let k = 0; k < 20; k++) {
      const context = contextOf((k * 4999) % taskCount);
      lists.first.push(await timedGet(`${a.url}/tasks?pageSize=50`, TEAM_KEY));
      lists.filtered.push(await timedGet(`${a.url}/tasks?pageSize=50&contextId=${context}`, TEAM_KEY));
      lists.adminFirst.push(await timedGet(`${a.url}/tasks?pageSize=50`, ADMIN_KEY));
      lists.adminFiltered.push(await timedGet(`${a.url}/tasks?pageSize=50&contextId=${context}`, ADMIN_KEY));
    }
    const figures = {
      startMs: Math.round(a.startMs),
      rssStartMb: rssStart,
      rssAfterMb: a.rssMb(),
      getRps: Math.round(get.requests.average),
      getP99: get.latency.p99,
      firstPageP50: round(percentile(lists.first, 50)),
      filteredP50: round(percentile(lists.filtered, 50)),
      adminFirstPageP50: round(percentile(lists.adminFirst, 50)),
      adminFilteredP50: round(percentile(lists.adminFiltered, 50)),
    };
    printTable(
      'Store at scale (targets: GetTask p99 <= 5 ms, first page <= 20 ms, RSS <= 300 MB, start <= 2 s)',
      [
        {
          tasks: taskCount,
          'start ms': figures.startMs,
          'RSS MB start/after': `${figures.rssStartMb}/${figures.rssAfterMb}`,
          'GetTask req/s': figures.getRps,
          'GetTask p99 ms': figures.getP99,
          'non-2xx': get.non2xx,
          'list first page p50 ms (own/admin)': `${figures.firstPageP50}/${figures.adminFirstPageP50}`,
          'list by contextId p50 ms (own/admin)': `${figures.filteredP50}/${figures.adminFilteredP50}`,
        },
      ],
    );
    return figures;
  } finally {
    await a.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runStoreScale();
