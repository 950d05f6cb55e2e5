import { TaskState, type SendMessageRequest } from '@a2a-js/sdk';
import {
  JsonRpcTransportError,
  RequestMalformedError,
  RestUnsupportedOperationError,
  UnsupportedOperationError,
} from '@a2a-js/sdk/errors';
import type { A2ARequestHandler, ServerCallContext } from '@a2a-js/sdk/server';
import { isTerminal } from '../service/a2a.js';
import { TaskInputError, type TaskPlanner } from '../service/planner.js';
import type { Scheduler } from '../service/scheduler.js';

/** Key in `ServerCallContext.state` that says which binding a call came in on. */
export const TRANSPORT_STATE_KEY = 'a2a-gateway.transport';

/** JSON-RPC code for "busy, retry later": in the range JSON-RPC leaves to servers, outside A2A's reserved codes. */
export const QUEUE_FULL_JSONRPC_CODE = -32000;

export interface AdmissionDeps {
  planner: TaskPlanner;
  scheduler: Scheduler;
  isShuttingDown: () => boolean;
}

/** A queue-full refusal shaped for the binding the call came in on (JSON-RPC code or HTTP 429). */
function queueFullError(context: ServerCallContext, retryAfterSec: number, message: string): Error {
  if (context.state.get(TRANSPORT_STATE_KEY) === 'rest') {
    const err = new RestUnsupportedOperationError({ message, statusCode: 429 });
    return err;
  }
  return new JsonRpcTransportError({
    jsonrpc: '2.0',
    id: null,
    error: {
      code: QUEUE_FULL_JSONRPC_CODE,
      message,
      data: { reason: 'QUEUE_FULL', retryAfterSeconds: retryAfterSec },
    },
  });
}

/**
 * Wraps the SDK's request handler so a send is checked before any task exists: the skill and its input are valid,
 * the workdir is allowed, the task it continues can take a message, and the queue has room. Everything else is
 * the SDK's own behaviour.
 */
export function withAdmission(inner: A2ARequestHandler, deps: AdmissionDeps): A2ARequestHandler {
  const admit = async (params: SendMessageRequest, context: ServerCallContext): Promise<void> => {
    if (deps.isShuttingDown()) {
      throw new UnsupportedOperationError(
        'the gateway is shutting down and takes no new tasks; retry on another node',
      );
    }
    const message = params.message;
    if (!message) throw new RequestMalformedError('message: expected a message with parts');
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
      previous = task?.metadata;
    }
    try {
      await deps.planner.plan(message, params.metadata, previous);
    } catch (err) {
      if (err instanceof TaskInputError) throw new RequestMalformedError(err.message);
      throw err;
    }
    if (deps.scheduler.isFull()) {
      const retry = deps.scheduler.retryAfterSec();
      const stats = deps.scheduler.stats();
      throw queueFullError(
        context,
        retry,
        `the task queue is full (${stats.running} running, ${stats.queued} waiting); retry in ${retry} s`,
      );
    }
  };

  return {
    getAgentCard: () => inner.getAgentCard(),
    getAuthenticatedExtendedAgentCard: (p, c) => inner.getAuthenticatedExtendedAgentCard(p, c),
    sendMessage: async (params, context) => {
      await admit(params, context);
      return inner.sendMessage(params, context);
    },
    sendMessageStream: async function* (params, context) {
      await admit(params, context);
      yield* inner.sendMessageStream(params, context);
    },
    getTask: (p, c) => inner.getTask(p, c),
    cancelTask: (p, c) => inner.cancelTask(p, c),
    createTaskPushNotificationConfig: (p, c) => inner.createTaskPushNotificationConfig(p, c),
    getTaskPushNotificationConfig: (p, c) => inner.getTaskPushNotificationConfig(p, c),
    listTaskPushNotificationConfigs: (p, c) => inner.listTaskPushNotificationConfigs(p, c),
    deleteTaskPushNotificationConfig: (p, c) => inner.deleteTaskPushNotificationConfig(p, c),
    resubscribe: (p, c) => inner.resubscribe(p, c),
    listTasks: (p, c) => inner.listTasks(p, c),
  };
}
