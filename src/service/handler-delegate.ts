import type { A2ARequestHandler } from '@a2a-js/sdk/server';

/**
 * A request handler that passes every call to `inner`, but for the ones `overrides` gives: for wrappers that
 * change one or two methods and must not drop the others (the SDK's handler is a class, so a spread would).
 */
export function delegating(
  inner: A2ARequestHandler,
  overrides: Partial<A2ARequestHandler>,
): A2ARequestHandler {
  return {
    getAgentCard: () => inner.getAgentCard(),
    getAuthenticatedExtendedAgentCard: (p, c) => inner.getAuthenticatedExtendedAgentCard(p, c),
    sendMessage: (p, c) => inner.sendMessage(p, c),
    sendMessageStream: (p, c) => inner.sendMessageStream(p, c),
    getTask: (p, c) => inner.getTask(p, c),
    cancelTask: (p, c) => inner.cancelTask(p, c),
    createTaskPushNotificationConfig: (p, c) => inner.createTaskPushNotificationConfig(p, c),
    getTaskPushNotificationConfig: (p, c) => inner.getTaskPushNotificationConfig(p, c),
    listTaskPushNotificationConfigs: (p, c) => inner.listTaskPushNotificationConfigs(p, c),
    deleteTaskPushNotificationConfig: (p, c) => inner.deleteTaskPushNotificationConfig(p, c),
    resubscribe: (p, c) => inner.resubscribe(p, c),
    listTasks: (p, c) => inner.listTasks(p, c),
    ...overrides,
  };
}
