import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { TaskState, type Message, type Task } from '@a2a-js/sdk';
import {
  AgentEvent,
  type AgentExecutor,
  type ExecutionEventBus,
  type RequestContext,
} from '@a2a-js/sdk/server';
import { RunAbort, type Backend, type BackendOutcome, type TaskSpec } from '../agents/types.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayTaskStore } from '../stores/types.js';
import {
  agentMessage,
  artifactUpdate,
  dataPart,
  messageText,
  newTask,
  statusUpdate,
  textPart,
} from './a2a.js';
import type { Conversations } from './conversations.js';
import type { InputRequests } from './input-required.js';
import type { TaskPlan, TaskPlanner } from './planner.js';
import { ProgressReporter, type RunRecord } from './progress.js';
import { QueueFullError, SchedulerClosedError, type Scheduler } from './scheduler.js';

export interface ExecutorDeps {
  planner: TaskPlanner;
  scheduler: Scheduler;
  backends: ReadonlyMap<string, Backend>;
  store: GatewayTaskStore;
  logger: Logger;
  /** Per-conversation homes, sessions, locks and scratch workspaces. */
  conversations: Conversations;
  /** Notified when a task reaches a terminal state (metrics, push). */
  onFinished?: (info: FinishedInfo) => void;
  progressCoalesceMs?: number;
  /** Who a call belongs to (the key's id), for per-key limits. */
  ownerOf?: (ctx: RequestContext) => string;
  /** Masks known secrets in text the task returns (progress, summary, reasons). */
  redact?: (text: string) => string;
  /** Questions from backends as `input-required`, and the replies that resume them (skills that may ask). */
  inputRequests?: InputRequests;
}

export interface FinishedInfo {
  taskId: string;
  skill: string;
  backend: string;
  status: BackendOutcome['status'];
  durationMs: number;
}

const STATE_OF: Record<BackendOutcome['status'], TaskState> = {
  completed: TaskState.TASK_STATE_COMPLETED,
  failed: TaskState.TASK_STATE_FAILED,
  canceled: TaskState.TASK_STATE_CANCELED,
};

/** The outcome when the run never reached the backend (canceled in the queue, refused, internal error). */
function outcomeOfError(err: unknown): BackendOutcome {
  if (err instanceof RunAbort) {
    return { status: err.kind === 'canceled' ? 'canceled' : 'failed', summary: '', reason: err.message };
  }
  if (err instanceof QueueFullError || err instanceof SchedulerClosedError) {
    return { status: 'failed', summary: '', reason: err.message };
  }
  return {
    status: 'failed',
    summary: '',
    reason: `internal error: ${err instanceof Error ? err.message : String(err)}`,
  };
}

/**
 * The gateway's AgentExecutor: plans the request, publishes the task, waits for a slot in the scheduler, runs the
 * backend, streams its progress, and ends the task with an artifact and a terminal status. `execute` settles only
 * when the task has ended, which is what keeps the SDK's event bus (and so its persistence) alive for the run.
 */
