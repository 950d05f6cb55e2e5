import { TaskState, type SendMessageRequest, type StreamResponse, type Task } from '@a2a-js/sdk';
import {
  ContentTypeNotSupportedError,
  JsonRpcTransportError,
  RequestMalformedError,
  RestContentTypeNotSupportedError,
  RestUnsupportedOperationError,
  UnsupportedOperationError,
} from '@a2a-js/sdk/errors';
import type { A2ARequestHandler, ServerCallContext } from '@a2a-js/sdk/server';
import { isTerminal } from '../service/a2a.js';
import { TaskInputError, TaskMediaTypeError, type TaskPlanner } from '../service/planner.js';
import { mayUseSkill, principalOf } from './auth.js';
import { REDIS_RETRY_AFTER_SEC, WIRE, WireError } from './wire-errors.js';
import { RedisUnavailableError } from '../queue/redis-errors.js';
import {
  QueueFullError,
  SchedulerClosedError,
  type Reservation,
  type TaskQueue,
} from '../queue/task-queue.js';
import { AdmittedSend, holdAdmitted, releaseUntaken } from '../service/admission.js';
import type { RefusalReason } from '../observability/metrics.js';

/** Key in `ServerCallContext.state` that says which binding a call came in on. */
export const TRANSPORT_STATE_KEY = 'a2a-gateway.transport';

export interface AdmissionDeps {
  planner: TaskPlanner;
  scheduler: TaskQueue;
  isShuttingDown: () => boolean;
  /** Queued plus running tasks of one owner. */
  activeTasksOf: (owner: string) => number;
  /** Most queued plus running tasks one key may have; 0 for no limit. */
  maxTasksPerKey: number;
  /** The skill of a context's latest turn, inherited by a follow-up that names none. */
  contextSkill: (owner: string, contextId: string) => Promise<string | undefined>;
  /** The SSRF guard for push webhook URLs, checked when a config is registered (and again at each delivery). */
  checkWebhook: (url: string) => Promise<{ ok: true } | { ok: false; reason: string }>;
  /** The task the caller created earlier with this messageId, if any. */
  findByMessageId: (messageId: string, context: ServerCallContext) => Promise<Task | undefined>;
  /** Told why a send was refused (for the refusal counts and the access log). */
  onRefused?: (context: ServerCallContext, reason: RefusalReason) => void;
  /**
   * On a shared store: why a reply to a task in `input-required` cannot be taken here (another API node holds the
   * question), or undefined.
   */
  replyElsewhere?: (task: Task) => string | undefined;
}

/** A refusal with one of the gateway's own codes, shaped for the binding the call came in on. */
export function wireError(
  context: ServerCallContext,
  kind: keyof typeof WIRE,
  message: string,
  data: Record<string, unknown> = {},
): Error {
  const transport = context.state.get(TRANSPORT_STATE_KEY);
  if (transport === 'rest') {
    return new RestUnsupportedOperationError({ message, statusCode: WIRE[kind].http });
  }
  if (transport === 'grpc') return new WireError(kind, message, data);
  return new JsonRpcTransportError({
    jsonrpc: '2.0',
    id: null,
    error: { code: WIRE[kind].code, message, data },
  });
}

/**
 * Wraps the SDK's request handler so a send is checked before any task exists: the skill and its input are valid,
 * the workdir is allowed, the task it continues can take a message, and the queue has room. Everything else is
 * the SDK's own behaviour.
 */
