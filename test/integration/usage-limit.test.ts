// Usage-limit pauses through the gateway: a backend turn that ends on its account's usage limit with a reset time
// within USAGE_LIMIT_WAIT_MAX leaves the task `working` with a message saying until when, and runs again after the
// reset; other tasks on the same backend wait for the reset before they start; a reset further off fails the task
// naming the reset time; a cancel during the pause cancels at once.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FAKE_CLI_DIR,
  getTask,
  rpc,
  sendTask,
  startTestGateway,
  tempDir,
  waitFor,
  type TestGateway,
} from '../helpers/gateway.js';

const LIMITED = join(FAKE_CLI_DIR, 'usage-limit.mjs');

const backend = (name: string, field: string): string => `
  ${name}:
    type: command
    command: ${LIMITED}
    args: ["{input.${field}}"]
    output: jsonl`;

const CONFIG = `
backends:${backend('limited', 'instructions')}${backend('other', 'bug_description')}
skills:
  code: { backend: limited }
  fix_bug: { backend: other }
`;

const PAUSE = /^paused by the (\w+) usage limit until (\d{4}-\d\d-\d\dT[\d:.]+Z)$/;

function texts(task: any, event: string): string[] {
  return (task?.history ?? [])
    .filter((m: any) => m.metadata?.event === event)
    .flatMap((m: any) => (m.parts ?? []).map((p: any) => p.text ?? ''));
}

describe('usage limits: the task pauses until the reset instead of failing', () => {
  let gw: TestGateway;
  let dir: string;
  let cleanup: () => void;
  const starts = (log: string): { name: string; at: number }[] =>
    readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .map(([, name, at]) => ({ name: name ?? '', at: Number(at) }));

  before(async () => {
    ({ dir, cleanup } = tempDir('a2a-usage-limit-'));
    gw = await startTestGateway({
      env: { USAGE_LIMIT_WAIT_MAX: '60', SANDBOX_WRITABLE: dir },
      configYaml: CONFIG,
    });
  });
  after(async () => {
    await gw?.stop();
    cleanup?.();
  });

  test('a reset beyond USAGE_LIMIT_WAIT_MAX fails the task at once, naming the reset time', async () => {
    const log = join(dir, 'far.log');
    const task = JSON.stringify({ state: join(dir, 'far.state'), log, resetSeconds: 7200, name: 'far' });
    const startedAt = Date.now();
    const res = await sendTask(gw.url, { skill: 'code', input: { instructions: task } });
    const result = res.body.result;
    assert.equal(result?.status?.state, 'failed', JSON.stringify(res.body).slice(0, 600));
    const reason = (result.status.message?.parts ?? []).map((p: any) => p.text ?? '').join('');
    assert.match(reason, /Usage limit reached/);
    assert.match(
      reason,
      /resets at \d{4}-\d\d-\d\dT[\d:.]+Z, more than USAGE_LIMIT_WAIT_MAX = 60 s from now/,
    );
    assert.ok(Date.now() - startedAt < 10_000, 'it did not wait');
    assert.equal(starts(log).length, 1, 'it ran once');
  });

  test('a reset 2 s ahead: working with the pause message, then run again and completed; a task sent during the pause starts after the reset', async () => {
    const log = join(dir, 'near.log');
    const state = join(dir, 'near.state');
    const first = JSON.stringify({ state, log, resetSeconds: 2, name: 'first' });
    const sent = (await sendTask(gw.url, { skill: 'code', input: { instructions: first }, blocking: false }))
      .body.result;
    const paused = await waitFor(
      async () => {
        const t = await getTask(gw.url, sent.id);
        return texts(t, 'usage_limit').length > 0 ? t : undefined;
      },
      10_000,
      'the pause message',
    );
    assert.equal(paused.status.state, 'working', 'the task stays working while it waits');
    const [, name, until] = PAUSE.exec(texts(paused, 'usage_limit')[0] ?? '') ?? [];
    assert.equal(name, 'limited');
    const resetAt = Date.parse(until ?? '');
    assert.ok(resetAt > Date.now() - 500 && resetAt < Date.now() + 5_000, `reset ${until} about 2 s ahead`);
    // Another task on the same backend, sent during the pause: it waits for the reset before its CLI starts.
    const second = JSON.stringify({ state, log, resetSeconds: 2, name: 'second' });
    const other = await sendTask(gw.url, { skill: 'code', input: { instructions: second } });
    assert.equal(other.body.result?.status?.state, 'completed', JSON.stringify(other.body).slice(0, 600));
    assert.equal(texts(await getTask(gw.url, other.body.result.id), 'usage_limit').length, 1);
    const done = await waitFor(
      async () => {
        const t = await getTask(gw.url, sent.id);
        return ['completed', 'failed', 'canceled'].includes(t?.status?.state) ? t : undefined;
      },
      15_000,
      'the paused task to end',
    );
    assert.equal(done.status.state, 'completed', JSON.stringify(done.status));
    assert.match(done.artifacts?.[0]?.parts?.[0]?.text ?? '', /done first/);
    const runs = starts(log);
    assert.deepEqual(
      runs.map((r) => r.name).sort(),
      ['first', 'first', 'second'],
      'the limited task ran twice, the other once',
    );
    for (const r of runs.slice(1)) {
      assert.ok(r.at >= resetAt - 50, `${r.name} started ${resetAt - r.at} ms before the reset`);
    }
  });

  test('cancel during the pause cancels at once', async () => {
    const log = join(dir, 'cancel.log');
    const task = JSON.stringify({ state: join(dir, 'cancel.state'), log, resetSeconds: 30, name: 'c' });
    const sent = (
      await sendTask(gw.url, { skill: 'fix_bug', input: { bug_description: task }, blocking: false })
    ).body.result;
    await waitFor(
      async () => (texts(await getTask(gw.url, sent.id), 'usage_limit').length > 0 ? true : undefined),
      10_000,
      'the pause message',
    );
    const asked = Date.now();
    const canceled = await rpc(gw.url, {
      jsonrpc: '2.0',
      id: 4,
      method: 'tasks/cancel',
      params: { id: sent.id },
    });
    assert.equal(canceled.body.result?.status?.state, 'canceled', JSON.stringify(canceled.body));
    const ended = await waitFor(
      async () => {
        const t = await getTask(gw.url, sent.id);
        return t?.status?.state === 'canceled' ? t : undefined;
      },
      5_000,
      'the canceled state',
    );
    assert.ok(Date.now() - asked < 5_000);
    assert.equal(ended.status.state, 'canceled');
    assert.equal(starts(log).length, 1, 'it did not run again');
  });
});
