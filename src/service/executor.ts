import { existsSync } from 'node:fs';
import { TaskState, type Message, type Task } from '@a2a-js/sdk';
import {
  AgentEvent,
  STATE_HEADERS_KEY,
  type AgentExecutor,
  type ExecutionEventBus,
  type RequestContext,
} from '@a2a-js/sdk/server';
import { RunAbort, type Backend, type BackendOutcome, type TaskSpec } from '../agents/types.js';
import type { Logger } from '../observability/logger.js';
import { traceIdOf, traceparentOfHeaders } from '../observability/trace-context.js';
import type { GatewayTaskStore } from '../stores/types.js';
import {
  agentMessage,
  artifactUpdate,
  dataPart,
  filePart,
  messageText,
  newTask,
  statusUpdate,
  textPart,
} from './a2a.js';
import type { Conversations } from './conversations.js';
import type { InputRequests } from './input-required.js';
import type { TaskPlan, TaskPlanner } from './planner.js';
import { ProgressReporter, type RunRecord } from './progress.js';
import {
  QueueFullError,
  SchedulerClosedError,
  type Reservation,
  type TaskQueue,
} from '../queue/task-queue.js';
import { takeAdmitted } from './admission.js';
import type { TaskJob } from '../queue/job.js';
import type { JobStore } from '../queue/job-store.js';
import {
  DEPLOYMENT_SKILLS,
  GENERATION_SKILLS,
  changedFilesList,
  parseReviewComments,
  readGeneratedFiles,
  validateGenerated,
  type GeneratedFile,
} from './results.js';
import type { TaskWorkspace, Workspaces } from './workspaces.js';
import type { ReviewComment } from '../skills/review-skill.js';
import { WorkspaceError, type Changes } from '../workspace/index.js';

export interface ExecutorDeps {
  planner: TaskPlanner;
  /** Where tasks wait for a slot and run. */
  scheduler: TaskQueue;
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
  /** Worktrees, copies and snapshots: where each task works, and what becomes of its change. */
  workspaces: Workspaces;
  /** Use the template backend for deployment files when the skill's coding agent is not installed. */
  templateFallback?: boolean;
  /** Questions from backends as `input-required`, and the replies that resume them (skills that may ask). */
  inputRequests?: InputRequests;
  /** Where acknowledged jobs are kept until their task ends, so a restart knows what is still owed. */
  jobs?: JobStore;
  /** The tenant of a call (the task's scope), kept with its job. */
  tenantOf?: (ctx: RequestContext) => string;
}

