import { TaskState, type Message, type Task } from '@a2a-js/sdk';
import {
  AgentEvent,
  STATE_HEADERS_KEY,
  type AgentExecutor,
  type ExecutionEventBus,
  type RequestContext,
} from '@a2a-js/sdk/server';
import type { Logger } from '../observability/logger.js';
import { traceparentOfHeaders } from '../observability/trace-context.js';
import type { TaskJob } from '../queue/job.js';
import type { JobStore } from '../queue/job-store.js';
import type { Reservation, TaskQueue } from '../queue/task-queue.js';
import type { RunEvent } from '../run/run-events.js';
import { endOf } from '../run/settle.js';
import { outcomeOfError, type TaskRun } from '../run/task-run.js';
import type { GatewayTaskStore } from '../stores/types.js';
import { agentMessage, messageText, newTask, statusUpdate, textPart } from './a2a.js';
import { takeAdmitted } from './admission.js';
import { RunAbort } from '../agents/types.js';
import type { Conversations } from './conversations.js';
import type { InputRequests } from './input-required.js';
import type { TaskPlan, TaskPlanner } from './planner.js';
import { a2aEventsOf } from './run-to-a2a.js';
import { isRelayedQuestion, type QuestionRelay, type RelayedQuestion } from '../queue/question-relay.js';

export interface ExecutorDeps {
  planner: TaskPlanner;
  /** Where tasks wait for a slot and run. */
  scheduler: TaskQueue;
  /** The protocol-free task run this executor adapts to A2A. */
  run: TaskRun;
  store: GatewayTaskStore;
  logger: Logger;
  /** The skill of a context's latest turn, for a follow-up that names none. */
  conversations: Pick<Conversations, 'lastSkill'>;
  /** Who a call belongs to (the key's id), for per-key limits. */
  ownerOf?: (ctx: RequestContext) => string;
  /** Masks known secrets in what a task that could not be planned says. */
  redact?: (text: string) => string;
  /** Questions from backends as `input-required`, and the replies that resume them (skills that may ask). */
  inputRequests?: InputRequests;
  /** Where acknowledged jobs are kept until their task ends, so a restart knows what is still owed. */
  jobs?: JobStore;
  /** The tenant of a call (the task's scope), kept with its job. */
  tenantOf?: (ctx: RequestContext) => string;
  /**
   * Where serialized jobs go to run on any worker node (the queue on Redis). With it, no run happens in this
   * executor: it queues the job, then publishes the run events the worker sends back.
   */
  remote?: RemoteJobs;
  /** Task metadata every task of this node carries (the node's name, on a shared store). */
  taskMeta?: Record<string, string>;
  /** Where the answers to a remote run's questions go back to the worker that asked. */
  questions?: Pick<QuestionRelay, 'reply'>;
}

/** The part of the Redis queue the executor uses to hand a job to a worker and hear how it runs. */
export interface RemoteJobs {
  submitJob(
    job: TaskJob,
    opts: { reservation?: Reservation },
    watch: { onEvent: (event: unknown) => void },
  ): Promise<{ outcome: Promise<unknown> }>;
}

/**
 * The gateway's AgentExecutor, the A2A adapter of the task run: plans the request (unless admission did),
 * keeps the job, publishes the task, runs it through the queue with {@link TaskRun}, and maps the run's events to
 * A2A status and artifact updates. `execute` settles only when the task has ended, which is what keeps the SDK's
 * event bus (and so its persistence) alive for the run.
 */
export class GatewayExecutor implements AgentExecutor {
  /**
   * Tasks between planning and their end: `finalizing` once the outcome is known, `canceled` once a cancel
   * arrived before the run started.
   */
  private readonly active = new Map<
    string,
    { contextId: string; owner: string; finalizing: boolean; canceled: boolean }
  >();

  constructor(private readonly deps: ExecutorDeps) {}

  activeCount(): number {
    return this.active.size;
  }

  /** Tasks of one owner between planning and their end (queued or running). */
  activeFor(owner: string): number {
    let n = 0;
    for (const entry of this.active.values()) if (entry.owner === owner) n += 1;
    return n;
  }