export function withAdmission(inner: A2ARequestHandler, deps: AdmissionDeps): A2ARequestHandler {
  const checkPushUrl = async (url: string, field: string): Promise<void> => {
    const checked = await deps.checkWebhook(url);
    if (!checked.ok) throw new RequestMalformedError(`${field}: ${checked.reason}`);
  };

  const shuttingDown = (): Error =>
    new UnsupportedOperationError(
      'the gateway is shutting down and takes no new tasks; retry on another node',
    );

  /** Refuses a send that may not start; `why.reason` is set before a refusal that is not about bad input. */
  const check = async (
    params: SendMessageRequest,
    context: ServerCallContext,
    why: { reason?: RefusalReason },
  ): Promise<void> => {
    if (deps.isShuttingDown()) {
      why.reason = 'shutting_down';
      throw shuttingDown();
    }
    const message = params.message;
    if (!message) throw new RequestMalformedError('message: expected a message with parts');
    const inline = params.configuration?.taskPushNotificationConfig;
    if (inline?.url) await checkPushUrl(inline.url, 'configuration.taskPushNotificationConfig.url');
    let previous: Record<string, unknown> | undefined;
    if (message.taskId) {
      const task = await inner
        .getTask({ tenant: params.tenant, id: message.taskId }, context)
        .catch(() => undefined);
      if (
        task &&
        !isTerminal(task.status?.state) &&
        task.status?.state !== TaskState.TASK_STATE_INPUT_REQUIRED
      ) {
        throw new UnsupportedOperationError(
          `task ${message.taskId} is still running; wait for it to finish, or cancel it, before sending it another message`,
        );
      }
      // A reply to a question the task's run is waiting on is an answer, not a new task's input.
      if (task?.status?.state === TaskState.TASK_STATE_INPUT_REQUIRED) {
        const elsewhere = deps.replyElsewhere?.(task);
        if (elsewhere) throw new UnsupportedOperationError(elsewhere);
        return;
      }
      previous = task?.metadata;
    } else if (message.contextId) {
      const skill = await deps.contextSkill(principalOf(context.user).id, message.contextId);
      if (skill) previous = { skill };
    }
    let plan;
    try {
      plan = await deps.planner.plan(message, params.metadata, previous);
    } catch (err) {
      if (err instanceof TaskMediaTypeError) {
        // ContentTypeNotSupported: -32005 on JSON-RPC, 415 on HTTP+JSON (the SDK's table says 400).
        throw context.state.get(TRANSPORT_STATE_KEY) === 'rest'
          ? new RestContentTypeNotSupportedError({ message: err.message, statusCode: 415 })
          : new ContentTypeNotSupportedError(err.message);
      }
      if (err instanceof TaskInputError) throw new RequestMalformedError(err.message);
      throw err;
    }
    const skill = plan.skill.id;
    const principal = principalOf(context.user);
    if (!mayUseSkill(principal, skill)) {
      why.reason = 'forbidden';
      throw wireError(context, 'forbidden', `key "${principal.id}" may not use skill ${skill}`, {
        reason: 'SKILL_NOT_ALLOWED',
      });
    }
    const retry = deps.scheduler.retryAfterSec();
    // Without keys every caller is one anonymous principal: only the global queue limit applies then.
    const keyed = principal.kind !== 'anonymous';
    if (keyed && deps.maxTasksPerKey > 0 && deps.activeTasksOf(principal.id) >= deps.maxTasksPerKey) {
      why.reason = 'too_many_tasks';
      throw wireError(
        context,
        'busy',
        `key "${principal.id}" already has ${deps.maxTasksPerKey} tasks queued or running (MAX_TASKS_PER_KEY); retry in ${retry} s`,
        { reason: 'TOO_MANY_TASKS', retryAfterSeconds: retry },
      );
    }
    // The one place that decides "full": the place is held until the executor queues the task.
    let reservation: Reservation;
    try {
      reservation = deps.scheduler.reserve();
    } catch (err) {
      if (err instanceof SchedulerClosedError) {
        why.reason = 'shutting_down';
        throw shuttingDown();
      }
      if (err instanceof RedisUnavailableError) {
        why.reason = 'redis_unavailable';
        throw wireError(context, 'unavailable', err.message, {
          reason: 'REDIS_UNAVAILABLE',
          retryAfterSeconds: REDIS_RETRY_AFTER_SEC,
        });
      }
      if (!(err instanceof QueueFullError)) throw err;
      why.reason = 'queue_full';
      throw wireError(context, 'busy', err.message, {
        reason: 'QUEUE_FULL',
        retryAfterSeconds: err.retryAfterSec,
      });
    }
    holdAdmitted(context, new AdmittedSend(plan, reservation));
  };

  const admit = async (params: SendMessageRequest, context: ServerCallContext): Promise<void> => {
    const why: { reason?: RefusalReason } = {};
    try {
      await check(params, context, why);
    } catch (err) {
      deps.onRefused?.(context, why.reason ?? 'validation');
      throw err;
    }
  };

  // A send retried with the same messageId by the same principal gets the task the first one created. Sends with
  // one key wait in line, so concurrent retries see the first one's task rather than each making their own.
  const inLine = new Map<string, Promise<void>>();
  const retryKey = (params: SendMessageRequest, context: ServerCallContext): string | undefined => {
    const message = params.message;
    if (!message?.messageId || message.taskId) return undefined;
    return `${context.tenant ?? ''}\u0000${principalOf(context.user).id}\u0000${message.messageId}`;
  };
  /** Waits for earlier sends with the same key; `done` lets the next one go (call it once the task exists). */
  const queueUp = async (key: string): Promise<{ done: () => void }> => {
    const earlier = inLine.get(key);
    let done!: () => void;
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    const tail = (earlier ?? Promise.resolve()).then(() => mine);
    inLine.set(key, tail);
    await earlier;
    return {
      done: () => {
        done();
        if (inLine.get(key) === tail) inLine.delete(key);
      },
    };
  };
  const earlierTask = async (
    params: SendMessageRequest,
    context: ServerCallContext,
  ): Promise<Task | undefined> => {
    const found = await deps.findByMessageId(params.message?.messageId ?? '', context);
    return found ? inner.getTask({ tenant: params.tenant, id: found.id }, context) : undefined;
  };

  return {
    getAgentCard: () => inner.getAgentCard(),
    getAuthenticatedExtendedAgentCard: (p, c) => inner.getAuthenticatedExtendedAgentCard(p, c),
    sendMessage: async (params, context) => {
      const key = retryKey(params, context);
      const line = key ? await queueUp(key) : undefined;
      try {
        const earlier = line ? await earlierTask(params, context) : undefined;
        if (earlier) return earlier;
        await admit(params, context);
        return await inner.sendMessage(params, context);
      } finally {
        releaseUntaken(context);
        line?.done();
      }
    },
    sendMessageStream: async function* (params, context) {
      const key = retryKey(params, context);
      const line = key ? await queueUp(key) : undefined;
      try {
        const earlier = line ? await earlierTask(params, context) : undefined;
        if (earlier) {
          line?.done();
          yield* followTask(inner, earlier, context);
          return;
        }
        await admit(params, context);
        for await (const response of inner.sendMessageStream(params, context)) {
          // The task exists once its first event is out: a retry waiting in line can find it now.
          line?.done();
          yield response;
        }
      } finally {
        releaseUntaken(context);
        line?.done();
      }
    },
    getTask: (p, c) => inner.getTask(p, c),
    cancelTask: (p, c) => inner.cancelTask(p, c),
    createTaskPushNotificationConfig: async (p, c) => {
      await checkPushUrl(p.url, 'url');
      return inner.createTaskPushNotificationConfig(p, c);
    },
    // A 0.3 get without a config id asks for the task's default config, which is stored under the task id.
    getTaskPushNotificationConfig: (p, c) =>
      inner.getTaskPushNotificationConfig({ ...p, id: p.id || p.taskId }, c),
    listTaskPushNotificationConfigs: (p, c) => inner.listTaskPushNotificationConfigs(p, c),
    deleteTaskPushNotificationConfig: (p, c) => inner.deleteTaskPushNotificationConfig(p, c),
    resubscribe: (p, c) => inner.resubscribe(p, c),
    listTasks: (p, c) => inner.listTasks(p, c),
  };
}

/** A retried stream: the task as it is, then (while it runs) what happens next. */
async function* followTask(
  inner: A2ARequestHandler,
  task: Task,
  context: ServerCallContext,
): AsyncGenerator<StreamResponse, void, undefined> {
  if (isTerminal(task.status?.state)) {
    yield { payload: { $case: 'task', value: task } };
    return;
  }
  yield* inner.resubscribe({ tenant: '', id: task.id }, context);
}
