import { readFileSync } from 'node:fs';
import type { SendMessageRequest, StreamResponse } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import type { CommandContext } from './context.js';
import { EXIT } from './exit-codes.js';
import { Prompter } from './prompter.js';
import { ProgressView } from './progress-view.js';
import { printOutcome } from './result-view.js';
import { buildSendRequest, type SendFlags } from './send-input.js';
import { TaskDriver, type DriveResult, type StreamSource } from './task-driver.js';
import { exitCodeFor, isInterrupted, taskJson } from './task-view.js';

export interface FollowFlags {
  stream: boolean;
  /** `--answer`: answers to the task's questions, in order. */
  answer?: string[];
  /** `--no-interactive`: never ask; a question leaves the task waiting. */
  interactive: boolean;
}

/** A blocking send as a one-event stream, so both ways share the same follower. */
export function blockingSource(client: Client, request: SendMessageRequest): StreamSource {
  return async function* (signal): AsyncGenerator<StreamResponse> {
    const result = await client.sendMessage(request, { signal });
    yield 'messageId' in result
      ? { payload: { $case: 'message', value: result } }
      : { payload: { $case: 'task', value: result } };
  };
}

/** Prints how a followed task ended and returns the exit code for it. */
export function finish(ctx: CommandContext, res: DriveResult): number {
  const { out } = ctx;
  if (!res.task) {
    if (res.message !== undefined) {
      if (out.json) out.data({ message: res.message });
      else out.line(res.message);
      return EXIT.ok;
    }
    return res.detached ? EXIT.interrupted : EXIT.unreachable;
  }
  if (out.json) out.data(taskJson(res.task));
  else if (!res.detached) printOutcome(res.task, out);
  if (res.detached) return isInterrupted(res.task.status?.state) ? EXIT.needsInput : EXIT.interrupted;
  return exitCodeFor(res.task.status?.state);
}

export function driverFor(
  ctx: CommandContext,
  conn: Awaited<ReturnType<CommandContext['connect']>>,
  flags: FollowFlags,
  prompter: Prompter,
): TaskDriver {
  return new TaskDriver({
    conn,
    out: ctx.out,
    view: new ProgressView(ctx.out),
    prompter,
    answers: [...(flags.answer ?? [])],
    ask: flags.interactive,
    stream: flags.stream,
  });
}

/** `send`: hands a task to the gateway and follows it to the end. */
export async function sendCommand(
  ctx: CommandContext,
  words: string[],
  flags: SendFlags & FollowFlags,
): Promise<number> {
  const request = buildSendRequest(flags, words, {
    cwd: process.cwd(),
    stdin: () => readFileSync(0, 'utf8'),
  });
  const conn = await ctx.connect();
  const prompter = new Prompter();
  try {
    const driver = driverFor(ctx, conn, flags, prompter);
    const first: StreamSource = flags.stream
      ? (signal) => conn.client.sendMessageStream(request, { signal })
      : blockingSource(conn.client, request);
    return finish(ctx, await driver.drive(first));
  } finally {
    prompter.close();
  }
}
