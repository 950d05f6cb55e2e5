import {
  ExecutionEventQueue,
  ResultManager,
  type ExecutionEventBus,
  type ExecutionEventBusManager,
  type PushNotificationSender,
  type ServerCallContext,
  type TaskStore,
} from '@a2a-js/sdk/server';
import { toStreamResponse } from '../events/task-event-log.js';
import type { Logger } from '../observability/logger.js';

export interface DetachedRunDeps {
  buses: ExecutionEventBusManager;
  store: TaskStore;
  push?: PushNotificationSender;
  logger: Logger;
}

/**
 * Runs a task no request is waiting on (one resumed after a restart): its events go on the task's bus, as a
 * request's would, so they are logged, saved by the SDK's result manager, pushed, and seen by resubscribers.
 */
export async function runDetached(
  taskId: string,
  context: ServerCallContext,
  deps: DetachedRunDeps,
  run: (bus: ExecutionEventBus) => Promise<void>,
): Promise<void> {
  const bus = deps.buses.createOrGetByTaskId(taskId, context);
  const queue = new ExecutionEventQueue(bus);
  const results = new ResultManager(deps.store, context);
  const consumed = (async () => {
    for await (const event of queue.events()) {
      await results.processEvent(event);
      const response = toStreamResponse(event);
      if (response && deps.push) {
        await deps.push
          .send(response, context, results.getCurrentTask())
          .catch((err: unknown) => deps.logger.warn({ err, taskId }, 'push failed'));
      }
    }
  })();
  try {
    await run(bus);
  } finally {
    bus.finished();
    deps.buses.cleanupByTaskId(taskId, context);
    await consumed.catch((err: unknown) =>
      deps.logger.error({ err, taskId }, 'saving a resumed task failed'),
    );
  }
}
