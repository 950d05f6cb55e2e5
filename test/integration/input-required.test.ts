// Questions through the whole gateway, fast: a fake CLI that speaks Claude Code's control protocol
// (test/fixtures/fake-cli/claude-asks.mjs) asks permission for a Bash call or asks a question; the task goes to
// input-required, a reply on the same task resumes it, an unreadable reply asks again, no reply in time fails it,
// and a cancel while waiting ends it. The real Claude Code does the same in test/e2e/gateway-claude-input.test.ts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FAKE_CLI_DIR,
  getTask,
  questionOf,
  replyToTask,
  rpc,
  sendTask,
  startTestGateway,
  waitFor,
  type TestGateway,
} from '../helpers/gateway.js';
import { PushReceiver } from '../helpers/push-receiver.js';

const ASKER = join(FAKE_CLI_DIR, 'claude-asks.mjs');
const CONFIG = `backends:
  asker: { type: claude, command: ${JSON.stringify(ASKER)} }
skills:
  code: { backend: asker, permissions: ask }
  fix_bug: { backend: asker }
`;

describe('input-required: permission requests and questions from the backend', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ configYaml: CONFIG, env: { INPUT_TIMEOUT: '60' } });
  });
  after(async () => {
    await gw.stop();
  });

  test('a permission request becomes input-required; "allow" resumes the run and it completes', async () => {
    const started = await sendTask(gw.url, { skill: 'code', input: 'make a file' });
    const task = started.body.result;
    assert.equal(task.status.state, 'input-required', JSON.stringify(task.status));
    const q = questionOf(task);
    assert.equal(q.kind, 'permission');
    assert.equal(q.tool, 'Bash');
    assert.equal(q.input, 'touch asked.txt');
    assert.deepEqual(q.options, ['allow', 'deny']);
    assert.match(q.questionId, /^[0-9a-f-]{36}$/);
    assert.match(task.status.message.parts[0].text, /Allow Bash: touch asked\.txt\?/);

    const done = (await replyToTask(gw.url, task, 'allow')).body.result;
    assert.equal(done.status.state, 'completed', JSON.stringify(done.status));
    assert.equal(done.artifacts[0].parts[0].text, 'allowed');
    const stored = await getTask(gw.url, task.id);
    assert.equal(stored.status.state, 'completed');
    const states = stored.history.map((m: any) => m.metadata?.event).filter(Boolean);
    assert.ok(states.includes('input_required') && states.includes('input_received'), states.join());
  });

  test('text "deny: why" denies, and the agent hears why', async () => {
    const task = (await sendTask(gw.url, { skill: 'code', input: 'make a file' })).body.result;
    assert.equal(task.status.state, 'input-required');
    const res = await replyToTask(gw.url, task, 'deny: not on this machine');
    assert.equal(res.body.result?.status.state, 'completed', JSON.stringify(res.body));
    assert.equal(res.body.result.artifacts[0].parts[0].text, 'denied: not on this machine');
  });

  // The admission check lets a reply to an input-required task through without reading it as skill input.
  test('a data part {decision: "deny", message} denies', async () => {
    const task = (await sendTask(gw.url, { skill: 'code', input: 'make a file' })).body.result;
    try {
      assert.equal(task.status.state, 'input-required');
      const res = await replyToTask(gw.url, task, { decision: 'deny', message: 'not on this machine' });
      assert.equal(res.body.result?.status.state, 'completed', JSON.stringify(res.body));
      assert.equal(res.body.result.artifacts[0].parts[0].text, 'denied: not on this machine');
    } finally {
      await rpc(gw.url, { jsonrpc: '2.0', id: 5, method: 'tasks/cancel', params: { id: task.id } });
    }
  });

  test('an unreadable reply asks the same question again; "yes" then allows', async () => {
    const task = (await sendTask(gw.url, { skill: 'code', input: 'make a file' })).body.result;
    const q = questionOf(task);
    const again = (await replyToTask(gw.url, task, 'perhaps later')).body.result;
    assert.equal(again.status.state, 'input-required', JSON.stringify(again.status));
    assert.match(again.status.message.parts[0].text, /Could not read the reply: reply "allow" or "deny"/);
    assert.equal(questionOf(again).questionId, q.questionId);
    const done = (await replyToTask(gw.url, task, 'yes')).body.result;
    assert.equal(done.status.state, 'completed', JSON.stringify(done.status));
    assert.equal(done.artifacts[0].parts[0].text, 'allowed');
  });

  test("the agent's own question (AskUserQuestion) takes the chosen option as text", async () => {
    const task = (await sendTask(gw.url, { skill: 'code', input: 'fake:question pick one' })).body.result;
    assert.equal(task.status.state, 'input-required');
    const q = questionOf(task);
    assert.equal(q.kind, 'question');
    assert.deepEqual(q.options, ['hi', 'hello']);
    assert.equal(q.questions[0].question, 'Which greeting?');
    const done = (await replyToTask(gw.url, task, 'hello')).body.result;
    assert.equal(done.status.state, 'completed', JSON.stringify(done.status));
    assert.equal(done.artifacts[0].parts[0].text, 'answer: {"Which greeting?":"hello"}');
  });

  test('cancel while waiting for an answer ends the task canceled', async () => {
    const task = (await sendTask(gw.url, { skill: 'code', input: 'make a file' })).body.result;
    assert.equal(task.status.state, 'input-required');
    const canceled = await rpc(gw.url, {
      jsonrpc: '2.0',
      id: 4,
      method: 'tasks/cancel',
      params: { id: task.id },
    });
    assert.equal(canceled.body.result?.status.state, 'canceled', JSON.stringify(canceled.body));
    const stored = await waitFor(async () => {
      const t = await getTask(gw.url, task.id);
      return t.status.state === 'canceled' ? t : undefined;
    });
    assert.equal(stored.status.state, 'canceled');
  });

  test('a skill without permissions: ask runs unattended: bypassPermissions, the prompt in argv', async () => {
    const res = await sendTask(gw.url, { skill: 'fix_bug', input: 'the build fails' });
    // The fake only speaks the control protocol, so this run fails; what matters is how it was started.
    assert.notEqual(res.body.result?.status.state, 'input-required');
    const argv = gw.logs.lines.map((l) => /ARGV (\[.*\])/.exec(JSON.parse(l).msg ?? '')?.[1]).filter(Boolean);
    const last = JSON.parse(argv.at(-1) ?? '[]') as string[];
    assert.ok(last.includes('bypassPermissions'), last.join(' '));
    assert.ok(!last.includes('--permission-prompt-tool'), last.join(' '));
    assert.equal(last.at(-2), '--');
  });
});

