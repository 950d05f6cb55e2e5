import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  alive,
  FAKE_CLI_DIR,
  getTask,
  sendTask,
  spawnGateway,
  tempDir,
  waitFor,
  type GatewayProcess,
} from '../helpers/gateway.js';

/** A small seeded generator (mulberry32), so a failing run can be replayed with CRASH_SEED. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CYCLES = 5;
const TASKS_PER_CYCLE = 10;

const config = (dir: string): string => `
backends:
  tracked:
    type: command
    command: ${join(FAKE_CLI_DIR, 'track-run.mjs')}
    # Its log is outside the workspace, where a sandboxed run cannot write.
    sandbox: off
    args: ["${join(dir, 'runs.log')}", "{input.instructions}"]
skills:
  code: { backend: tracked }
  refactor_code: { backend: tracked, retryOnRestart: true }
`;

function startedPids(dir: string): number[] {
  const log = join(dir, 'runs.log');
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('start '))
    .map((l) => Number(l.split(' ')[1]));
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' });
}

describe('crash cycles on the SQLite store', () => {
  test(`SIGKILL at random points during ${CYCLES * TASKS_PER_CYCLE} tasks, ${CYCLES} times: every acknowledged task is there and ends, nothing is left behind`, async (t) => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
    t.diagnostic(`CRASH_SEED=${seed}`);
    const rand = random(seed);
    const tmp = tempDir('a2a-crash-');
    const repo = join(tmp.dir, 'repo');
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README.md'), 'crash cycles\n');
    git(repo, 'add', '.');
    git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'init');
    const configFile = join(tmp.dir, 'gateway.yaml');
    writeFileSync(configFile, config(tmp.dir));
    const dataDir = join(tmp.dir, 'data');
    const env = {
      DATA_DIR: dataDir,
      WORKSPACE_ROOTS: tmp.dir,
      KILL_GRACE: '0.5',
      LOG_LEVEL: 'info',
      MAX_CONCURRENT_TASKS: '3',
      MAX_QUEUED_TASKS: '100',
      RATE_LIMIT_PER_MINUTE: '0',
    };
    const acknowledged = new Map<string, string>(); // task id -> skill
    let tried = 0;
    let gw: GatewayProcess | undefined;
    const where = (): string => `(CRASH_SEED=${seed})`;
    try {
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        gw = await spawnGateway(env, ['--config', configFile]);
        const url = gw.url;
        const sends = Array.from({ length: TASKS_PER_CYCLE }, async (_, i) => {
          // Spread the sends over the first second, so the kill lands before, between and after them.
          await new Promise((r) => setTimeout(r, Math.floor(rand() * 1000)));
          const skill = rand() < 0.25 ? 'refactor_code' : 'code';
          const ms = String(100 + Math.floor(rand() * 600));
          tried += 1;
          try {
            const res = await sendTask(url, {
              skill,
              input: { instructions: ms, workdir: repo },
              blocking: false,
              message: { messageId: `c${cycle}-${i}` },
            });
            const id = res.body?.result?.id as string | undefined;
            if (id) acknowledged.set(id, skill);
          } catch {
            // the gateway died under this send: not acknowledged
          }
        });
        const killAfter = 300 + Math.floor(rand() * 2500);
        await new Promise((r) => setTimeout(r, killAfter));
        gw.kill('SIGKILL');
        await gw.exited;
        await Promise.all(sends);
      }

      gw = await spawnGateway(env, ['--config', configFile]);
      const url = gw.url;
      const finals = new Map<string, { state: string; text: string }>();
      for (const id of acknowledged.keys()) {
        const task = await waitFor(
          async () => {
            const got = await getTask(url, id);
            assert.ok(got, `acknowledged task ${id} is in the store ${where()}`);
            const state = got.status?.state as string;
            return ['completed', 'failed', 'canceled'].includes(state) ? got : undefined;
          },
          90_000,
          `task ${id} to end ${where()}`,
        );
        finals.set(id, { state: task.status.state, text: task.status.message?.parts?.[0]?.text ?? '' });
      }
      for (const [id, final] of finals) {
        if (final.state === 'completed') continue;
        assert.equal(final.state, 'failed', `task ${id} ${where()}`);
        assert.match(final.text, /interrupted: gateway restarted/, `task ${id} ${where()}`);
        assert.equal(
          acknowledged.get(id),
          'code',
          `a retryOnRestart task ran again rather than failing ${where()}`,
        );
      }
      const completed = [...finals.values()].filter((f) => f.state === 'completed').length;
      t.diagnostic(
        `tried ${tried}, acknowledged ${acknowledged.size}, completed ${completed}, failed interrupted ${finals.size - completed}, lost 0`,
      );

      // Nothing left behind: no worktree (in git or on disk) and no process of any run.
      await waitFor(
        () =>
          git(repo, 'worktree', 'list', '--porcelain').match(/^worktree /gm)?.length === 1 ? true : undefined,
        10_000,
        `the task worktrees to be removed ${where()}`,
      );
      const worktrees = join(dataDir, 'worktrees');
      assert.deepEqual(existsSync(worktrees) ? readdirSync(worktrees) : [], [], `worktrees left ${where()}`);
      await waitFor(
        () => (startedPids(tmp.dir).every((p) => !alive(p)) ? true : undefined),
        10_000,
        `every run's process to be gone ${where()}`,
      );
    } finally {
      gw?.kill('SIGKILL');
      await gw?.exited;
      for (const pid of startedPids(tmp.dir)) {
        try {
          if (alive(pid)) process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      tmp.cleanup();
    }
  });
});
