/**
 * The A2A side of questions: a backend's question becomes an `input-required` status, and the caller's reply (a
 * message naming the task, which the SDK hands to `execute` again, on the same event bus) resumes the waiting run.
 *
 * How the SDK's DefaultRequestHandler behaves, and what follows from it:
 * - Its event queue stops at `input-required`: the request that started the task returns (or its stream ends)
 *   while the run goes on waiting. The bus stays registered (input-required is in `keepBusAliveStates`).
 * - A reply makes it call `execute` again with `ctx.task` set, on that same bus, with a fresh queue that persists
 *   what is published. So the second `execute` hands over the answer and then waits until the run stops again
 *   (the next question or the end): returning earlier would finish the bus under the running task.
 * - When a question is given up (no reply in time, deadline, shutdown) no request is listening: the task's last
 *   events are persisted here with the SDK's own ResultManager. A cancel is drained by the SDK's cancel itself.
 */
import { TaskState, type Message, type Task } from '@a2a-js/sdk';
import {
  AgentEvent,
  ExecutionEventQueue,
  ResultManager,
  type AgentExecutionEvent,
  type ExecutionEventBus,
  type RequestContext,
  type ServerCallContext,
} from '@a2a-js/sdk/server';
import type { InputAnswer, InputQuestion } from '../agents/types.js';
import { RunAbort } from '../agents/types.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayTaskStore } from '../stores/types.js';
import { agentMessage, dataPart, isTerminal, statusUpdate, textPart } from './a2a.js';
import { expected, parseReply, type PendingQuestion, type QuestionBoard } from './questions.js';

type Ask = (question: InputQuestion, signal?: AbortSignal) => Promise<InputAnswer>;

export interface InputRequestsDeps {
  board: QuestionBoard;
  store: GatewayTaskStore;
  logger: Logger;
  /** Whether a skill may ask (the config's `skills.<id>.permissions: ask`). */
  mayAsk: (skill: string) => boolean;
  /** Masks known secrets in what the caller is shown. */
  redact?: (text: string) => string;
  /** Longest a reply waits for the run to stop again (its deadline, plus the kill grace). */
  maxWaitMs: number;
  /**
   * Push notifications for events nobody's request is there to send (the SDK sends them only for a request it is
   * serving): the end of a task whose question went unanswered reaches the caller's webhook too.
   */
  notify?: (event: AgentExecutionEvent, call: ServerCallContext, task: Task | undefined) => Promise<void>;
}

/** Questions as A2A `input-required` states, and replies that resume them. */
export class InputRequests {
  /** The call that started each execution (by its bus), whose scope persists events nobody else is listening to. */
  private readonly calls = new WeakMap<ExecutionEventBus, ServerCallContext>();
  /** Replies that answered a question (task and message id): sent again, they answer nothing. */
  private readonly usedReplies = new BoundedSet(10_000);

  constructor(private readonly deps: InputRequestsDeps) {}

  /**
   * Called first in `execute`. A reply to a task this gateway is asking a question for: hands the answer to the
   * run, waits until it stops again (asks again or ends), and returns true; the caller then returns at once.
   * Anything else: remembers the call and returns false.
   */
  async takeReply(ctx: RequestContext, bus: ExecutionEventBus): Promise<boolean> {
    const { taskId } = ctx;
    const waiting = ctx.task?.status?.state === TaskState.TASK_STATE_INPUT_REQUIRED;
    const pending = this.deps.board.pending(taskId);
    if (!waiting && !pending) {
      this.calls.set(bus, ctx.context);
      return false;
    }
    // Every execution opens with the task (the SDK refuses a stream that starts with a status update), so a
    // streamed reply works as well as a blocking one. It shows the task working on the reply: the question
    // again would end resubscribers' streams, which stop at input-required.
    if (ctx.task) {
      bus.publish(
        AgentEvent.task({
          ...ctx.task,
          status: {
            state: TaskState.TASK_STATE_WORKING,
            message: undefined,
            timestamp: new Date().toISOString(),
          },
        }),
      );
    }
    if (!pending) {
      // Answered or given up a moment ago: the run is on its way to its next stop; report that.
      await this.untilStop(bus, taskId);
      return true;
    }
    const binding = bindReply(ctx.userMessage, pending, this.usedReplies);
    if (binding) {
      this.publishQuestion(bus, ctx.contextId, pending, binding);
      return true;
    }
    const reply = parseReply(ctx.userMessage, pending.question);
    if (!reply.ok) {
      this.publishQuestion(bus, ctx.contextId, pending, `Could not read the reply: ${reply.error}.`);
      return true;
    }
    const stopped = this.untilStop(bus, taskId);
    this.usedReplies.add(replyKey(taskId, ctx.userMessage.messageId));
    if (!this.deps.board.answer(taskId, reply.answer)) {
      this.deps.logger.debug({ taskId }, 'a reply came after the question was settled');
    }
    await stopped;
    return true;
  }

  /** The `ask` for a run of this skill, or undefined when the skill runs unattended. */
  askFor(bus: ExecutionEventBus, taskId: string, contextId: string, skill: string): Ask | undefined {
    if (!this.deps.mayAsk(skill)) return undefined;
    const logger = this.deps.logger.child({ taskId, contextId, skill });
    return async (question, signal) => {
      try {
        const answer = await this.deps.board.ask(taskId, question, {
          ...(signal ? { signal } : {}),
          onAsked: (pending) => {
            logger.info(
              { kind: question.kind, tool: question.tool, questionId: pending.id },
              'input required',
            );
            this.publishQuestion(bus, contextId, pending);
          },
        });
        logger.info({ decision: answer.decision }, 'input received');
        bus.publish(
          AgentEvent.statusUpdate(
            statusUpdate(
              taskId,
              contextId,
              TaskState.TASK_STATE_WORKING,
              agentMessage(taskId, contextId, [textPart(describeAnswer(question, answer))], {
                event: 'input_received',
                decision: answer.decision,
              }),
            ),
          ),
        );
        return answer;
      } catch (err) {
        // A cancel is drained by the SDK's cancel; any other ending has nobody listening: persist it here.
        if (!(err instanceof RunAbort && err.kind === 'canceled')) this.persistUntilStop(bus, taskId);
        throw err;
      }
    };
  }

