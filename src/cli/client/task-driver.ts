/**
 * Follows one task to a stop, whatever started it (a send, a reply, a reattach): shows progress, puts the task's
 * questions to the person (or takes `--answer`s, or lines from a pipe), resumes a dropped stream where it left
 * off (Last-Event-ID), and on Ctrl-C asks whether to cancel the task or leave it running.
 */
import { randomUUID } from 'node:crypto';
import { Role, TaskState, type Message, type StreamResponse, type Task } from '@a2a-js/sdk';
import type { Connection } from './connection.js';
import { isNetworkError } from './errors.js';
import type { Output } from './output.js';
import type { Asked, Prompter } from './prompter.js';
import type { ProgressView } from './progress-view.js';
import { TaskSnapshot } from './task-state.js';
import { costOf, isInterrupted, isTerminal, messageText, questionOf, type Question } from './task-view.js';

export type StreamSource = (signal: AbortSignal) => AsyncIterable<StreamResponse>;

export interface DriverOptions {
  conn: Connection;
  out: Output;
  view: ProgressView;
  prompter: Prompter;
  /** `--answer` values, used in order for the task's questions before anyone is asked. */
  answers: string[];
  /** Ask on the terminal or read answers from a piped stdin (false: `--no-interactive`). */
  ask: boolean;
  /** Replies stream (true) or block until the task stops again (`--no-stream`). */
  stream: boolean;
}

/** How a drive ended. `detached`: Ctrl-C, the task left running. */
export interface DriveResult {
  task: Task | undefined;
  message: string | undefined;
  detached: boolean;
}

/** Stream resumes after a dropped connection before giving up. */
const MAX_RESUMES = 5;

