import type {
  Metadata,
  sendUnaryData,
  Server,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  defaultServerCallContextBuilder,
  type A2ARequestHandler,
  type ServerCallContextBuilder,
} from '@a2a-js/sdk/server';
import type { Logger } from '../observability/logger.js';
import { GatewayUser, type Authenticator, type CredentialSource } from './auth.js';
import type { AuthThrottle } from './auth-throttle.js';
import { TRANSPORT_STATE_KEY } from './request-handler.js';
import type { SseStreams } from './sse-streams.js';
import { WIRE, WireError } from './wire-errors.js';

export interface GrpcBindingDeps {
  /** The same wrapped handler the HTTP bindings use: admission, limits, ownership and the event log. */
  requestHandler: A2ARequestHandler;
  authenticator: Authenticator;
  authThrottle?: AuthThrottle;
  /** Gives stream calls the client's `last-event-id` and a signal that fires when the client goes. */
  sseStreams: SseStreams;
  logger: Logger;
}

export interface GrpcBindingOptions {
  host: string;
  port: number;
  /** Largest request message, in bytes (BODY_LIMIT). */
  maxMessageBytes: number;
}

export interface GrpcBinding {
  /** The port it listens on (the one the OS chose for port 0). */
  readonly port: number;
  /** Stops taking calls, lets running ones finish for up to `graceMs`, then cuts the rest. */
  close(graceMs: number): Promise<void>;
}

type AnyCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;
type GrpcStatus = { code: number; details: string };

const GRPC_UNAUTHENTICATED = 16;
const GRPC_RESOURCE_EXHAUSTED = 8;

/** gRPC metadata read the way authentication reads HTTP headers. */
function metadataSource(metadata: Metadata): CredentialSource {
  return {
    header: (name) => {
      const value = metadata.get(name.toLowerCase())[0];
      return value === undefined ? undefined : value.toString();
    },
  };
}

/** The client address of a call (`ipv4:1.2.3.4:5678`, `ipv6:[::1]:5678`, `1.2.3.4:5678`), for the auth throttle. */
function peerAddress(call: AnyCall): string | undefined {
  const peer = call.getPeer().replace(/^ipv[46]:/, '');
  const v6 = /^\[([^\]]+)\]:\d+$/.exec(peer);
  if (v6) return v6[1];
  return /^([^:]+):\d+$/.exec(peer)?.[1] ?? peer;
}

/** Wraps every method of `inner` so a {@link WireError} it throws is seen by `seen` on its way out. */
function watchingWireErrors(inner: A2ARequestHandler, seen: (err: WireError) => void): A2ARequestHandler {
  const check = (err: unknown): never => {
    if (err instanceof WireError) seen(err);
    throw err;
  };
  return {
    getAgentCard: () => inner.getAgentCard(),
    getAuthenticatedExtendedAgentCard: (p, c) => inner.getAuthenticatedExtendedAgentCard(p, c).catch(check),
    sendMessage: (p, c) => inner.sendMessage(p, c).catch(check),
    sendMessageStream: async function* (p, c) {
      try {
        yield* inner.sendMessageStream(p, c);
      } catch (err) {
        check(err);
      }
    },
    getTask: (p, c) => inner.getTask(p, c).catch(check),
    listTasks: (p, c) => inner.listTasks(p, c).catch(check),
    cancelTask: (p, c) => inner.cancelTask(p, c).catch(check),
    createTaskPushNotificationConfig: (p, c) => inner.createTaskPushNotificationConfig(p, c).catch(check),
    getTaskPushNotificationConfig: (p, c) => inner.getTaskPushNotificationConfig(p, c).catch(check),
    listTaskPushNotificationConfigs: (p, c) => inner.listTaskPushNotificationConfigs(p, c).catch(check),
    deleteTaskPushNotificationConfig: (p, c) => inner.deleteTaskPushNotificationConfig(p, c).catch(check),
    resubscribe: async function* (p, c) {
      try {
        yield* inner.resubscribe(p, c);
      } catch (err) {
        check(err);
      }
    },
  };
}

/**
 * The A2A 1.0 gRPC binding (`lf.a2a.v1.A2AService`), on its own port beside the HTTP one. Every call goes through
 * the same pieces as the HTTP bindings: the key (`x-api-key` or `authorization: Bearer` metadata) and the
 * failed-authentication throttle, then the SDK's gRPC adapter over the gateway's wrapped request handler, so
 * admission, per-key limits, ownership and the event log are the same. A stream call may send `last-event-id`
 * metadata to resume SubscribeToTask after an event it saw (0 replays the task's whole log). The gateway's own
 * refusals map to RESOURCE_EXHAUSTED (busy), UNAUTHENTICATED and PERMISSION_DENIED.
 *
 * `@grpc/grpc-js` is loaded only when the binding is turned on (`GRPC_PORT`).
 */
