import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  getTask,
  rpc,
  sendTask,
  spawnGateway,
  tempDir,
  waitFor,
  type GatewayProcess,
} from '../helpers/gateway.js';

const SENDS = 1000;
const SECONDS = 10;
const QUEUE = 100;

/** Open file descriptors and resident memory (MB) of a process, from /proc. */
function usage(pid: number): { fds: number; rssMb: number } {
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { fds, rssMb: Math.round(rssKb / 1024) };
}

interface Round {
  accepted: string[];
  refused: number;
  other: string[];
}

/** `sends` non-blocking sends spread evenly over `seconds`. */
async function round(url: string, tag: string, sends = SENDS, seconds = SECONDS): Promise<Round> {
  const result: Round = { accepted: [], refused: 0, other: [] };
  const started = Date.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < sends; i++) {
    const due = started + (i * seconds * 1000) / sends;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      sendTask(url, {
        skill: 'code',
        input: `load ${tag} ${i}`,
        blocking: false,
        message: { messageId: `${tag}-${i}` },
      }).then(
        (res) => {
          const body = res.body as { result?: { id?: string }; error?: { code?: number; message?: string } };
          if (body.result?.id) result.accepted.push(body.result.id);
          else if (body.error?.code === -32000 && /queue is full/.test(body.error.message ?? ''))
            result.refused += 1;
          else result.other.push(JSON.stringify(body).slice(0, 200));
        },
        (err: unknown) => {
          result.other.push(String(err));
        },
      ),
    );
  }
  await Promise.all(pending);
  return result;
}

async function idle(url: string): Promise<void> {
  await waitFor(
    async () => {
      const health = (await (await fetch(`${url}/health`)).json()) as {
        active_tasks: number;
        queued_tasks: number;
      };
      return health.active_tasks === 0 && health.queued_tasks === 0 ? true : undefined;
    },
    60_000,
    'the queue to drain',
  );
}

describe('load', () => {
  test(`${SENDS} sends in ${SECONDS} s with the queue bound at ${QUEUE}: each accepted and ended or refused "queue full"; no fd or memory growth`, async (t) => {
    const tmp = tempDir('a2a-load-');
    const configFile = join(tmp.dir, 'gateway.yaml');
    writeFileSync(
      configFile,
      'backends:\n  slowish: { type: fake, steps: [{ sleepMs: 150 }], summary: ok }\nskills:\n  code: { backend: slowish }\n',
    );
    let gw: GatewayProcess | undefined;
    try {
      gw = await spawnGateway(
        {
          DATA_DIR: join(tmp.dir, 'data'),
          WORKSPACE_ROOTS: tmp.dir,
          LOG_LEVEL: 'info',
          MAX_CONCURRENT_TASKS: '4',
          MAX_QUEUED_TASKS: String(QUEUE),
          RATE_LIMIT_PER_MINUTE: '0',
        },
        ['--config', configFile],
      );
      const url = gw.url;
      const pid = gw.child.pid ?? 0;
      // Warm up (JIT, SQLite caches, connection pools), then measure around two full rounds.
      await round(url, 'warm', 200, 2).then(() => idle(url));
      const before = usage(pid);
      const figures: Record<string, unknown>[] = [];
      const after: { fds: number; rssMb: number }[] = [];
      for (const tag of ['one', 'two']) {
        const r = await round(url, tag);
        assert.deepEqual(r.other, [], 'every send is accepted or refused with the queue-full error');
        assert.equal(r.accepted.length + r.refused, SENDS, 'the counts add up');
        assert.ok(r.refused > 0, 'the load is above what the queue holds');
        await idle(url);
        let completed = 0;
        for (const id of r.accepted) {
          const task = await getTask(url, id);
          assert.equal(task?.status?.state, 'completed', `accepted task ${id} ended completed`);
          completed += 1;
        }
        after.push(usage(pid));
        figures.push({
          round: tag,
          sent: SENDS,
          accepted: r.accepted.length,
          refused: r.refused,
          completed,
          lost: 0,
        });
      }
      const [one, two] = after as [{ fds: number; rssMb: number }, { fds: number; rssMb: number }];
      t.diagnostic(JSON.stringify({ figures, before, afterRoundOne: one, afterRoundTwo: two }));
      // A leak grows with every round: the second round must not leave more behind than the first.
      assert.ok(
        two.fds <= one.fds + 10 && two.fds <= before.fds + 20,
        `fds ${before.fds} -> ${one.fds} -> ${two.fds}`,
      );
      assert.ok(two.rssMb <= one.rssMb + 40, `rss ${before.rssMb} -> ${one.rssMb} -> ${two.rssMb} MB`);
      // And the gateway still answers.
      const health = await rpc(url, { jsonrpc: '2.0', id: 1, method: 'tasks/get', params: { id: 'nope' } });
      assert.ok(health.body.error);
    } finally {
      gw?.kill('SIGKILL');
      await gw?.exited;
      tmp.cleanup();
    }
  });
});
