/**
 * B: what a user writes by hand with `@a2a-js/sdk`: the SDK's request handler, its in-memory task store, its
 * Express JSON-RPC and REST handlers (0.3 compat on), no auth, no limits, no logs. Its executor spawns the
 * executable named by `--spawn` (when given) and completes the task when it exits, as the gateway's runs do.
 * Prints `LISTENING <url>` once it listens on 127.0.0.1.
 *
 *   node --import tsx bench/servers/bare-sdk.ts [--spawn /bin/true]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import express from 'express';
import { AgentCard, TaskState, type Message, type Task } from '@a2a-js/sdk';
import {
  AgentEvent,
  DefaultRequestHandler,
  InMemoryTaskStore,
  type AgentExecutor,
  type ExecutionEventBus,
  type RequestContext,
} from '@a2a-js/sdk/server';
import { UserBuilder, jsonRpcHandler, restHandler } from '@a2a-js/sdk/server/express';

const { values } = parseArgs({ options: { spawn: { type: 'string' } } });
const executable = values.spawn;

function runChild(): Promise<void> {
  if (!executable) return Promise.resolve();
  return new Promise((resolve) => {
    const child = spawn(executable, [], { stdio: 'ignore' });
    child.on('exit', () => resolve());
    child.on('error', () => resolve());
  });
}

function reply(taskId: string, contextId: string, text: string): Message {
  return {
    messageId: `${taskId}-reply`,
    contextId,
    taskId,
    role: 2, // ROLE_AGENT
    parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: '' }],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  } as unknown as Message;
}

const executor: AgentExecutor = {
  async execute(ctx: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const { taskId, contextId } = ctx;
    const task: Task = {
      id: taskId,
      contextId,
      status: {
        state: TaskState.TASK_STATE_SUBMITTED,
        timestamp: new Date().toISOString(),
        message: undefined,
      },
      artifacts: [],
      history: [ctx.userMessage],
      metadata: undefined,
    };
    bus.publish(AgentEvent.task(task));
    await runChild();
    bus.publish(
      AgentEvent.statusUpdate({
        taskId,
        contextId,
        status: {
          state: TaskState.TASK_STATE_COMPLETED,
          timestamp: new Date().toISOString(),
          message: reply(taskId, contextId, 'ok'),
        },
        metadata: undefined,
      }),
    );
    bus.finished();
  },
  cancelTask(): Promise<void> {
    return Promise.resolve();
  },
};

const app = express();
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  const card = AgentCard.fromJSON({
    name: 'bare-sdk',
    description: 'bare @a2a-js/sdk server',
    version: '0.0.0',
    supportedInterfaces: [
      { url, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
      { url, protocolBinding: 'HTTP+JSON', protocolVersion: '1.0' },
      { url, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
      { url, protocolBinding: 'HTTP+JSON', protocolVersion: '0.3' },
    ],
    capabilities: { streaming: true },
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [],
  });
  const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
  const opts = {
    requestHandler: handler,
    userBuilder: UserBuilder.noAuthentication,
    legacyCompat: { enabled: true },
  };
  app.use('/', jsonRpcHandler(opts));
  app.use('/', restHandler(opts));
  process.stdout.write(`LISTENING ${url}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
