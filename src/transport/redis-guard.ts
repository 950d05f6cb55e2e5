import type { A2ARequestHandler, ServerCallContext } from '@a2a-js/sdk/server';
import { RedisUnavailableError } from '../queue/redis-errors.js';
import { wireError } from './request-handler.js';
import { REDIS_RETRY_AFTER_SEC } from './wire-errors.js';

/**
 * ioredis's words for a connection that is down (no offline queue, closed, refused, given up) or a Redis that does
 * not answer (a command past its timeout).
 */
const CONNECTION_DOWN =
  /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|MaxRetriesPerRequest|Command timed out|connection (?:wait|connecting|reconnecting|end|close)/i;

/**
 * The error to answer a failure with that {@link isRedisDown} says is Redis's: the failure itself when it already
 * names Redis, else one saying what the connection is doing (`status`): away, or there and not answering in time.
 */
export function redisUnavailableOf(err: unknown, status: string): RedisUnavailableError {
  if (err instanceof RedisUnavailableError) return err;
  return new RedisUnavailableError(status === 'ready' ? 'no answer in time' : `connection ${status}`);
}

/** Whether an error says Redis is away or does not answer (rather than a fault of the request or the code). */
export function isRedisDown(err: unknown): boolean {
  return (
    err instanceof RedisUnavailableError ||
    CONNECTION_DOWN.test(err instanceof Error ? err.message : String(err))
  );
}

/**
 * On a shared store, a call that failed because Redis went away mid-request is told so: the binding's
 * "unavailable" error naming Redis (JSON-RPC -32050, HTTP 503), not an internal error with ioredis's words.
 * (A call that arrives while Redis is known to be away is refused before it gets here, by the edge.)
 */
export function withRedisGuard(
  inner: A2ARequestHandler,
  redis: { readonly status: string },
): A2ARequestHandler {
  const translate = (err: unknown, context: ServerCallContext): unknown => {
    if (!isRedisDown(err)) return err;
    const reason = redisUnavailableOf(err, redis.status);
    return wireError(context, 'unavailable', reason.message, {
      reason: 'REDIS_UNAVAILABLE',
      retryAfterSeconds: REDIS_RETRY_AFTER_SEC,
    });
  };
  const guard =
    <P, R>(call: (p: P, c: ServerCallContext) => Promise<R>) =>
    async (p: P, c: ServerCallContext): Promise<R> => {
      try {
        return await call(p, c);
      } catch (err) {
        throw translate(err, c);
      }
    };
  const guardStream = <P, R>(call: (p: P, c: ServerCallContext) => AsyncGenerator<R, void, undefined>) =>
    async function* (p: P, c: ServerCallContext): AsyncGenerator<R, void, undefined> {
      try {
        yield* call(p, c);
      } catch (err) {
        throw translate(err, c);
      }
    };
  return {
    getAgentCard: () => inner.getAgentCard(),
    getAuthenticatedExtendedAgentCard: guard((p, c) => inner.getAuthenticatedExtendedAgentCard(p, c)),
    sendMessage: guard((p, c) => inner.sendMessage(p, c)),
    sendMessageStream: guardStream((p, c) => inner.sendMessageStream(p, c)),
    getTask: guard((p, c) => inner.getTask(p, c)),
    cancelTask: guard((p, c) => inner.cancelTask(p, c)),
    createTaskPushNotificationConfig: guard((p, c) => inner.createTaskPushNotificationConfig(p, c)),
    getTaskPushNotificationConfig: guard((p, c) => inner.getTaskPushNotificationConfig(p, c)),
    listTaskPushNotificationConfigs: guard((p, c) => inner.listTaskPushNotificationConfigs(p, c)),
    deleteTaskPushNotificationConfig: guard((p, c) => inner.deleteTaskPushNotificationConfig(p, c)),
    resubscribe: guardStream((p, c) => inner.resubscribe(p, c)),
    listTasks: guard((p, c) => inner.listTasks(p, c)),
  };
}
