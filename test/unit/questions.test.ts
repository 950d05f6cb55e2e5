// Pending questions (one per task, answered or given up after a timeout) and reading the caller's reply.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message, Part } from '@a2a-js/sdk';
import { RunAbort, type InputQuestion } from '../../src/agents/types.js';
import { dataPart, textPart } from '../../src/service/a2a.js';
import { QuestionBoard, parseReply } from '../../src/service/questions.js';

const PERMISSION: InputQuestion = {
  kind: 'permission',
  text: 'Allow Bash: touch x?',
  tool: 'Bash',
  input: 'touch x',
  options: ['allow', 'deny'],
};
const QUESTION: InputQuestion = {
  kind: 'question',
  text: 'Which greeting?',
  tool: 'AskUserQuestion',
  options: ['hi', 'hello'],
  questions: [{ question: 'Which greeting?', options: ['hi', 'hello'], multiSelect: false }],
};

function message(...parts: Part[]): Message {
  return {
    messageId: 'm1',
    contextId: 'c1',
    taskId: 't1',
    role: 1,
    parts,
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

describe('QuestionBoard', () => {
  it('tells the caller, then hands over the answer; the task waits on nothing afterwards', async () => {
    const board = new QuestionBoard({ timeoutMs: 60_000 });
    let askedId: string | undefined;
    const answer = board.ask('t1', PERMISSION, { onAsked: (p) => (askedId = p.id) });
    const pending = board.pending('t1');
    assert.equal(pending?.id, askedId);
    assert.equal(pending?.question, PERMISSION);
    assert.ok(pending && pending.expiresAt.getTime() - pending.askedAt.getTime() === 60_000);
    assert.equal(board.answer('t1', { decision: 'allow' }), true);
    assert.deepEqual(await answer, { decision: 'allow' });
    assert.equal(board.pending('t1'), undefined);
    assert.equal(board.answer('t1', { decision: 'deny' }), false, 'a second answer finds nothing');
    assert.equal(board.size, 0);
  });

  it('gives up after the timeout with a RunAbort naming the question', async () => {
    const board = new QuestionBoard({ timeoutMs: 30 });
    const started = Date.now();
    await assert.rejects(board.ask('t1', PERMISSION), (err: unknown) => {
      assert.ok(err instanceof RunAbort);
      assert.equal(err.kind, 'timeout');
      assert.equal(
        err.message,
        'no reply to the permission request for Bash (touch x) within 0 s (INPUT_TIMEOUT)',
      );
      return true;
    });
    assert.ok(Date.now() - started < 2000);
    assert.equal(board.pending('t1'), undefined);
    assert.equal(board.answer('t1', { decision: 'allow' }), false);
  });

  it("stops waiting with the signal's reason (a cancel), and refuses a second question at once", async () => {
    const board = new QuestionBoard({ timeoutMs: 60_000 });
    const controller = new AbortController();
    const first = board.ask('t1', PERMISSION, { signal: controller.signal });
    await assert.rejects(board.ask('t1', QUESTION), /already waiting/);
    controller.abort(new RunAbort('canceled', 'canceled by request'));
    await assert.rejects(first, (err: unknown) => err instanceof RunAbort && err.kind === 'canceled');
    assert.equal(board.size, 0);
    await assert.rejects(board.ask('t2', PERMISSION, { signal: controller.signal }), RunAbort);
  });
});

describe('parseReply', () => {
  it('permission: allow/yes/ok and deny/no as text; a deny may say why', () => {
    for (const text of ['allow', 'Yes', 'ok', 'yes, go ahead', 'approve.']) {
      assert.deepEqual(parseReply(message(textPart(text)), PERMISSION), {
        ok: true,
        answer: { decision: 'allow' },
      });
    }
    assert.deepEqual(parseReply(message(textPart('deny')), PERMISSION), {
      ok: true,
      answer: { decision: 'deny' },
    });
    assert.deepEqual(parseReply(message(textPart('No: not on main')), PERMISSION), {
      ok: true,
      answer: { decision: 'deny', message: 'not on main' },
    });
  });

  it('permission: a data part {decision, message}; anything else is explained', () => {
    assert.deepEqual(parseReply(message(dataPart({ decision: 'allow' })), PERMISSION), {
      ok: true,
      answer: { decision: 'allow' },
    });
    assert.deepEqual(parseReply(message(dataPart({ decision: 'DENY', message: ' why ' })), PERMISSION), {
      ok: true,
      answer: { decision: 'deny', message: 'why' },
    });
    const bad = parseReply(message(dataPart({ decision: 'maybe' })), PERMISSION);
    assert.deepEqual(bad, { ok: false, error: 'decision: expected "allow" or "deny", got "maybe"' });
    const unclear = parseReply(message(textPart('perhaps')), PERMISSION);
    assert.equal(unclear.ok, false);
    assert.match(!unclear.ok ? unclear.error : '', /reply "allow" or "deny"/);
    assert.equal(parseReply(message(), PERMISSION).ok, false);
  });

  it('question: text is the answer to every part; data answers by question; deny declines', () => {
    assert.deepEqual(parseReply(message(textPart('hello')), QUESTION), {
      ok: true,
      answer: { decision: 'allow', answers: { 'Which greeting?': 'hello' } },
    });
    assert.deepEqual(parseReply(message(dataPart({ answers: { 'Which greeting?': 'hi' } })), QUESTION), {
      ok: true,
      answer: { decision: 'allow', answers: { 'Which greeting?': 'hi' } },
    });
    assert.deepEqual(parseReply(message(dataPart({ answer: 'hi' })), QUESTION), {
      ok: true,
      answer: { decision: 'allow', answers: { 'Which greeting?': 'hi' } },
    });
    assert.deepEqual(parseReply(message(textPart('deny')), QUESTION), {
      ok: true,
      answer: { decision: 'deny' },
    });
    assert.equal(parseReply(message(dataPart({ decision: 'allow' })), QUESTION).ok, false);
  });
});