  execute = async (ctx: RequestContext, bus: ExecutionEventBus): Promise<void> => {
    // Taken before anything is awaited: from here on this run gives the queue place back, whatever happens.
    const admitted = takeAdmitted(ctx.context);
    try {
      // A reply to a question the task's run is waiting on resumes that run; no new run starts.
      if (await this.deps.inputRequests?.takeReply(ctx, bus)) return;
      await this.executeNew(ctx, bus, admitted?.plan, admitted?.reservation);
    } finally {
      admitted?.reservation.release();
    }
  };

  private async executeNew(
    ctx: RequestContext,
    bus: ExecutionEventBus,
    admittedPlan: TaskPlan | undefined,
    reservation: Reservation | undefined,
  ): Promise<void> {
    const { taskId, contextId } = ctx;
    const message = ctx.userMessage;
    const owner = this.deps.ownerOf?.(ctx) ?? 'anonymous';
    this.active.set(taskId, { contextId, owner, finalizing: false, canceled: false });
    try {
      let plan: TaskPlan;
      try {
        // Admission planned the send; only a call that came by another way is planned here.
        plan =
          admittedPlan ??
          (await this.deps.planner.plan(message, ctx.request.metadata, await this.previousOf(ctx)));
      } catch (err) {
        // The edge refuses bad input before a task exists; this is the second line for anything that slips by.
        this.publishTask(bus, ctx.task, taskId, contextId, message, {});
        this.publishRun(bus, taskId, contextId, {
          type: 'finished',
          ...endOf(outcomeOfError(err), undefined, {}, {}, this.redact),
        });
        return;
      }
      // Remembered so tasks/get can answer in the dialect (0.1) the task was created in.
      const dialect: unknown = message.metadata?.dialect;
      const meta = {
        skill: plan.skill.id,
        backend: plan.backendName,
        ...(typeof dialect === 'string' ? { dialect } : {}),
        ...this.deps.taskMeta,
      };
      // When and where, for lists (the dashboard's): kept in the task's metadata, not in the run details.
      const listed = {
        ...(ctx.task ? {} : { createdAt: new Date().toISOString() }),
        ...(plan.workdir ? { workdir: plan.workdir } : {}),
      };
      // What the caller asked, in words, for backends that replay earlier turns.
      const main = plan.input[plan.skill.mainField];
      const request = typeof main === 'string' ? main : messageText(message) || JSON.stringify(plan.input);
      // The request's trace goes on in the task's log lines and, as TRACEPARENT, in the CLI's environment.
      const traceparent = traceparentOfHeaders(ctx.context.state.get(STATE_HEADERS_KEY));
      const job = jobOf(plan, {
        taskId,
        contextId,
        owner,
        tenant: this.deps.tenantOf?.(ctx) ?? '',
        request,
        meta,
        ...(traceparent ? { traceparent } : {}),
      });
      if (this.deps.remote) {
        await this.runRemote(bus, job, this.deps.remote, reservation, () =>
          this.publishTask(bus, ctx.task, taskId, contextId, message, { ...meta, ...listed }),
        );
        return;
      }
      // Kept before the task is published (the caller's acknowledgement): an acknowledged task is never lost.
      await this.deps.jobs?.save(job);
      this.publishTask(bus, ctx.task, taskId, contextId, message, { ...meta, ...listed });
      await this.runPlanned(bus, job, plan, reservation ? { reservation } : {});
    } finally {
      this.active.delete(taskId);
    }
  }

  /**
   * Runs a job acknowledged before a restart, on a bus the caller made for it: its task exists already, so no
   * task event is published; the run starts with its `working` status.
   */
  async resume(job: TaskJob, bus: ExecutionEventBus): Promise<void> {
    this.active.set(job.taskId, {
      contextId: job.contextId,
      owner: job.owner,
      finalizing: false,
      canceled: false,
    });
    try {
      // Without a plan: the run rebuilds it from the job (and ends the task if it no longer can).
      await this.runPlanned(bus, job, undefined, { owed: true });
    } finally {
      this.active.delete(job.taskId);
    }
  }

  /**
   * What a follow-up inherits: the task's metadata when it continues a task, else the skill of the context's
   * latest turn (so "and now add tests" in the same conversation stays on the same skill and backend).
   */
  async previousOf(ctx: RequestContext): Promise<Record<string, unknown> | undefined> {
    if (ctx.task?.metadata) return ctx.task.metadata;
    const skill = await this.deps.conversations.lastSkill(
      this.deps.ownerOf?.(ctx) ?? 'anonymous',
      ctx.contextId,
    );
    return skill ? { skill } : undefined;
  }

