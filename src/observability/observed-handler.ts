import { delegating } from '../service/handler-delegate.js';
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
  return delegating(inner, {
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
  });
}
