/**
 * Questions a running task is waiting on: at most one per task, answered by the caller's reply message or given up
 * after a timeout. The A2A side (the `input-required` status, the reply arriving as another `execute`) is the
 * executor's; this module only pairs questions with answers.
 */
import { randomUUID } from 'node:crypto';
import type { Message } from '@a2a-js/sdk';
import { RunAbort, type InputAnswer, type InputQuestion } from '../agents/types.js';

/** A question waiting for its answer. */
export interface PendingQuestion {
  /** Names this question in the `input-required` data part; a reply may quote it. */
  id: string;
  taskId: string;
  question: InputQuestion;
  askedAt: Date;
  /** When it is given up. */
  expiresAt: Date;
}

export interface QuestionBoardOptions {
  /** How long a question waits for a reply. */
  timeoutMs: number;
}

interface Entry {
  pending: PendingQuestion;
  resolve: (answer: InputAnswer) => void;
}

/** Pending questions per task. */
export class QuestionBoard {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly opts: QuestionBoardOptions) {}

  get timeoutMs(): number {
    return this.opts.timeoutMs;
  }

  /**
   * Registers the question, calls `onAsked` (which tells the caller), and waits for {@link answer}. Rejects with a
   * {@link RunAbort} of kind `timeout` when no answer comes in time, or with the signal's reason (a `RunAbort` when
   * the task was canceled or stopped) when `signal` aborts first. A task asks one question at a time.
   */
  ask(
    taskId: string,
    question: InputQuestion,
    opts: { signal?: AbortSignal; onAsked?: (pending: PendingQuestion) => void } = {},
  ): Promise<InputAnswer> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.entries.has(taskId)) {
      return Promise.reject(new Error(`task ${taskId} is already waiting for an answer`));
    }
    const now = Date.now();
    const pending: PendingQuestion = {
      id: randomUUID(),
      taskId,
      question,
      askedAt: new Date(now),
      expiresAt: new Date(now + this.opts.timeoutMs),
    };
    return new Promise<InputAnswer>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.entries.get(taskId)?.pending === pending) this.entries.delete(taskId);
      };
      const timer = setTimeout(() => {
        settle();
        reject(new RunAbort('timeout', unansweredReason(question, this.opts.timeoutMs)));
      }, this.opts.timeoutMs);
      const onAbort = (): void => {
        settle();
        reject(abortReason(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.entries.set(taskId, {
        pending,
        resolve: (answer) => {
          settle();
          resolve(answer);
        },
      });
      opts.onAsked?.(pending);
    });
  }

  /** The question a task is waiting on, if any. */
  pending(taskId: string): PendingQuestion | undefined {
    return this.entries.get(taskId)?.pending;
  }

  /** Hands the answer to the waiting run. False when the task waits on nothing (answered, timed out, ended). */
  answer(taskId: string, answer: InputAnswer): boolean {
    const entry = this.entries.get(taskId);
    if (!entry) return false;
    entry.resolve(answer);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new RunAbort('canceled', 'canceled while waiting for an answer');
}

/** The failure reason of a question nobody answered. */
export function unansweredReason(question: InputQuestion, timeoutMs: number): string {
  const what =
    question.kind === 'permission'
      ? `the permission request for ${question.tool ?? 'a tool'}${question.input ? ` (${question.input})` : ''}`
      : `the agent's question "${question.text}"`;
  return `no reply to ${what} within ${Math.round(timeoutMs / 1000)} s (INPUT_TIMEOUT)`;
}

const ALLOW_WORDS = new Set(['allow', 'yes', 'y', 'approve', 'approved', 'ok', 'okay', 'go', 'go ahead']);
const DENY_WORDS = new Set(['deny', 'no', 'n', 'reject', 'refuse', 'denied', 'stop']);

/** What a reply message says, or why it could not be read. */
export type ParsedReply = { ok: true; answer: InputAnswer } | { ok: false; error: string };

/**
 * Reads the caller's reply to a question. A data part `{decision: "allow"|"deny", message?, answers?}` (or
 * `{answer: "..."}` for a question), or plain text: `allow`/`yes`/`deny`/`no` for a permission (a deny may say why
 * after the word: "deny: not on main"), and for a question the chosen option or any words (a question's `deny`
 * declines to answer).
 */
export function parseReply(message: Message, question: InputQuestion): ParsedReply {
  for (const part of message.parts) {
    if (part.content?.$case !== 'data') continue;
    const data = part.content.value as unknown;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) continue;
    const parsed = fromData(data as Record<string, unknown>, question);
    if (parsed) return parsed;
  }
  const text = message.parts
    .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
    .join('\n')
    .trim();
  if (text === '') return { ok: false, error: expected(question) };
  return fromText(text, question);
}

function fromData(data: Record<string, unknown>, question: InputQuestion): ParsedReply | undefined {
  const message = typeof data.message === 'string' && data.message.trim() ? data.message.trim() : undefined;
  const answers = stringRecord(data.answers);
  const single = typeof data.answer === 'string' ? data.answer.trim() : undefined;
  const decision = typeof data.decision === 'string' ? data.decision.trim().toLowerCase() : undefined;
  if (decision !== undefined && decision !== 'allow' && decision !== 'deny') {
    return { ok: false, error: `decision: expected "allow" or "deny", got ${JSON.stringify(data.decision)}` };
  }
  if (decision === 'deny') return { ok: true, answer: { decision: 'deny', ...(message ? { message } : {}) } };
  if (question.kind === 'question') {
    const given = answers ?? (single ? answerAll(question, single) : undefined);
    if (given) return { ok: true, answer: { decision: 'allow', answers: given } };
    return decision === 'allow' ? { ok: false, error: expected(question) } : undefined;
  }
  if (decision === 'allow') return { ok: true, answer: { decision: 'allow' } };
  return undefined;
}

function fromText(text: string, question: InputQuestion): ParsedReply {
  const [first = ''] = text.split(/[\s:,.!]+/);
  const word = first.toLowerCase();
  const why = text
    .slice(first.length)
    .replace(/^[\s:,.!-]+/, '')
    .trim();
  if (question.kind === 'permission') {
    if (ALLOW_WORDS.has(word) || ALLOW_WORDS.has(text.toLowerCase())) {
      return { ok: true, answer: { decision: 'allow' } };
    }
    if (DENY_WORDS.has(word)) {
      return { ok: true, answer: { decision: 'deny', ...(why ? { message: why } : {}) } };
    }
    return { ok: false, error: expected(question) };
  }
  if (word === 'deny' && why === '') return { ok: true, answer: { decision: 'deny' } };
  return { ok: true, answer: { decision: 'allow', answers: answerAll(question, text) } };
}

/** One answer for every part of a question (usually there is one part). */
function answerAll(question: InputQuestion, text: string): Record<string, string> {
  const parts = question.questions?.length ? question.questions.map((q) => q.question) : [question.text];
  return Object.fromEntries(parts.map((q) => [q, text]));
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const entries = Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string');
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** What a reply should look like, for a caller who sent something else. */
export function expected(question: InputQuestion): string {
  return question.kind === 'permission'
    ? 'reply "allow" or "deny" (text, or a data part {"decision": "allow" | "deny", "message": "why"})'
    : `reply with your answer${question.options.length > 0 ? ` (${question.options.join(', ')})` : ''} as text, or a data part {"answers": {"<question>": "<answer>"}}; "deny" declines`;
}