/** A reply on a task: the answer as text, on the task and its context. */
export function replyMessage(task: Pick<Task, 'id' | 'contextId'>, text: string): Message {
  return {
    messageId: randomUUID(),
    contextId: task.contextId,
    taskId: task.id,
    role: Role.ROLE_USER,
    parts: [
      { content: { $case: 'text', value: text }, mediaType: 'text/plain', filename: '', metadata: undefined },
    ],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

type Stop = 'terminal' | 'question' | 'closed' | 'message';

/** What became of a question: answered (the text to send), nobody answered, the task moved on, or Ctrl-C. */
type Answer = { kind: 'answer'; text: string } | { kind: 'none' } | { kind: 'moved-on' } | { kind: 'detach' };

export class TaskDriver {
  private readonly snap = new TaskSnapshot();
  private current: AbortController | undefined;
  private interrupted = false;
  private readonly onSigint = (): void => {
    this.interrupted = true;
    this.current?.abort();
  };

  constructor(private readonly opts: DriverOptions) {}

  get task(): Task | undefined {
    return this.snap.task;
  }

  /** Follows the stream `first` opens, and whatever follows it, until the task ends, waits unanswered, or is left. */
  async drive(first: StreamSource, known?: Task): Promise<DriveResult> {
    if (known) this.snap.task = known;
    process.on('SIGINT', this.onSigint);
    this.opts.view.resume();
    try {
      return await this.loop(first);
    } finally {
      process.off('SIGINT', this.onSigint);
      this.opts.view.stop();
    }
  }

  private async loop(first: StreamSource): Promise<DriveResult> {
    let source: StreamSource | undefined = first;
    let resumes = 0;
    // A reply's stream opens with the task as it was, still showing the question just answered.
    let replying = false;
    for (;;) {
      let stop: Stop;
      try {
        stop = source ? await this.consume(source, replying) : 'closed';
        source = undefined;
        replying = false;
      } catch (err) {
        if (this.interrupted) {
          const next = await this.interrupt();
          if (next === 'detach') return this.result(true);
          if (next === 'done') return this.result(false);
          source = this.resubscribe();
          continue;
        }
        if (!(isNetworkError(err) || isDropped(err)) || !this.snap.task || resumes >= MAX_RESUMES) throw err;
        resumes += 1;
        this.opts.out.note(this.opts.out.ce.yellow(`stream lost (${(err as Error).message}); resuming`));
        await new Promise((r) => setTimeout(r, 250 * resumes));
        source = this.resubscribe();
        continue;
      }
      const task = this.snap.task;
      if (stop === 'message' || !task) return this.result(false);
      const state = task.status?.state;
      if (isTerminal(state)) return this.result(false);
      if (stop === 'question' || isInterrupted(state)) {
        const answer = await this.answer(task);
        if (answer.kind === 'detach') return this.result(true);
        if (answer.kind === 'none') return this.result(false);
        if (answer.kind === 'moved-on') {
          source = this.resubscribe();
          continue;
        }
        source = this.reply(task, answer.text);
        replying = true;
        continue;
      }
      // The stream ended while the task runs on (a proxy or the server closed it): pick it up where it stopped.
      if (resumes >= MAX_RESUMES) return this.result(false);
      resumes += 1;
      source = this.resubscribe();
    }
  }

  /** The answer sent on the task, streamed or blocking like the send was. */
  private reply(task: Task, answer: string): StreamSource {
    const request = {
      tenant: '',
      message: replyMessage(task, answer),
      configuration: undefined,
      metadata: undefined,
    };
    const client = this.opts.conn.client;
    if (this.opts.stream) return (signal) => client.sendMessageStream(request, { signal });
    return async function* (signal): AsyncGenerator<StreamResponse> {
      const result = await client.sendMessage(request, { signal });
      yield 'messageId' in result
        ? { payload: { $case: 'message', value: result } }
        : { payload: { $case: 'task', value: result } };
    };
  }

  private result(detached: boolean): DriveResult {
    return { task: this.snap.task, message: this.snap.message, detached };
  }

  /** Resubscribes to the task from the last event seen (all of them when none was numbered). */
  private resubscribe(): StreamSource {
    const id = this.snap.task?.id ?? '';
    const last = this.opts.conn.ids.last;
    if (process.env.A2A_DEBUG) this.opts.out.note(`resubscribe ${id} after event ${last ?? '(none)'}`);
    return (signal) =>
      this.opts.conn.client.resubscribeTask(
        { tenant: '', id },
        { signal, ...(last !== undefined ? { serviceParameters: { 'Last-Event-ID': last } } : {}) },
      );
  }

  /** Reads events until the task ends or stops on a question that is still open; shows each one. */
  private async consume(source: StreamSource, replying: boolean): Promise<Stop> {
    const ctl = new AbortController();
    this.current = ctl;
    let first = true;
    try {
      for await (const event of source(ctl.signal)) {
        this.opts.conn.ids.next();
        this.snap.apply(event);
        this.show(event);
        const opening = first && replying && event.payload?.$case === 'task';
        first = false;
        if (this.snap.message !== undefined && !this.snap.task) return 'message';
        const state = this.snap.task?.status?.state;
        if (isTerminal(state)) return 'terminal';
        if (opening) continue;
        if (isInterrupted(state) && (await this.stillWaiting(this.snap.task!))) return 'question';
      }
      return 'closed';
    } finally {
      ctl.abort();
      this.current = undefined;
    }
  }

  /** A replayed stream shows old questions too: only one the task still waits on is asked. */
  private async stillWaiting(task: Task): Promise<boolean> {
    const now = await this.opts.conn.client.getTask({ tenant: '', id: task.id, historyLength: 0 });
    if (!isInterrupted(now.status?.state)) return false;
    const asked = questionOf(task).questionId;
    return asked === undefined || asked === questionOf(now).questionId;
  }

  private show(event: StreamResponse): void {
    const { view } = this.opts;
    const task = this.snap.task;
    if (task) view.task(task.id, skillOf(task));
    const p = event.payload;
    if (p?.$case === 'statusUpdate' || p?.$case === 'task') {
      const status = p.value.status;
      if (status) view.setState(status.state);
      const msg = status?.message;
      const text = messageText(msg);
      if (p.$case === 'statusUpdate' && status?.state === TaskState.TASK_STATE_WORKING && text) {
        const tool: unknown = msg?.metadata?.tool;
        view.progress(text, typeof tool === 'string' ? tool : undefined);
      }
      view.setCost(costOf(msg?.metadata?.usage) ?? costOf(task?.metadata?.usage));
    }
  }

  /**
   * The answer to the task's question: the next `--answer`, else the person at the terminal, else a line from a
   * piped stdin. `none` when nobody answers; `moved-on` when the task left the question meanwhile (answered
   * elsewhere, timed out, canceled); `detach` on Ctrl-C with the task left waiting.
   */
  private async answer(task: Task): Promise<Answer> {
    const q = questionOf(task);
    const { out, view, prompter } = this.opts;
    const given = this.opts.answers.shift();
    if (given !== undefined) {
      const text = chooseOption(given, q.options) ?? given;
      out.note(`${q.question ?? q.text} → ${text}`);
      return { kind: 'answer', text };
    }
    if (!this.opts.ask) return { kind: 'none' };
    view.pause();
    // While the person thinks, keep following the task: if it moves on without us, stop asking.
    const watching = new AbortController();
    const movedOn = this.watchQuestion(task, watching.signal);
    try {
      for (;;) {
        const prompt = promptFor(q, out, prompter.interactive);
        const asked = new AbortController();
        void movedOn.then((moved) => {
          if (moved) asked.abort();
        });
        const onSigint = (): void => asked.abort();
        process.on('SIGINT', onSigint);
        let reply: Asked;
        try {
          reply = await prompter.ask(prompt, asked.signal);
        } finally {
          process.off('SIGINT', onSigint);
        }
        if (reply.kind === 'aborted' && (await Promise.race([movedOn, Promise.resolve(false)]))) {
          out.note(out.ce.dim('the task moved on without an answer from here'));
          return { kind: 'moved-on' };
        }
        if (reply.kind === 'interrupt' || reply.kind === 'aborted') {
          out.note(
            `task ${task.id} left waiting for an answer; answer later with: a2a-gateway tasks reply ${task.id} <answer>`,
          );
          return { kind: 'detach' };
        }
        if (reply.kind === 'eof') return { kind: 'none' };
        const chosen = chooseOption(reply.text, q.options);
        if (chosen) return { kind: 'answer', text: chosen };
      }
    } finally {
      watching.abort();
      view.resume();
    }
  }

  /** Resolves true when the task leaves this question (seen on a resubscribe from the last event). */
  private async watchQuestion(task: Task, signal: AbortSignal): Promise<boolean> {
    const asked = questionOf(task).questionId;
    const last = this.opts.conn.ids.last;
    try {
      for await (const event of this.opts.conn.client.resubscribeTask(
        { tenant: '', id: task.id },
        { signal, ...(last !== undefined ? { serviceParameters: { 'Last-Event-ID': last } } : {}) },
      )) {
        const p = event.payload;
        const status = p?.$case === 'task' || p?.$case === 'statusUpdate' ? p.value.status : undefined;
        if (!status) continue;
        if (!isInterrupted(status.state)) return true;
        const now = questionOf({ ...task, status }).questionId;
        if (asked !== undefined && now !== undefined && now !== asked) return true;
      }
    } catch {
      // No watching (an older server, or we stopped it): the prompt just waits.
    }
    return false;
  }

  /** Ctrl-C while following: cancel, leave running, or go on watching. */
  private async interrupt(): Promise<'detach' | 'done' | 'watch'> {
    this.interrupted = false;
    const { out, view, prompter, conn } = this.opts;
    view.pause();
    const task = this.snap.task;
    if (!task) {
      out.note(
        'interrupted before the gateway named the task; if it made one, find it with: a2a-gateway tasks list',
      );
      return 'detach';
    }
    const reattach = `reattach with: a2a-gateway tasks watch ${task.id}`;
    if (!prompter.interactive) {
      out.note(
        `interrupted: task ${task.id} is left running (stdin is not a terminal, so nothing was asked or canceled); ${reattach}`,
      );
      return 'detach';
    }
    const reply = await prompter.ask(
      `\ntask ${task.id} is still running. Cancel it [c], leave it running [l], or keep watching [w]? (l) `,
    );
    const choice = reply.kind === 'line' ? reply.text.trim().toLowerCase() : 'l';
    if (choice.startsWith('c')) {
      const canceled = await conn.client.cancelTask({ tenant: '', id: task.id, metadata: undefined });
      this.snap.task = canceled;
      out.note(`canceled task ${task.id}`);
      return 'done';
    }
    if (choice.startsWith('w')) {
      view.resume();
      return 'watch';
    }
    out.note(`task ${task.id} left running; ${reattach}`);
    return 'detach';
  }
}

function causeText(err: Error): string {
  const cause: unknown = err.cause;
  return cause instanceof Error ? `${cause.message} ${(cause as NodeJS.ErrnoException).code ?? ''}` : '';
}

function isDropped(err: unknown): boolean {
  return (
    err instanceof Error &&
    /terminated|other side closed|socket|ECONNRESET/i.test(`${err.message} ${causeText(err)}`)
  );
}

function skillOf(task: Task): string | undefined {
  const skill: unknown = task.metadata?.skill;
  return typeof skill === 'string' ? skill : undefined;
}

/** The question as a prompt: on a terminal with numbered options; through a pipe on one line. */
function promptFor(q: Question, out: Output, terminal: boolean): string {
  const c = out.ce;
  const question = q.question ?? q.text;
  if (!terminal) return `? ${question}${q.options.length > 0 ? ` [${q.options.join('/')}]` : ''}`;
  const lines = [`${c.yellow('?')} ${c.bold(question)}`];
  q.options.forEach((o, i) => lines.push(`  ${c.cyan(String(i + 1))}) ${o}`));
  lines.push(q.options.length > 0 ? `answer (1-${q.options.length}, or words): ` : 'answer: ');
  return lines.join('\n');
}

/** A number picks an option; other words go as they are; an empty line asks again. */
function chooseOption(reply: string, options: string[]): string | undefined {
  const text = reply.trim();
  if (text === '') return undefined;
  const n = Number(text);
  if (Number.isInteger(n) && n >= 1 && n <= options.length) return options[n - 1];
  return text;
}