describe('input-required: a question nobody answers', () => {
  let gw: TestGateway;
  before(async () => {
    receiver = await PushReceiver.start();
    gw = await startTestGateway({
      configYaml: CONFIG,
      env: { INPUT_TIMEOUT: '1', PUSH_ALLOWLIST: '127.0.0.1' },
    });
  });
  after(async () => {
    await gw.stop();
    await receiver.close();
  });
  let receiver: PushReceiver;

  test('the failure of an unanswered question reaches the push webhook too, though no request is open', async () => {
    const res = await rpc(gw.url, {
      jsonrpc: '2.0',
      id: 1,
      method: 'message/send',
      params: {
        message: {
          kind: 'message',
          role: 'user',
          messageId: `p-${Math.random()}`,
          parts: [{ kind: 'text', text: 'make a file' }],
          metadata: { skill: 'code' },
        },
        configuration: {
          blocking: true,
          pushNotificationConfig: { url: `http://127.0.0.1:${receiver.port}/hook`, token: 't-1' },
        },
      },
    });
    const task = res.body.result;
    assert.equal(task?.status.state, 'input-required', JSON.stringify(res.body));
    const states = await waitFor(
      () => {
        const seen = receiver.received
          .filter((p) => p.body.includes(task.id))
          .map((p) => /"state":"([a-z-]+)"/.exec(p.body)?.[1]);
        return seen.includes('failed') ? seen : undefined;
      },
      15_000,
      'the failed state to be pushed',
    );
    assert.ok(states.includes('input-required'), JSON.stringify(states));
    assert.equal(states.at(-1), 'failed');
  });

  test('fails the task after INPUT_TIMEOUT with the reason, and the failure is stored', async () => {
    const task = (await sendTask(gw.url, { skill: 'code', input: 'make a file' })).body.result;
    assert.equal(task.status.state, 'input-required');
    const failed = await waitFor(
      async () => {
        const t = await getTask(gw.url, task.id);
        return t.status.state === 'failed' ? t : undefined;
      },
      15_000,
      'the task to fail',
    );
    assert.match(
      failed.status.message.parts[0].text,
      /no reply to the permission request for Bash \(touch asked\.txt\) within 1 s \(INPUT_TIMEOUT\)/,
    );
    // A late reply is refused: the task has ended.
    const late = await replyToTask(gw.url, task, 'allow');
    assert.ok(late.body.error, JSON.stringify(late.body));
  });
});
