import { existsSync } from 'node:fs';
import { RunAbort, type Backend, type BackendOutcome, type TaskSpec } from '../agents/types.js';
import type { Logger } from '../observability/logger.js';
import { traceIdOf } from '../observability/trace-context.js';
import type { TaskJob } from '../queue/job.js';
import { QueueFullError, SchedulerClosedError } from '../queue/task-queue.js';
import type { ConversationTurn, Conversations } from '../service/conversations.js';
import type { TaskPlan, TaskPlanner } from '../service/planner.js';
import type { TaskWorkspace, Workspaces } from '../service/workspaces.js';
import { WorkspaceError } from '../workspace/index.js';
import { ProgressReporter } from './progress.js';
import type { Ask, RunEvent, RunObserver, RunSink } from './run-events.js';
import { endOf, settle, type RunExtras } from './settle.js';
import { publish } from './publish.js';
import type { ProcessRunner } from '../runner/types.js';
import { verifyPolicyOf } from '../verify/policy.js';
import type { TestReport } from '../verify/report.js';
import { runTests } from '../verify/run-tests.js';
import type { UsageLimits } from '../agents/usage-limit.js';
import { runWithinLimits } from './usage-pause.js';
import { verifiedRun, type AgentTurn } from '../verify/verified-run.js';

export interface TaskRunDeps {
  /** Rebuilds the plan of a job that comes without one (a worker's job, a job resumed after a restart). */
  planner: Pick<TaskPlanner, 'planOf'>;
  backends: ReadonlyMap<string, Backend>;
  /** Per-conversation homes, sessions, locks and scratch workspaces. */
  conversations: Conversations;
  /** Worktrees, copies and snapshots: where each task works, and what becomes of its change. */
  workspaces: Workspaces;
  logger: Logger;
  /** Masks known secrets in text the task returns (progress, summary, reasons, diff, files). */
  redact?: (text: string) => string;
  /** Use the template backend for deployment files when the skill's coding agent is not installed. */
  templateFallback?: boolean;
  progressCoalesceMs?: number;
  /** See every run's events after its sink (metrics, logs). */
  observers?: readonly RunObserver[];
  /**
   * The environment the gateway's own test runs, pushes and gh start from (each filters it through its
   * allowlist). Absent: nothing of the gateway's environment passes.
   */
  toolEnv?: Readonly<Record<string, string | undefined>>;
  /** The runner test commands go through (the sandboxed task runner); plain spawn when absent. */
  testRunner?: ProcessRunner;
  /** The accounts' usage limits, shared by every task of the process; absent: a limit fails the task. */
  usageLimits?: UsageLimits;
}

/** What a CLI session resumed after a usage-limit pause is told. */
const RESUME_PROMPT = 'The usage limit has reset. Continue the task where you stopped.';

/**
 * Runs `body` once the job has a place to run, with the signal that bounds it (its `timeoutMs` deadline, a cancel,
 * a shutdown); calls `onStart` as it starts.
 */
export type RunSlot = <T>(
  body: (signal: AbortSignal) => Promise<T>,
  opts: { timeoutMs: number; onStart: () => void },
) => Promise<T>;

export interface RunOptions {
  /** Where the run's events go, in order. */
  sink: RunSink;
  /** The job's plan when the caller has it (admission planned it); else it is rebuilt from the job. */
  plan?: TaskPlan;
  /**
   * The signal of a run that already has its slot (a worker node's job). Ignored when `slot` is given; without
   * either, the run is bounded by nothing but the backend's own deadline.
   */
  signal?: AbortSignal;
  /**
   * Gets the run a slot after the conversation's previous turn has ended (the in-process queue), so that
   * waiting for the turn neither holds a slot nor counts against the deadline.
   */
  slot?: RunSlot;
  /** Called when the run gets its slot and starts. */
  onStart?: () => void;
  /** A cancel that arrived before the run started (while it waited for its conversation's turn). */
  canceled?: () => boolean;
  /** How the backend's questions for this skill reach the caller; undefined: the skill may not ask. */
  askFor?: (skill: string) => Ask | undefined;
}

/** What became of a run. */
export interface RunResult {
  /** False when the gateway stopped before the run could start: the job is still owed (no event said it ended). */
  ended: boolean;
}

