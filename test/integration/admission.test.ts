import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FAKE_CLI_DIR,
  getTask,
  rpc,
  startTestGateway,
  tempDir,
  waitFor,
  type TestGateway,
} from '../helpers/gateway.js';

const KEYS = { alice: 'alice-key-0123456789abcdef', bob: 'bob-key-0123456789abcdef' };
const hashKey = (key: string) => 'sha256:' + createHash('sha256').update(key, 'utf8').digest('hex');

const BACKENDS = `
backends:
  tracked:
    type: command
    command: ${join(FAKE_CLI_DIR, 'track-run.mjs')}
    # Its log is outside the workspace, where a sandboxed run cannot write.
    sandbox: off
    args: ["{input.instructions}", "400"]
skills:
  code: { backend: tracked }
`;

/** A 0.3 `message/send` with a chosen messageId. */
function send(url: string, messageId: string, opts: { key?: string; blocking?: boolean; log: string }) {
  return rpc(
    url,
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'message/send',
      params: {
        message: {
          kind: 'message',
          role: 'user',
          messageId,
          parts: [{ kind: 'text', text: opts.log }],
          metadata: { skill: 'code' },
        },
        configuration: { blocking: opts.blocking ?? false },
      },
    },
    opts.key ? { 'x-api-key': opts.key } : {},
  );
}

const ended = (state: string | undefined) =>
  state === 'completed' || state === 'failed' || state === 'canceled';

describe('admission: a send is refused up front or runs', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      env: { MAX_CONCURRENT_TASKS: '2', MAX_QUEUED_TASKS: '5', RATE_LIMIT_PER_MINUTE: '0' },
      configYaml: BACKENDS,
    });
  });
  after(async () => {
    await gw.stop();
  });

  test('300 concurrent sends with 2 running + 5 queued allowed: none is accepted and then failed "queue full"', async (t) => {
    const log = join(gw.dataDir, 'runs.log');
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) => send(gw.url, `burst-${i}`, { log })),
    );
    const accepted: string[] = [];
    let refused = 0;
    for (const a of answers) {
      if (a.body.result?.id) accepted.push(a.body.result.id as string);
      else {
        assert.equal(a.body.error?.code, -32000, JSON.stringify(a.body));
        assert.match(a.body.error.message, /queue is full/);
        refused += 1;
      }
    }
    assert.equal(accepted.length + refused, 300);
    t.diagnostic(`sent 300, accepted ${accepted.length}, refused up front ${refused}`);
    assert.ok(accepted.length >= 7, `at least the 7 places are taken (got ${accepted.length})`);
    const finals = await Promise.all(
      accepted.map((id) =>
        waitFor(
          async () => {
            const task = await getTask(gw.url, id);
            return ended(task?.status?.state) ? task : undefined;
          },
          60_000,
          `task ${id} to end`,
        ),
      ),
    );
    const failed = finals.filter((t) => t.status.state !== 'completed');
    assert.deepEqual(
      failed.map((t) => t.status.message?.parts?.[0]?.text),
      [],
      'every accepted send ran to completion',
    );
  });
});

describe('a retried send (same messageId, same key) gets the same task', () => {
  let gw: TestGateway;
  let dir: ReturnType<typeof tempDir>;
  before(async () => {
    dir = tempDir();
    const keysFile = join(dir.dir, 'keys.yaml');
    writeFileSync(
      keysFile,
      `keys:
  - { id: alice, hash: "${hashKey(KEYS.alice)}", scopes: ["*"] }
  - { id: bob, hash: "${hashKey(KEYS.bob)}", scopes: ["*"] }
`,
    );
    gw = await startTestGateway({
      env: { API_KEYS_FILE: keysFile, RATE_LIMIT_PER_MINUTE: '0' },
      configYaml: BACKENDS,
    });
  });
  after(async () => {
    await gw.stop();
    dir.cleanup();
  });

  test('sequential retry, concurrent retries, and a retry after the task ended: one task, run once', async () => {
    const log = join(gw.dataDir, 'retry.log');
    const first = await send(gw.url, 'retry-1', { key: KEYS.alice, log });
    const again = await send(gw.url, 'retry-1', { key: KEYS.alice, log });
    assert.ok(first.body.result?.id, JSON.stringify(first.body));
    assert.equal(again.body.result?.id, first.body.result.id);

    const burst = await Promise.all(
      [1, 2, 3, 4, 5].map(() => send(gw.url, 'retry-2', { key: KEYS.alice, log })),
    );
    const ids = new Set(burst.map((b) => b.body.result?.id as string));
    assert.equal(ids.size, 1, `one task for five concurrent sends: ${JSON.stringify([...ids])}`);
    assert.ok(![...ids].includes(undefined as unknown as string));

    const done = await send(gw.url, 'retry-3', { key: KEYS.alice, log, blocking: true });
    assert.equal(done.body.result?.status?.state, 'completed');
    const late = await send(gw.url, 'retry-3', { key: KEYS.alice, log, blocking: true });
    assert.equal(late.body.result?.id, done.body.result.id);
    assert.equal(late.body.result?.status?.state, 'completed');

    const stateAs = async (key: string, id: string): Promise<string | undefined> =>
      (
        await rpc(
          gw.url,
          { jsonrpc: '2.0', id: 3, method: 'tasks/get', params: { id } },
          { 'x-api-key': key },
        )
      ).body.result?.status?.state as string | undefined;
    for (const id of [first.body.result.id as string, ...ids]) {
      await waitFor(
        async () => (ended(await stateAs(KEYS.alice, id)) ? true : undefined),
        30_000,
        `task ${id} to end`,
      );
    }
    const { readFileSync } = await import('node:fs');
    const starts = readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('start ')).length;
    assert.equal(starts, 3, 'three messageIds, three runs');
  });

  test('another key with the same messageId gets a task of its own', async () => {
    const log = join(gw.dataDir, 'other.log');
    const a = await send(gw.url, 'shared-id', { key: KEYS.alice, log });
    const b = await send(gw.url, 'shared-id', { key: KEYS.bob, log });
    assert.ok(a.body.result?.id && b.body.result?.id);
    assert.notEqual(a.body.result.id, b.body.result.id);
  });
});
