import type { Message, StreamResponse, Task } from '@a2a-js/sdk';
import type { A2ARequestHandler, ServerCallContext } from '@a2a-js/sdk/server';
import type { AccessLog } from './access-log.js';

function taskIdOfResult(result: Message | Task): string | undefined {
  return 'status' in result ? result.id : result.taskId || undefined;
}

function taskIdOfEvent(event: StreamResponse): string | undefined {
  const payload = event.payload;
  switch (payload?.$case) {
    case 'task':
      return payload.value.id;
    case 'statusUpdate':
    case 'artifactUpdate':
      return payload.value.taskId;
    case 'message':
      return payload.value.taskId || undefined;
    default:
      return undefined;
  }
}

/**
 * The request handler with each send's task id written into its request's access-log record: a new task's id is
 * made inside the handler, so the request alone cannot tell it.
 */
export function withTaskIdsLogged(inner: A2ARequestHandler, log: AccessLog): A2ARequestHandler {
  const note = (context: ServerCallContext, taskId: string | undefined): void => {
    const record = log.recordOfCall(context);
    if (record && taskId && !record.taskId) record.taskId = taskId;
  };
  return {
    getAgentCard: () => inner.getAgentCard(),
    getAuthenticatedExtendedAgentCard: (p, c) => inner.getAuthenticatedExtendedAgentCard(p, c),
    sendMessage: async (params, context) => {
      const result = await inner.sendMessage(params, context);
      note(context, taskIdOfResult(result));
      return result;
    },
    sendMessageStream: async function* (params, context) {
      for await (const event of inner.sendMessageStream(params, context)) {
        note(context, taskIdOfEvent(event));
        yield event;
      }
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