/** The outcome when the run never reached the backend (canceled in the queue, refused, internal error). */
export function outcomeOfError(err: unknown): BackendOutcome {
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

function isShutdown(err: unknown): boolean {
  return err instanceof SchedulerClosedError || (err instanceof RunAbort && err.kind === 'shutdown');
}

/**
 * The task run, protocol-free: a {@link TaskJob} in, domain {@link RunEvent}s out. It binds the conversation,
 * falls back to the template backend where allowed, prepares the workspace, runs the backend, remembers the turn,
 * settles the result (checks, commit, apply) and reports the end. It knows no HTTP and no A2A: the A2A executor
 * maps its events to status and artifact updates, and a worker node calls {@link run} with a job and a signal.
 */
export class TaskRun {
  constructor(private readonly deps: TaskRunDeps) {}

  async run(job: TaskJob, opts: RunOptions): Promise<RunResult> {
    const emit = this.emitter(job, opts.sink);
    let plan = opts.plan;
    if (!plan) {
      try {
        plan = this.deps.planner.planOf(job);
      } catch (err) {
        // The job names a skill or backend this gateway no longer has.
        emit({ type: 'finished', ...endOf(outcomeOfError(err), undefined, job.meta, {}, this.redact) });
        return { ended: true };
      }
    }
    return this.runPlanned(job, plan, opts, emit);
  }

  private async runPlanned(
    job: TaskJob,
    plan: TaskPlan,
    opts: RunOptions,
    emit: RunSink,
  ): Promise<RunResult> {
    const { taskId, contextId, owner } = job;
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
      logger,
      redact: this.redact,
      publish: ({ text, metadata }) => emit({ type: 'progress', text, metadata }),
      ...(this.deps.progressCoalesceMs !== undefined ? { coalesceMs: this.deps.progressCoalesceMs } : {}),
    });
    let outcome: BackendOutcome | undefined;
    let extras: RunExtras = {};
    let started = false;
    const turn = await this.deps.conversations.begin(owner, contextId, backendName);
    try {
      if (!backend) throw new Error(`backend "${backendName}" is not configured`);
      if (opts.canceled?.()) throw new RunAbort('canceled', 'canceled by request');
      const onStart = (): void => {
        started = true;
        opts.onStart?.();
      };
      const body = async (signal: AbortSignal): Promise<BackendOutcome> => {
        logger.info({ timeoutMs: plan.timeoutMs }, 'task started');
        emit({ type: 'started', text: `running ${plan.skill.id} with ${backendName}` });
        // A CLI that is not installed fails at once, before any workspace is made.
        if (chosen.unavailable) return chosen.unavailable;
        const ran = await this.inWorkspace(
          job,
          plan,
          { backend, name: backendName },
          turn,
          signal,
          progress,
          logger,
          opts,
        );
        extras = ran.extras;
        return ran.outcome;
      };
      if (opts.slot) outcome = await opts.slot(body, { timeoutMs: plan.timeoutMs, onStart });
      else {
        onStart();
        outcome = await body(opts.signal ?? new AbortController().signal);
      }
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
      return { ended: false };
    }
    const durationMs = Date.now() - startedAt;
    logger.info({ status: outcome.status, durationMs, reason: outcome.reason }, 'task ended');
    emit({
      type: 'finished',
      ...endOf(outcome, progress.record, { ...meta, durationMs }, extras, this.redact),
    });
    return { ended: true };
  }

  /** The run proper, in its slot: the workspace, the backend, the turn remembered, the result settled. */
  private async inWorkspace(
    job: TaskJob,
    plan: TaskPlan,
    { backend, name: backendName }: { backend: Backend; name: string },
    turn: ConversationTurn,
    signal: AbortSignal,
    progress: ProgressReporter,
    logger: Logger,
    opts: RunOptions,
  ): Promise<{ outcome: BackendOutcome; extras: RunExtras }> {
    const { taskId, contextId, owner, request } = job;
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
        onProgress: (line) => progress.setupLine(line),
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (err instanceof WorkspaceError) {
        return {
          outcome: { status: 'failed', summary: '', reason: `workspace: ${err.message}` },
          extras: {},
        };
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
      const ask = opts.askFor?.(plan.skill.id);
      // One backend turn within the account's usage limit: paused (the task stays `working`) until a reset within
      // USAGE_LIMIT_WAIT_MAX, then run again, resuming the CLI's session where it can.
      const callBackend = (turnSpec: TaskSpec, firstTurn: boolean): Promise<BackendOutcome> =>
        runWithinLimits({
          limits: this.deps.usageLimits,
          account: backendName,
          signal,
          onPause: (untilMs) => {
            const until = new Date(untilMs).toISOString();
            logger.info({ until }, 'paused by the usage limit');
            progress.note(`paused by the ${backendName} usage limit until ${until}`, 'usage_limit', {
              until,
            });
          },
          run: (again) => {
            const sessionId = progress.record.sessionId;
            const resume = again && backend.resume === 'native' && sessionId !== undefined;
            return backend.run({
              spec: resume ? { ...turnSpec, prompt: RESUME_PROMPT, resumeSessionId: sessionId } : turnSpec,
              signal,
              home: turn.home,
              firstTurn: firstTurn && !resume,
              emit: (event) => progress.handle(event),
              ...(ask ? { ask } : {}),
            });
          },
        });
      const runAgent = (turnOf: AgentTurn): Promise<BackendOutcome> => {
        if (turnOf.prompt === undefined) return callBackend(spec, turn.firstTurn);
        // A fix attempt: the same session resumed with the failing output where the CLI can resume, else the
        // task's prompt again with it (the agent's earlier change is still in the workspace).
        const sessionId = turnOf.previous?.sessionId ?? progress.record.sessionId;
        const native = backend.resume === 'native' && sessionId !== undefined;
        const { resumeSessionId: _first, ...base } = spec;
        return callBackend(
          native
            ? { ...base, prompt: turnOf.prompt, resumeSessionId: sessionId }
            : { ...base, prompt: `${spec.prompt}\n\n${turnOf.prompt}` },
          false,
        );
      };
      // The gateway's own test run, before and after the agent, when the skill changes code and has a command.
      const policy = plan.skill.readOnly ? undefined : verifyPolicyOf(plan.input);
      let result: BackendOutcome;
      let report: TestReport | undefined;
      if (policy) {
        const verified = await verifiedRun({
          policy,
          runAgent,
          runTests: (phase) =>
            runTests({
              command: policy.command,
              cwd: ws.cwd,
              baseEnv: this.deps.toolEnv ?? {},
              home: turn.home,
              signal,
              ...(this.deps.testRunner ? { runner: this.deps.testRunner } : {}),
              label: `${taskId}:tests-${phase}`,
            }),
          onTests: (phase, run) =>
            logger.info(
              { phase, passed: run.passed, exitCode: run.exitCode, durationMs: run.durationMs },
              'test command ran',
            ),
        });
        result = verified.outcome;
        report = verified.report;
      } else result = await runAgent({ attempt: 0 });
      const withReport = (extras: RunExtras): RunExtras =>
        report ? { ...extras, testReport: report } : extras;
      // Remembered for the context's next turn: the session to resume, the project it works on, the skill.
      await this.deps.conversations.remember(owner, contextId, backendName, {
        sessionId: result.sessionId ?? progress.record.sessionId,
        workdir: origin,
        request,
        summary: result.summary || result.reason || '',
        skill: plan.skill.id,
      });
      try {
        const settled = await settle(ws, plan, job, result, progress.record, this.redact);
        const branch = settled.extras.workspace?.branch;
        const published = await publish({
          plan,
          job,
          outcome: settled.outcome,
          branch: typeof branch === 'string' ? branch : undefined,
          dir: ws.root,
          report,
          git: { env: this.deps.toolEnv ?? {}, signal },
          redact: this.redact,
        });
        const workspace = published.published.pushed
          ? { ...settled.extras.workspace, pushed: published.published.pushed }
          : settled.extras.workspace;
        return {
          outcome: published.outcome,
          extras: withReport({
            ...settled.extras,
            ...(workspace ? { workspace } : {}),
            ...(published.published.pullRequest ? { pullRequest: published.published.pullRequest } : {}),
          }),
        };
      } catch (err) {
        if (!(err instanceof WorkspaceError) || signal.aborted) throw err;
        // The run finished, but its change could not be read or recorded (a diff over the size limit, say).
        return {
          outcome: { ...result, status: 'failed', reason: `workspace: ${err.message}` },
          extras: withReport({}),
        };
      }
    } finally {
      // The run has ended and its process group is gone: the workspace can go.
      await ws.dispose().catch((err: unknown) => logger.warn({ err }, 'workspace cleanup failed'));
    }
  }

  /** The sink, then each observer (one that throws is skipped: it must not break the run). */
  private emitter(job: TaskJob, sink: RunSink): RunSink {
    const observers = this.deps.observers ?? [];
    return (event: RunEvent) => {
      sink(event);
      for (const observe of observers) {
        try {
          observe(job, event);
        } catch {
          // An observer's fault is its own.
        }
      }
    };
  }

  private readonly redact = (text: string): string => (this.deps.redact ? this.deps.redact(text) : text);

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
    if (!this.deps.templateFallback || plan.skill.deployment !== true || !template) {
      return { backend, name: plan.backendName, unavailable };
    }
    return { backend: template, name: template.name, fallbackFrom: plan.backendName };
  }
}