  cancelTask = async (taskId: string, bus: ExecutionEventBus): Promise<void> => {
    const entry = this.active.get(taskId);
    if (entry?.finalizing) return; // the terminal event is on its way; the SDK reports the final state
    if (this.deps.scheduler.cancel(taskId, 'canceled by request')) return;
    // Not in the scheduler yet (planning, or waiting for the conversation's previous turn): mark it so it never
    // starts, and end it now so the SDK's cancel never waits.
    if (entry) entry.canceled = true;
    const contextId = entry?.contextId ?? (await this.deps.store.get(taskId))?.contextId ?? '';
    bus.publish(
      AgentEvent.statusUpdate(
        statusUpdate(
          taskId,
          contextId,
          TaskState.TASK_STATE_CANCELED,
          agentMessage(taskId, contextId, [textPart('canceled by request')]),
        ),
      ),
    );
  };

  private publishTask(
    bus: ExecutionEventBus,
    existing: Task | undefined,
    taskId: string,
    contextId: string,
    message: Message,
    meta: Record<string, unknown>,
  ): void {
    const task: Task = existing
      ? { ...existing, metadata: { ...(existing.metadata ?? {}), ...meta } }
      : newTask(taskId, contextId, [message], meta);
    bus.publish(AgentEvent.task(task));
  }

  /**
   * Runs a job through the queue with the task run, publishing its events on the task's bus; forgets the job
   * once its task has ended (a job the gateway stopped before starting stays owed).
   */
  private async runPlanned(
    bus: ExecutionEventBus,
    job: TaskJob,
    plan: TaskPlan | undefined,
    place: { reservation?: Reservation; owed?: boolean },
  ): Promise<void> {
    const { taskId, contextId } = job;
    const logger = this.deps.logger.child({ taskId, contextId });
    const result = await this.deps.run.run(job, {
      ...(plan ? { plan } : {}),
      sink: (event) => this.publishRun(bus, taskId, contextId, event),
      slot: (body, { timeoutMs, onStart }) =>
        this.deps.scheduler.submit(taskId, timeoutMs, body, { onStart, ...place }),
      onStart: () => {
        void this.deps.jobs
          ?.setState(taskId, 'running')
          .catch((err: unknown) => logger.warn({ err }, 'could not record that the job started'));
      },
      canceled: () => this.active.get(taskId)?.canceled === true,
      askFor: (skill) => this.deps.inputRequests?.askFor(bus, taskId, contextId, skill),
    });
    if (!result.ended) return;
    await this.deps.jobs
      ?.remove(taskId)
      .catch((err: unknown) => logger.warn({ err }, 'could not remove the ended job'));
  }

  /**
   * Hands the job to a worker node through the queue on Redis, then publishes what the worker sends back. The job
   * is in Redis before the task is published (the caller's acknowledgement), so an acknowledged task always has
   * its job; a send Redis did not take creates a task that ends `failed` with the reason.
   */
  private async runRemote(
    bus: ExecutionEventBus,
    job: TaskJob,
    remote: RemoteJobs,
    reservation: Reservation | undefined,
    publishTask: () => void,
  ): Promise<void> {
    const { taskId, contextId } = job;
    const early: (RunEvent | RelayedQuestion)[] = [];
    let published = false;
    let ended = false;
    // Questions still open here end with the run (their worker has stopped waiting).
    const questionsEnd = new AbortController();
    const onRun = (event: RunEvent | RelayedQuestion): void => {
      if (ended) return;
      if (!published) {
        early.push(event);
        return;
      }
      if (event.type === 'question') {
        this.relayQuestion(bus, job, event, questionsEnd.signal);
        return;
      }
      if (event.type === 'finished') {
        ended = true;
        questionsEnd.abort(new RunAbort('canceled', 'the run ended'));
      }
      this.publishRun(bus, taskId, contextId, event);
    };
    const endWith = (err: unknown): void => {
      onRun({ type: 'finished', ...endOf(outcomeOfError(err), undefined, job.meta, {}, this.redact) });
    };
    let outcome: Promise<unknown>;
    try {
      ({ outcome } = await remote.submitJob(job, reservation ? { reservation } : {}, {
        onEvent: (data) => {
          const event = isRelayedQuestion(data) ? data : asRunEvent(data);
          if (event) onRun(event);
        },
      }));
    } catch (err) {
      this.deps.logger.warn({ err, taskId }, 'could not queue the task');
      publishTask();
      published = true;
      endWith(err);
      return;
    }
    publishTask();
    published = true;
    for (const event of early.splice(0)) onRun(event);
    try {
      const value = await outcome;
      // The worker's last event normally said how it ended; its return value says it again, in case it was lost.
      const end = asRunEvent(value);
      if (end?.type === 'finished') onRun(end);
      else if (!ended) endWith(new Error('the worker ended the task without a result'));
    } catch (err) {
      endWith(err);
    }
  }

