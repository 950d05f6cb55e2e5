import type { Redis } from 'ioredis';
import { RunAbort, type InputAnswer, type InputQuestion } from '../agents/types.js';
import { blockingConnection } from '../stores/redis-connection.js';

/**
 * Questions of runs on worker nodes (scale-out): the worker sends the question to the API node that took the task
 * (as a run event through the queue), and waits for the answer on a Redis list of its own (`BLPOP`, a blocking
 * read, no polling); the API node asks the caller as a single node does (`input-required`) and pushes the answer,
 * or the reason there is none, onto that list.
 */

/** What a worker emits, beside its run events, when its run asks. */
export interface RelayedQuestion {
  type: 'question';
  id: string;
  question: InputQuestion;
}

/** What comes back: the answer, or why the question was given up (a timeout, a cancel, a shutdown). */
type Reply = { answer: InputAnswer } | { error: { kind: RunAbort['kind'] | 'failed'; message: string } };

/** How long one blocking read waits before the worker checks its signal and deadline again. */
const BLOCK_SEC = 5;

export function isRelayedQuestion(data: unknown): data is RelayedQuestion {
  if (typeof data !== 'object' || data === null) return false;
  const d = data as Partial<RelayedQuestion>;
  return d.type === 'question' && typeof d.id === 'string' && typeof d.question?.text === 'string';
}

export class QuestionRelay {
  constructor(
    private readonly deps: { redis: Redis },
    private readonly opts: { prefix: string },
  ) {}

  private key(taskId: string, questionId: string): string {
    return `${this.opts.prefix}answers:${taskId}:${questionId}`;
  }

  /** The API node's side: the answer (or the reason there is none) for the worker waiting on it. */
  async reply(taskId: string, questionId: string, outcome: InputAnswer | Error): Promise<void> {
    const reply: Reply =
      outcome instanceof Error
        ? {
            error: {
              kind: outcome instanceof RunAbort ? outcome.kind : 'failed',
              message: outcome.message,
            },
          }
        : { answer: outcome };
    const key = this.key(taskId, questionId);
    await this.deps.redis.multi().rpush(key, JSON.stringify(reply)).pexpire(key, 3_600_000).exec();
  }

  /**
   * The worker's side: waits for the answer to one question, at most `maxWaitMs`, or until `signal` aborts (the
   * task canceled or timed out), on a connection of its own (a blocking read).
   */
  async wait(
    taskId: string,
    questionId: string,
    maxWaitMs: number,
    signal?: AbortSignal,
  ): Promise<InputAnswer> {
    const reader = blockingConnection(this.deps.redis);
    reader.on('error', () => undefined);
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = (): void => {
        reader.disconnect();
        reject(signal?.reason instanceof Error ? signal.reason : new RunAbort('canceled', 'canceled'));
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    const deadline = Date.now() + maxWaitMs;
    const key = this.key(taskId, questionId);
    try {
      while (Date.now() < deadline) {
        const popped = await Promise.race([reader.blpop(key, BLOCK_SEC), aborted]);
        if (!popped) continue;
        const reply = JSON.parse(popped[1]) as Reply;
        if ('answer' in reply) return reply.answer;
        if (reply.error.kind === 'failed') throw new Error(reply.error.message);
        throw new RunAbort(reply.error.kind, reply.error.message);
      }
      throw new RunAbort('timeout', `no answer to the question within ${Math.round(maxWaitMs / 1000)} s`);
    } finally {
      reader.disconnect();
    }
  }
}

/** The question event a worker emits for `question`. */
export function relayedQuestion(id: string, question: InputQuestion): RelayedQuestion {
  return { type: 'question', id, question };
}