export class GatewayExecutor implements AgentExecutor {
  /** Tasks between planning and their terminal event; `finalizing` once the outcome is known. */
  /** Tasks between planning and their end: `canceled` once a cancel arrived before the run started. */
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
    // A reply to a question the task's run is waiting on resumes that run; no new run starts.
    if (await this.deps.inputRequests?.takeReply(ctx, bus)) return;
    const { taskId, contextId } = ctx;
    const message = ctx.userMessage;
    const previous = await this.previousOf(ctx);
    this.active.set(taskId, {
      contextId,
      owner: this.deps.ownerOf?.(ctx) ?? 'anonymous',
      finalizing: false,
      canceled: false,
    });
    try {
      let plan: TaskPlan;
      try {
        plan = await this.deps.planner.plan(message, ctx.request.metadata, previous);
      } catch (err) {
        // The edge refuses bad input before a task exists; this is the second line for anything that slips by.
        this.publishTask(bus, ctx.task, taskId, contextId, message, {});
        this.finish(bus, taskId, contextId, outcomeOfError(err), undefined, {});
        return;
      }
      // Remembered so tasks/get can answer in the dialect (0.1) the task was created in.
      const dialect: unknown = message.metadata?.dialect;
      const meta = {
        skill: plan.skill.id,
        backend: plan.backendName,
        ...(typeof dialect === 'string' ? { dialect } : {}),
      };
      this.publishTask(bus, ctx.task, taskId, contextId, message, meta);
      // What the caller asked, in words, for backends that replay earlier turns.
      const main = plan.input[plan.skill.mainField];
      const request = typeof main === 'string' ? main : messageText(message) || JSON.stringify(plan.input);
      await this.runPlanned(bus, taskId, contextId, plan, meta, request);
    } finally {
      this.active.delete(taskId);
    }
  };

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
   * The directory a turn works in: the caller's workdir; else the one the conversation used before (a resumed CLI
   * session is tied to it); else the conversation's scratch workspace.
   */
  private async workdirFor(
    owner: string,
    contextId: string,
    plan: TaskPlan,
    previous: string | undefined,
  ): Promise<string> {
    if (plan.workdir) return plan.workdir;
    if (previous && existsSync(previous)) return previous;
    const scratch = this.deps.conversations.scratchOf(owner, contextId);
    await mkdir(scratch, { recursive: true });
    return scratch;
  }

  private async runPlanned(
    bus: ExecutionEventBus,
    taskId: string,
    contextId: string,
    plan: TaskPlan,
    meta: Record<string, string>,
    request: string,
  ): Promise<void> {
    const logger = this.deps.logger.child({
      taskId,
      contextId,
      skill: plan.skill.id,
      backend: plan.backendName,
    });
    const backend = this.deps.backends.get(plan.backendName);
    const started = Date.now();
    const progress = new ProgressReporter({
      taskId,
      contextId,
      logger,
      ...(this.deps.redact ? { redact: this.deps.redact } : {}),
      publish: (event) => bus.publish(AgentEvent.statusUpdate(event)),
      ...(this.deps.progressCoalesceMs !== undefined ? { coalesceMs: this.deps.progressCoalesceMs } : {}),
    });
    let outcome: BackendOutcome;
    const owner = this.active.get(taskId)?.owner ?? 'anonymous';
    const turn = await this.deps.conversations.begin(owner, contextId, plan.backendName);
    try {
      if (!backend) throw new Error(`backend "${plan.backendName}" is not configured`);
      if (this.active.get(taskId)?.canceled) throw new RunAbort('canceled', 'canceled by request');
      outcome = await this.deps.scheduler.submit(taskId, plan.timeoutMs, async (signal) => {
        logger.info({ timeoutMs: plan.timeoutMs }, 'task started');
        bus.publish(
          AgentEvent.statusUpdate(
            statusUpdate(
              taskId,
              contextId,
              TaskState.TASK_STATE_WORKING,
              agentMessage(
                taskId,
                contextId,
                [textPart(`running ${plan.skill.id} with ${plan.backendName}`)],
                {
                  event: 'started',
                },
              ),
            ),
          ),
        );
        const workdir = await this.workdirFor(owner, contextId, plan, turn.previousWorkdir);
        const replay = backend.resume === 'replay' && !turn.firstTurn;
        const spec: TaskSpec = {
          taskId,
          contextId,
          skill: plan.skill.id,
          prompt: replay
            ? await this.deps.conversations.replayPrompt(owner, contextId, plan.prompt)
            : plan.prompt,
          input: plan.input,
          workdir,
          timeoutMs: plan.timeoutMs,
          ...(plan.model ? { model: plan.model } : {}),
          ...(plan.effort ? { effort: plan.effort } : {}),
          ...(backend.resume === 'native' && turn.resumeSessionId
            ? { resumeSessionId: turn.resumeSessionId }
            : {}),
        };
        const ask = this.deps.inputRequests?.askFor(bus, taskId, contextId, plan.skill.id);
        const result = await backend.run({
          spec,
          signal,
          home: turn.home,
          firstTurn: turn.firstTurn,
          emit: (event) => progress.handle(event),
          ...(ask ? { ask } : {}),
        });
        const sessionId = result.sessionId ?? progress.record.sessionId;
        if (sessionId || backend.resume === 'replay') {
          await this.deps.conversations.remember(owner, contextId, plan.backendName, {
            sessionId,
            workdir,
            request: request,
            summary: result.summary || result.reason || '',
            skill: plan.skill.id,
          });
        }
        return result;
      });
    } catch (err) {
      outcome = outcomeOfError(err);
      if (!(err instanceof RunAbort)) logger.error({ err }, 'task could not run');
    } finally {
      progress.close();
      turn.release();
    }
    const durationMs = Date.now() - started;
    logger.info({ status: outcome.status, durationMs, reason: outcome.reason }, 'task ended');
    this.finish(bus, taskId, contextId, outcome, progress.record, { ...meta, durationMs });
    this.deps.onFinished?.({
      taskId,
      skill: plan.skill.id,
      backend: plan.backendName,
      status: outcome.status,
      durationMs,
    });
  }

  /** Publishes the result artifact (on success) and the terminal status, with usage in the task metadata. */
  private finish(
    bus: ExecutionEventBus,
    taskId: string,
    contextId: string,
    outcome: BackendOutcome,
    record: RunRecord | undefined,
    meta: Record<string, unknown>,
  ): void {
    const entry = this.active.get(taskId);
    if (entry) entry.finalizing = true;
    const usage = outcome.usage ?? record?.usage;
    const changedFiles = record
      ? [...record.changedFiles.entries()].map(([path, kind]) => ({ path, kind }))
      : [];
    const details = {
      ...meta,
      status: outcome.status,
      ...(usage ? { usage } : {}),
      ...(changedFiles.length > 0 ? { changedFiles } : {}),
      ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
      ...(outcome.errorKind ? { errorKind: outcome.errorKind } : {}),
    };
    const redact = this.deps.redact ?? ((t: string) => t);
    const summary = redact(outcome.summary || record?.lastResult || '');
    if (outcome.status === 'completed') {
      bus.publish(
        AgentEvent.artifactUpdate(
          artifactUpdate(taskId, contextId, {
            artifactId: `${taskId}-result`,
            name: 'result',
            description: 'The agent summary of what it did, and the run details (usage, changed files).',
            parts: [textPart(summary || '(the agent produced no output)'), dataPart(details)],
          }),
        ),
      );
    }
    const text =
      outcome.status === 'completed'
        ? summary || '(the agent produced no output)'
        : redact(outcome.reason ?? (outcome.status === 'canceled' ? 'canceled' : 'failed'));
    bus.publish(
      AgentEvent.statusUpdate(
        statusUpdate(
          taskId,
          contextId,
          STATE_OF[outcome.status],
          agentMessage(taskId, contextId, [textPart(text)], { event: outcome.status }),
          details,
        ),
      ),
    );
  }
}
