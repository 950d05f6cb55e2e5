import { TaskState, type Task } from '@a2a-js/sdk';
import type { CommandContext } from './context.js';
import { CliError, usageError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { Prompter } from './prompter.js';
import { elapsed } from './progress-view.js';
import { printOutcome } from './result-view.js';
import { driverFor, finish, type FollowFlags } from './send.js';
import { replyMessage, type StreamSource } from './task-driver.js';
import {
  STATE_NAMES,
  isInterrupted,
  isTerminal,
  parseState,
  stateName,
  taskJson,
  resultOf,
} from './task-view.js';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** How long ago a task's status last changed: `3:05`, or `2 d` past a day. */
function age(task: Task, now: number): string {
  const at = Date.parse(task.status?.timestamp ?? '');
  if (Number.isNaN(at)) return '';
  const ms = now - at;
  return ms >= 86_400_000 ? `${Math.floor(ms / 86_400_000)} d` : elapsed(ms);
}

export interface ListFlags {
  state?: string;
  skill?: string;
  context?: string;
  limit: string;
}

/**
 * `tasks list`: ListTasks, newest first, paged until `--limit`; `--state` filtered by the server, `--skill` here
 * (A2A has no skill filter; the gateway keeps the skill in the task's metadata).
 */
export async function listCommand(ctx: CommandContext, flags: ListFlags): Promise<number> {
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw usageError(`--limit: expected a whole number above 0, got "${flags.limit}"`, 'limit');
  let status = TaskState.TASK_STATE_UNSPECIFIED;
  if (flags.state !== undefined) {
    const parsed = parseState(flags.state);
    if (parsed === undefined)
      throw usageError(`--state: expected one of ${STATE_NAMES.join(', ')}, got "${flags.state}"`, 'state');
    status = parsed;
  }
  const conn = await ctx.connect();
  const tasks: Task[] = [];
  let pageToken = '';
  for (let page = 0; page < 100 && tasks.length < limit; page++) {
    const res = await conn.client.listTasks({
      tenant: '',
      contextId: flags.context ?? '',
      status,
      pageSize: 100,
      pageToken,
      historyLength: 0,
      statusTimestampAfter: undefined,
      includeArtifacts: false,
    });
    for (const t of res.tasks) {
      if (flags.skill === undefined || t.metadata?.skill === flags.skill) tasks.push(t);
    }
    if (!res.nextPageToken) break;
    pageToken = res.nextPageToken;
  }
  const shown = tasks.slice(0, limit);
  const { out } = ctx;
  if (out.json) {
    out.data(shown.map(taskJson));
    return EXIT.ok;
  }
  if (shown.length === 0) {
    out.note('no tasks');
    return EXIT.ok;
  }
  const now = Date.now();
  const rows = shown.map((t) => [
    t.id,
    stateName(t.status?.state),
    str(t.metadata?.skill),
    str(t.metadata?.backend),
    age(t, now),
  ]);
  const head = ['ID', 'STATE', 'SKILL', 'BACKEND', 'AGE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]): string =>
    r
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  out.line(out.c.bold(fmt(head)));
  for (const r of rows) out.line(fmt(r));
  return EXIT.ok;
}

async function getOrExplain(
  ctx: CommandContext,
  id: string,
): Promise<{ task: Task; conn: Awaited<ReturnType<CommandContext['connect']>> }> {
  const conn = await ctx.connect();
  const task = await conn.client.getTask({ tenant: '', id, historyLength: undefined });
  return { task, conn };
}

/** `tasks get`: the task's state and, once finished, its summary and diff. */
export async function getCommand(ctx: CommandContext, id: string): Promise<number> {
  const { task } = await getOrExplain(ctx, id);
  const { out } = ctx;
  if (out.json) {
    out.data(taskJson(task));
    return EXIT.ok;
  }
  const skill = str(task.metadata?.skill);
  const backend = str(task.metadata?.backend);
  out.note(
    `${out.ce.bold(`task ${task.id}`)}  ${stateName(task.status?.state)}${skill ? `  ${skill}` : ''}${backend ? ` on ${backend}` : ''}`,
  );
  if (isTerminal(task.status?.state) || isInterrupted(task.status?.state)) printOutcome(task, out);
  else if (resultOf(task).summary === '')
    out.note(`still running; follow it with: a2a-gateway tasks watch ${task.id}`);
  return EXIT.ok;
}

/** `tasks cancel`: stops the task; says so plainly when it had already ended. */
export async function cancelCommand(ctx: CommandContext, id: string): Promise<number> {
  const { task, conn } = await getOrExplain(ctx, id);
  if (isTerminal(task.status?.state)) {
    throw usageError(
      `task ${id} has already ended (${stateName(task.status?.state)}); there is nothing to cancel`,
    );
  }
  const canceled = await conn.client.cancelTask({ tenant: '', id, metadata: undefined });
  if (ctx.out.json) ctx.out.data(taskJson(canceled));
  else ctx.out.note(`task ${id}: ${stateName(canceled.status?.state)}`);
  return canceled.status?.state === TaskState.TASK_STATE_CANCELED ? EXIT.ok : EXIT.failed;
}

/**
 * `tasks watch`: reattaches to a task and replays its events from the start (or after `--since`), then follows
 * it live to the end, answering its questions like `send` does.
 */
export async function watchCommand(
  ctx: CommandContext,
  id: string,
  flags: FollowFlags & { since?: string },
): Promise<number> {
  const { task, conn } = await getOrExplain(ctx, id);
  const since = flags.since ?? '0';
  if (!/^\d+$/.test(since))
    throw usageError(`--since: expected an event id (a whole number), got "${since}"`, 'since');
  const prompter = new Prompter();
  try {
    const driver = driverFor(ctx, conn, { ...flags, stream: true }, prompter);
    const source: StreamSource = (signal) =>
      conn.client.resubscribeTask(
        { tenant: '', id },
        { signal, serviceParameters: { 'Last-Event-ID': since } },
      );
    try {
      return finish(ctx, await driver.drive(source, task));
    } catch (err) {
      // A server without replay refuses to resubscribe to a finished task: show it as it is.
      if (isTerminal(task.status?.state) && !(err instanceof CliError)) {
        return finish(ctx, { task, message: undefined, detached: false });
      }
      throw err;
    }
  } finally {
    prompter.close();
  }
}

/** `tasks reply`: answers the question a task waits on, then follows it like `send`. */
export async function replyCommand(
  ctx: CommandContext,
  id: string,
  words: string[],
  flags: FollowFlags,
): Promise<number> {
  const text = words.join(' ').trim();
  if (!text)
    throw usageError('tasks reply: give the answer, e.g. a2a-gateway tasks reply ID allow', 'answer');
  const { task, conn } = await getOrExplain(ctx, id);
  if (!isInterrupted(task.status?.state)) {
    throw usageError(`task ${id} is not waiting for an answer (it is ${stateName(task.status?.state)})`);
  }
  const prompter = new Prompter();
  try {
    const driver = driverFor(ctx, conn, flags, prompter);
    const request = {
      tenant: '',
      message: replyMessage(task, text),
      configuration: undefined,
      metadata: undefined,
    };
    const source: StreamSource = flags.stream
      ? (signal) => conn.client.sendMessageStream(request, { signal })
      : async function* (signal) {
          const result = await conn.client.sendMessage(request, { signal });
          yield 'messageId' in result
            ? { payload: { $case: 'message' as const, value: result } }
            : { payload: { $case: 'task' as const, value: result } };
        };
    return finish(ctx, await driver.drive(source, task));
  } finally {
    prompter.close();
  }
}