/** What a run's workspace produced, for the result artifacts. */
interface RunExtras {
  changes?: Changes;
  files?: GeneratedFile[];
  review?: { comments: ReviewComment[]; error?: string };
  workspace?: Record<string, unknown>;
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
      let plan: TaskPlan;
      try {
        plan = this.deps.planner.planOf(job);
      } catch (err) {
        this.finish(bus, job.taskId, job.contextId, outcomeOfError(err), undefined, job.meta);
        await this.deps.jobs?.remove(job.taskId);
        return;
      }
      await this.runPlanned(bus, job, plan, { owed: true });
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
   * The directory a turn is about: the caller's workdir; else the one the conversation used before (a follow-up
   * that names none stays on the same project); else none (the conversation's scratch directory).
   */
  private originFor(plan: TaskPlan, previous: string | undefined): string | undefined {
    if (plan.workdir) return plan.workdir;
    if (previous && existsSync(previous)) return previous;
    return undefined;
  }

  /** The skill's backend, or the template backend for deployment files when the skill's CLI is not installed. */
  private async chooseBackend(plan: TaskPlan): Promise<{
    backend: Backend | undefined;
    name: string;
    fallbackFrom?: string;
    unavailable?: BackendOutcome;
  }> {
    const backend = this.deps.backends.get(plan.backendName);
    const unavailable = await backend?.unavailable?.(plan.skill.id);
    if (!backend || !unavailable) return { backend, name: plan.backendName };
    const template = [...this.deps.backends.values()].find((b) => b.type === 'template');
    if (!this.deps.templateFallback || !DEPLOYMENT_SKILLS.has(plan.skill.id) || !template) {
      return { backend, name: plan.backendName, unavailable };
    }
    return { backend: template, name: template.name, fallbackFrom: plan.backendName };
  }

  private async runPlanned(
    bus: ExecutionEventBus,
    job: TaskJob,
    plan: TaskPlan,
    place: { reservation?: Reservation; owed?: boolean },
  ): Promise<void> {
    const { taskId, contextId, request } = job;
    let meta: Record<string, string> = job.meta;
    const logger = this.deps.logger.child({
      taskId,
      contextId,
      skill: plan.skill.id,
      backend: plan.backendName,
      ...(job.traceparent ? { traceId: traceIdOf(job.traceparent) } : {}),
    });
    const chosen = await this.chooseBackend(plan);
    const backend = chosen.backend;
    const backendName = chosen.name;
    if (chosen.fallbackFrom) {
      meta = { ...meta, backend: backendName, fallbackFrom: chosen.fallbackFrom };
      logger.info(
        { fallbackFrom: chosen.fallbackFrom },
        "the skill's CLI is not installed: using the template backend",
      );
    }
    const startedAt = Date.now();
    const progress = new ProgressReporter({
      taskId,
      contextId,
      logger,
      ...(this.deps.redact ? { redact: this.deps.redact } : {}),
      publish: (event) => bus.publish(AgentEvent.statusUpdate(event)),
      ...(this.deps.progressCoalesceMs !== undefined ? { coalesceMs: this.deps.progressCoalesceMs } : {}),
    });
    let outcome: BackendOutcome | undefined;
    let extras: RunExtras = {};
    const owner = job.owner;
    let started = false;
    const turn = await this.deps.conversations.begin(owner, contextId, backendName);
    try {
      if (!backend) throw new Error(`backend "${backendName}" is not configured`);
      if (this.active.get(taskId)?.canceled) throw new RunAbort('canceled', 'canceled by request');
      const onStart = (): void => {
        started = true;
        void this.deps.jobs
          ?.setState(taskId, 'running')
          .catch((err: unknown) => logger.warn({ err }, 'could not record that the job started'));
      };
      outcome = await this.deps.scheduler.submit(
        taskId,
        plan.timeoutMs,
        async (signal) => {
          logger.info({ timeoutMs: plan.timeoutMs }, 'task started');
          bus.publish(
            AgentEvent.statusUpdate(
              statusUpdate(
                taskId,
                contextId,
                TaskState.TASK_STATE_WORKING,
                agentMessage(taskId, contextId, [textPart(`running ${plan.skill.id} with ${backendName}`)], {
                  event: 'started',
                }),
              ),
            ),
          );
          // A CLI that is not installed fails at once, before any workspace is made.
          if (chosen.unavailable) return chosen.unavailable;
          const origin = this.originFor(plan, turn.previousWorkdir);
          let ws: TaskWorkspace;
          try {
            ws = await this.deps.workspaces.prepare({
              owner,
              contextId,
              taskId,
              skill: plan.skill.id,
              readOnly: plan.skill.readOnly,
              workdir: origin,
              scratch: this.deps.conversations.scratchOf(owner, contextId),
              baseRef: plan.workspace.baseRef,
              commit: plan.workspace.commit,
              signal,
            });
          } catch (err) {
            if (signal.aborted) throw signal.reason;
            if (err instanceof WorkspaceError) {
              return { status: 'failed', summary: '', reason: `workspace: ${err.message}` };
            }
            throw err;
          }
          try {
            const replay = backend.resume === 'replay' && !turn.firstTurn;
            const spec: TaskSpec = {
              taskId,
              contextId,
              skill: plan.skill.id,
              prompt: replay
                ? await this.deps.conversations.replayPrompt(owner, contextId, plan.prompt)
                : plan.prompt,
              input: plan.input,
              workdir: ws.cwd,
              timeoutMs: plan.timeoutMs,
              ...(plan.model ? { model: plan.model } : {}),
              ...(plan.effort ? { effort: plan.effort } : {}),
              ...(backend.resume === 'native' && turn.resumeSessionId
                ? { resumeSessionId: turn.resumeSessionId }
                : {}),
              ...(job.traceparent ? { traceparent: job.traceparent } : {}),
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
            // Remembered for the context's next turn: the session to resume, the project it works on, the skill.
            await this.deps.conversations.remember(owner, contextId, backendName, {
              sessionId: result.sessionId ?? progress.record.sessionId,
              workdir: origin,
              request: request,
              summary: result.summary || result.reason || '',
              skill: plan.skill.id,
            });
            try {
              const settled = await this.settle(ws, plan, taskId, contextId, request, result, progress);
              extras = settled.extras;
              return settled.outcome;
            } catch (err) {
              if (!(err instanceof WorkspaceError) || signal.aborted) throw err;
              // The run finished, but its change could not be read or recorded (a diff over the size limit, say).
              return { ...result, status: 'failed', reason: `workspace: ${err.message}` };
            }
          } finally {
            // The run has ended and its process group is gone: the workspace can go.
            await ws.dispose().catch((err: unknown) => logger.warn({ err }, 'workspace cleanup failed'));
          }
        },
        { onStart, ...place },
      );
    } catch (err) {
      // Stopped by a shutdown before it started: the job stays owed and runs at the next start.
      if (!started && isShutdown(err)) outcome = undefined;
      else {
        outcome = outcomeOfError(err);
        if (!(err instanceof RunAbort)) logger.error({ err }, 'task could not run');
      }
    } finally {
      progress.close();
      await turn
        .release()
        .catch((err: unknown) => logger.warn({ err }, 'could not release the conversation'));
    }
    if (!outcome) {
      logger.info('the gateway stops before the task could start: it runs at the next start');
      return;
    }
    const durationMs = Date.now() - startedAt;
    logger.info({ status: outcome.status, durationMs, reason: outcome.reason }, 'task ended');
    this.finish(bus, taskId, contextId, outcome, progress.record, { ...meta, durationMs }, extras);
    await this.deps.jobs
      ?.remove(taskId)
      .catch((err: unknown) => logger.warn({ err }, 'could not remove the ended job'));
    this.deps.onFinished?.({
      taskId,
      skill: plan.skill.id,
      backend: backendName,
      status: outcome.status,
      durationMs,
    });
  }

  /**
   * After a completed run: reads what changed, checks generated files, records the change (commit, conversation
   * ref) and applies it when asked. A check or an apply that fails turns the task into a failure with the reason.
   */
  private async settle(
    ws: TaskWorkspace,
    plan: TaskPlan,
    taskId: string,
    contextId: string,
    request: string,
    result: BackendOutcome,
    progress: ProgressReporter,
  ): Promise<{ outcome: BackendOutcome; extras: RunExtras }> {
    if (result.status !== 'completed') return { outcome: result, extras: {} };
    const skill = plan.skill.id;
    const changes = await ws.collect();
    const workspace: Record<string, unknown> = { kind: ws.kind, ...(ws.base ? { base: ws.base } : {}) };
    if (plan.skill.readOnly) {
      const answer = result.summary || progress.record.lastResult || '';
      return {
        outcome: result,
        extras: {
          review: parseReviewComments(answer),
          workspace: { ...workspace, discardedChanges: changes.files.length },
        },
      };
    }
    const files = GENERATION_SKILLS.has(skill) ? await readGeneratedFiles(changes, ws.root) : [];
    const invalid = DEPLOYMENT_SKILLS.has(skill) ? validateGenerated(skill, files) : undefined;
    if (invalid) {
      return {
        outcome: {
          ...result,
          status: 'failed',
          reason: `the generated files failed their check: ${invalid}`,
        },
        extras: { changes, workspace },
      };
    }
    const firstLine =
      request
        .split('\n')
        .find((l) => l.trim() !== '')
        ?.trim() ?? skill;
    const title = firstLine.length > 72 ? `${firstLine.slice(0, 71)}…` : firstLine;
    const redact = this.deps.redact ?? ((t: string) => t);
    const message = redact(
      `${skill}: ${title}\n\nMade by a2a-gateway, task ${taskId} (context ${contextId}), backend ${plan.backendName}.`,
    );
    const kept = await ws.keep({ message, keepBranch: plan.workspace.commit });
    Object.assign(workspace, kept);
    const extras: RunExtras = { changes, files, workspace };
    if (plan.workspace.apply) {
      const applied = await ws.apply(changes);
      workspace.applied = applied.ok;
      if (!applied.ok) {
        return {
          outcome: { ...result, status: 'failed', reason: `apply refused: ${applied.reason}` },
          extras,
        };
      }
    }
    return { outcome: result, extras };
  }

  /**
   * Publishes the result artifacts (on success: the summary with the run details, the diff, the generated files)
   * and the terminal status, with usage in the task metadata.
   */
  private finish(
    bus: ExecutionEventBus,
    taskId: string,
    contextId: string,
    outcome: BackendOutcome,
    record: RunRecord | undefined,
    meta: Record<string, unknown>,
    extras: RunExtras = {},
  ): void {
    const entry = this.active.get(taskId);
    if (entry) entry.finalizing = true;
    const usage = outcome.usage ?? record?.usage;
    const changedFiles = extras.changes
      ? changedFilesList(extras.changes.files)
      : record
        ? [...record.changedFiles.entries()].map(([path, kind]) => ({ path, kind }))
        : [];
    const details = {
      ...meta,
      status: outcome.status,
      ...(usage ? { usage } : {}),
      ...(changedFiles.length > 0 ? { changedFiles } : {}),
      ...(extras.workspace ? { workspace: extras.workspace } : {}),
      ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
      ...(outcome.errorKind ? { errorKind: outcome.errorKind } : {}),
    };
    const redact = this.deps.redact ?? ((t: string) => t);
    const summary = redact(outcome.summary || record?.lastResult || '');
    if (outcome.status === 'completed') {
      const parts = [textPart(summary || '(the agent produced no output)'), dataPart(details)];
      if (extras.review)
        parts.push(
          dataPart(
            {
              comments: extras.review.comments,
              ...(extras.review.error ? { error: extras.review.error } : {}),
            },
            { kind: 'review' },
          ),
        );
      bus.publish(
        AgentEvent.artifactUpdate(
          artifactUpdate(taskId, contextId, {
            artifactId: `${taskId}-result`,
            name: 'result',
            description: 'The agent summary of what it did, and the run details (usage, changed files).',
            parts,
          }),
        ),
      );
      if (extras.changes && extras.changes.diff !== '') {
        bus.publish(
          AgentEvent.artifactUpdate(
            artifactUpdate(taskId, contextId, {
              artifactId: `${taskId}-diff`,
              name: 'diff',
              description: 'The unified diff of every file the task changed (git apply takes it).',
              parts: [filePart(redact(extras.changes.diff), 'text/x-diff', 'changes.diff')],
            }),
          ),
        );
      }
      for (const [i, file] of (extras.files ?? []).entries()) {
        bus.publish(
          AgentEvent.artifactUpdate(
            artifactUpdate(taskId, contextId, {
              artifactId: `${taskId}-file-${i + 1}`,
              name: file.path,
              description: `A file the task wrote: ${file.path}`,
              parts: [filePart(redact(file.text), file.mediaType, file.path)],
            }),
          ),
        );
      }
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

function isShutdown(err: unknown): boolean {
  return err instanceof SchedulerClosedError || (err instanceof RunAbort && err.kind === 'shutdown');
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