export async function startGrpcBinding(
  deps: GrpcBindingDeps,
  opts: GrpcBindingOptions,
): Promise<GrpcBinding> {
  const grpc = await import('@grpc/grpc-js');
  const { A2AService, grpcService } = await import('@a2a-js/sdk/server/grpc');
  const logger = deps.logger.child({ binding: 'grpc' });

  /** The caller's principal, or the status to refuse the call with. */
  const authenticate = async (call: AnyCall): Promise<GatewayUser | GrpcStatus> => {
    const address = { ip: peerAddress(call) };
    const wait = await deps.authThrottle?.retryAfter(address);
    if (wait !== undefined) {
      return {
        code: GRPC_RESOURCE_EXHAUSTED,
        details: `too many failed authentications from this address; retry in ${wait} s`,
      };
    }
    const result = await deps.authenticator.authenticate(metadataSource(call.metadata));
    if (result.ok) return new GatewayUser(result.principal);
    await deps.authThrottle?.failed(address);
    logger.info({ peer: call.getPeer() }, `unauthenticated gRPC call refused: ${result.reason}`);
    return { code: GRPC_UNAUTHENTICATED, details: `Unauthorized: ${result.reason}` };
  };

  /** The SDK's service for one call: bound to its user, its stream view, and its refusals. */
  const serviceFor = (call: AnyCall, user: GatewayUser, seen: (err: WireError) => void) => {
    const contextBuilder: ServerCallContextBuilder = (o) => {
      const context = defaultServerCallContextBuilder(o);
      context.state.set(TRANSPORT_STATE_KEY, 'grpc');
      const gone = new AbortController();
      call.on('cancelled', () => gone.abort());
      call.on('close', () => gone.abort());
      deps.sseStreams.attach(o.headers, {
        setNextId: () => undefined,
        lastEventId: call.metadata.get('last-event-id')[0]?.toString(),
        signal: gone.signal,
      });
      return context;
    };
    return grpcService({
      requestHandler: watchingWireErrors(deps.requestHandler, seen),
      userBuilder: () => Promise.resolve(user),
      contextBuilder,
    }) as unknown as UntypedServiceImplementation;
  };

  const statusOf = (wire: WireError): GrpcStatus => ({ code: WIRE[wire.kind].grpc, details: wire.message });

  const unary =
    (name: string) =>
    (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void => {
      void (async () => {
        const who = await authenticate(call);
        if (!(who instanceof GatewayUser)) {
          callback(who, null);
          return;
        }
        let wire: WireError | undefined;
        const method = serviceFor(call, who, (err) => (wire = err))[name] as (
          c: typeof call,
          cb: sendUnaryData<unknown>,
        ) => Promise<void>;
        await method(call, (err, value) => callback(err && wire ? statusOf(wire) : err, value));
      })().catch((err: unknown) => {
        logger.error({ err, method: name }, 'gRPC call failed');
        callback({ code: grpc.status.INTERNAL, details: 'internal error' }, null);
      });
    };

  const streaming =
    (name: string) =>
    (call: ServerWritableStream<unknown, unknown>): void => {
      void (async () => {
        const who = await authenticate(call);
        if (!(who instanceof GatewayUser)) {
          call.emit('error', who);
          return;
        }
        let wire: WireError | undefined;
        // The SDK reports a stream's failure with call.emit('error', status): give the gateway's refusals their codes.
        const emit = call.emit.bind(call);
        call.emit = ((event: string | symbol, ...args: unknown[]) =>
          event === 'error' && wire
            ? emit('error', statusOf(wire))
            : emit(event, ...args)) as typeof call.emit;
        const method = serviceFor(call, who, (err) => (wire = err))[name] as (
          c: typeof call,
        ) => Promise<void>;
        await method(call);
      })().catch((err: unknown) => {
        logger.error({ err, method: name }, 'gRPC stream failed');
        call.emit('error', { code: grpc.status.INTERNAL, details: 'internal error' });
      });
    };

  const implementation: UntypedServiceImplementation = {};
  for (const [name, definition] of Object.entries(A2AService)) {
    implementation[name] = definition.responseStream ? streaming(name) : unary(name);
  }

  const server: Server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxMessageBytes,
  });
  server.addService(A2AService, implementation);
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(err);
      else resolve(bound);
    });
  });
  logger.info({ port }, 'A2A gRPC binding listening');

  return {
    port,
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