  /** Asks the caller a remote run's question (`input-required`) and sends the answer back to the worker. */
  private relayQuestion(
    bus: ExecutionEventBus,
    job: TaskJob,
    relayed: RelayedQuestion,
    signal: AbortSignal,
  ): void {
    const logger = this.deps.logger.child({ taskId: job.taskId, questionId: relayed.id });
    const ask = this.deps.inputRequests?.askFor(bus, job.taskId, job.contextId, job.skill);
    const asked = ask
      ? ask(relayed.question, signal)
      : Promise.reject(new Error(`skill ${job.skill} may not ask (permissions is not "ask" on this node)`));
    void asked
      .then(
        (answer) => this.deps.questions?.reply(job.taskId, relayed.id, answer),
        (err: unknown) =>
          this.deps.questions?.reply(
            job.taskId,
            relayed.id,
            err instanceof Error ? err : new Error(String(err)),
          ),
      )
      .catch((err: unknown) => logger.warn({ err }, "could not send the answer to the run's worker"));
  }

  /**
   * Records the end of a task whose submitting node is gone (an orphaned job): the run's `finished` event, or
   * the error the job failed with, as A2A events on a bus the caller made for it.
   */
  publishOrphanEnd(bus: ExecutionEventBus, job: TaskJob, returnValue: unknown, error?: Error): void {
    const end = error ? undefined : asRunEvent(returnValue);
    const event: RunEvent =
      end?.type === 'finished'
        ? end
        : {
            type: 'finished',
            ...endOf(
              outcomeOfError(error ?? new Error('the worker ended the task without a result')),
              undefined,
              job.meta,
              {},
              this.redact,
            ),
          };
    for (const a2a of a2aEventsOf(job.taskId, job.contextId, event)) bus.publish(a2a);
  }

  /** A run event as A2A events on the task's bus; at the end, the task is marked finalizing first. */
  private publishRun(bus: ExecutionEventBus, taskId: string, contextId: string, event: RunEvent): void {
    if (event.type === 'finished') {
      const entry = this.active.get(taskId);
      if (entry) entry.finalizing = true;
    }
    for (const a2a of a2aEventsOf(taskId, contextId, event)) bus.publish(a2a);
  }

  private readonly redact = (text: string): string => (this.deps.redact ? this.deps.redact(text) : text);
}

/** A run event that came back from a worker (JSON from Redis): its shape checked before it is used. */
function asRunEvent(data: unknown): RunEvent | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const type = (data as { type?: unknown }).type;
  if (type === 'started' || type === 'progress' || type === 'finished') return data as RunEvent;
  return undefined;
}

/** The serializable job of a plan. */
function jobOf(
  plan: TaskPlan,
  ids: Pick<TaskJob, 'taskId' | 'contextId' | 'owner' | 'tenant' | 'request' | 'meta' | 'traceparent'>,
): TaskJob {
  return {
    ...ids,
    skill: plan.skill.id,
    backend: plan.backendName,
    input: plan.input,
    prompt: plan.prompt,
    ...(plan.workdir !== undefined ? { workdir: plan.workdir } : {}),
    timeoutMs: plan.timeoutMs,
    ...(plan.model !== undefined ? { model: plan.model } : {}),
    ...(plan.effort !== undefined ? { effort: plan.effort } : {}),
    workspace: plan.workspace,
  };
}