  private publishQuestion(
    bus: ExecutionEventBus,
    contextId: string,
    pending: PendingQuestion,
    note?: string,
  ): void {
    const redact = this.deps.redact ?? ((t: string) => t);
    const q = pending.question;
    const text = [note, redact(q.text), expected(q)].filter(Boolean).join('\n');
    const data: Record<string, unknown> = {
      kind: q.kind,
      questionId: pending.id,
      question: redact(q.text),
      options: q.options,
      ...(q.tool ? { tool: q.tool } : {}),
      ...(q.input ? { input: redact(q.input) } : {}),
      ...(q.details ? { toolInput: JSON.parse(redact(JSON.stringify(q.details))) as unknown } : {}),
      ...(q.questions ? { questions: JSON.parse(redact(JSON.stringify(q.questions))) as unknown } : {}),
      expiresAt: pending.expiresAt.toISOString(),
    };
    bus.publish(
      AgentEvent.statusUpdate(
        statusUpdate(
          pending.taskId,
          contextId,
          TaskState.TASK_STATE_INPUT_REQUIRED,
          agentMessage(pending.taskId, contextId, [textPart(text), dataPart(data)], {
            event: 'input_required',
          }),
        ),
      ),
    );
  }

  /** Resolves at the task's next stop on the bus: a question, a terminal state, or the bus finishing. Bounded. */
  private untilStop(bus: ExecutionEventBus, taskId: string): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        bus.off('event', onEvent);
        bus.off('finished', done);
        resolve();
      };
      const onEvent = (event: AgentExecutionEvent): void => {
        if (isStop(event, taskId)) done();
      };
      const timer = setTimeout(done, this.deps.maxWaitMs);
      bus.on('event', onEvent);
      bus.on('finished', done);
    });
  }

  /** Saves what the run publishes until it stops, as the SDK would have had a request been listening. */
  private persistUntilStop(bus: ExecutionEventBus, taskId: string): void {
    const call = this.calls.get(bus);
    if (!call) return;
    const queue = new ExecutionEventQueue(bus);
    const results = new ResultManager(this.deps.store, call);
    void (async () => {
      for await (const event of queue.events()) {
        await results.processEvent(event);
        await this.deps
          .notify?.(event, call, results.getCurrentTask())
          .catch((err: unknown) =>
            this.deps.logger.warn({ err, taskId }, 'push notification for an unattended event failed'),
          );
      }
    })().catch((err: unknown) =>
      this.deps.logger.error({ err, taskId }, 'could not save the end of a task nobody was waiting on'),
    );
  }
}

/** Remembers the most recent `max` keys. */
class BoundedSet {
  private readonly keys = new Set<string>();
  constructor(private readonly max: number) {}
  add(key: string): void {
    this.keys.delete(key);
    this.keys.add(key);
    if (this.keys.size > this.max) this.keys.delete(this.keys.values().next().value as string);
  }
  has(key: string): boolean {
    return this.keys.has(key);
  }
}

function replyKey(taskId: string, messageId: string): string {
  return `${taskId}\u0000${messageId}`;
}

/**
 * Why a reply cannot answer the question waiting now, or undefined when it may: a reply is bound to the question
 * it names (`questionId` in its data part or its metadata), and a message that already answered a question never
 * answers another, so a stale or repeated reply cannot approve a request the caller never saw.
 */
function bindReply(message: Message, pending: PendingQuestion, used: BoundedSet): string | undefined {
  if (message.messageId && used.has(replyKey(pending.taskId, message.messageId))) {
    return `Message ${message.messageId} already answered an earlier question; reply to this one with a new message.`;
  }
  const named = quotedQuestionId(message);
  if (named !== undefined && named !== pending.id) {
    return `That reply names question ${named}, which is not the one waiting now (${pending.id}).`;
  }
  return undefined;
}

/** The questionId a reply names, in a data part or the message metadata. */
function quotedQuestionId(message: Message): string | undefined {
  for (const part of message.parts) {
    if (part.content?.$case !== 'data') continue;
    const data = part.content.value as unknown;
    if (typeof data === 'object' && data !== null && 'questionId' in data) {
      const id = data.questionId;
      if (typeof id === 'string') return id;
    }
  }
  const meta = message.metadata;
  return typeof meta?.questionId === 'string' ? meta.questionId : undefined;
}

function isStop(event: AgentExecutionEvent, taskId: string): boolean {
  if (event.kind !== 'statusUpdate' || event.data.taskId !== taskId) return false;
  const state = event.data.status?.state;
  return state === TaskState.TASK_STATE_INPUT_REQUIRED || isTerminal(state);
}

function describeAnswer(question: InputQuestion, answer: InputAnswer): string {
  if (question.kind === 'permission') {
    return answer.decision === 'allow'
      ? `allowed: ${question.tool ?? 'the tool'}`
      : `denied: ${question.tool ?? 'the tool'}${answer.message ? ` (${answer.message})` : ''}`;
  }
  return answer.decision === 'allow' ? 'answered the question' : 'declined to answer';
}
