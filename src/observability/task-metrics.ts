import { TaskState, type TaskStatusUpdateEvent } from '@a2a-js/sdk';
import type { TaskEventObserver } from '../events/event-bus.js';
import { BoundedLabel } from './labels.js';
import type { GatewayMetrics } from './metrics.js';

/** What the observer keeps about a task between its submission and its end. */
interface Tracked {
  skill: string;
  backend: string;
  submittedAt: number;
  startedAt: number | undefined;
  firstEventSeen: boolean;
}

const END_LABEL: Partial<Record<TaskState, string>> = {
  [TaskState.TASK_STATE_COMPLETED]: 'completed',
  [TaskState.TASK_STATE_FAILED]: 'failed',
  [TaskState.TASK_STATE_CANCELED]: 'canceled',
  [TaskState.TASK_STATE_REJECTED]: 'rejected',
};

/** Progress that shows the agent at work: what it says, the tools it calls, the questions it asks. */
const AGENT_EVENTS: ReadonlySet<unknown> = new Set(['text', 'tool_call', 'needs_input']);

const TOKEN_KINDS = [
  ['inputTokens', 'input'],
  ['outputTokens', 'output'],
  ['cacheReadTokens', 'cache_read'],
  ['cacheWriteTokens', 'cache_write'],
] as const;

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Turns the task event stream into metrics: submissions, queue wait, time to the agent's first event, tool calls,
 * questions, and at the end the status, the duration and the usage the run reported. It reads only what every
 * task event already carries (states, message metadata, the final status metadata), so it does not care which
 * code published the event.
 */
export class TaskMetrics {
  private readonly tracked = new Map<string, Tracked>();
  /** Tasks that ended lately: a second terminal event for one of them (a cancel racing the end) counts once. */
  private readonly ended = new Set<string>();
  private readonly skills = new BoundedLabel(64);
  private readonly backends = new BoundedLabel(64);
  private readonly tools = new BoundedLabel(100);
  private readonly models = new BoundedLabel(50);

  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly opts: { maxTracked?: number; now?: () => number } = {},
  ) {}

  /** The observer to register on the task event stream. */
  readonly observe: TaskEventObserver = (taskId, event) => {
    switch (event.kind) {
      case 'task': {
        const meta = record(event.data.metadata);
        this.begin(taskId, text(meta?.skill), text(meta?.backend));
        break;
      }
      case 'statusUpdate':
        this.status(taskId, event.data);
        break;
      case 'artifactUpdate':
      case 'message':
        break;
      default: {
        const never: never = event;
        return never;
      }
    }
  };

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private begin(taskId: string, skill: string | undefined, backend: string | undefined): void {
    const existing = this.tracked.get(taskId);
    if (existing) {
      // The same turn republished (a reply resuming a question): keep its clock, learn its labels.
      if (skill) existing.skill = this.skills.of(skill);
      if (backend) existing.backend = this.backends.of(backend);
      return;
    }
    this.ended.delete(taskId);
    const tracked: Tracked = {
      skill: this.skills.of(skill),
      backend: this.backends.of(backend),
      submittedAt: this.now(),
      startedAt: undefined,
      firstEventSeen: false,
    };
    this.tracked.set(taskId, tracked);
    if (this.tracked.size > (this.opts.maxTracked ?? 10_000)) {
      const oldest = this.tracked.keys().next().value;
      if (oldest !== undefined) this.tracked.delete(oldest);
    }
    this.metrics.tasksSubmitted.labels(tracked.skill, tracked.backend).inc();
  }

  private status(taskId: string, update: TaskStatusUpdateEvent): void {
    const state = update.status?.state;
    const kind: unknown = update.status?.message?.metadata?.event;
    const tracked = this.tracked.get(taskId);
    const now = this.now();
    if (state === TaskState.TASK_STATE_WORKING && tracked) {
      if (kind === 'started' && tracked.startedAt === undefined) {
        tracked.startedAt = now;
        this.metrics.queueWait.labels(tracked.skill).observe((now - tracked.submittedAt) / 1000);
      } else if (AGENT_EVENTS.has(kind) && tracked.startedAt !== undefined && !tracked.firstEventSeen) {
        tracked.firstEventSeen = true;
        this.metrics.firstEvent
          .labels(tracked.skill, tracked.backend)
          .observe((now - tracked.startedAt) / 1000);
      }
      if (kind === 'tool_call') {
        const tool = text(update.status?.message?.metadata?.tool);
        this.metrics.toolInvocations.labels(this.tools.of(tool), tracked.skill).inc();
      }
      return;
    }
    if (state === TaskState.TASK_STATE_INPUT_REQUIRED) {
      this.metrics.inputRequired.labels(tracked?.skill ?? 'unknown').inc();
      if (tracked && !tracked.firstEventSeen) tracked.firstEventSeen = true;
      return;
    }
    const end = state === undefined ? undefined : END_LABEL[state];
    if (!end || this.ended.has(taskId)) return;
    this.finish(taskId, end, update, tracked, now);
  }

  private finish(
    taskId: string,
    end: string,
    update: TaskStatusUpdateEvent,
    tracked: Tracked | undefined,
    now: number,
  ): void {
    this.tracked.delete(taskId);
    this.ended.add(taskId);
    if (this.ended.size > 1000) {
      const oldest = this.ended.values().next().value;
      if (oldest !== undefined) this.ended.delete(oldest);
    }
    const meta = record(update.metadata);
    const skill = text(meta?.skill) ? this.skills.of(text(meta?.skill)) : (tracked?.skill ?? 'unknown');
    // A deployment skill may have fallen back to the template backend: the metadata says which one ran.
    const backend = text(meta?.backend)
      ? this.backends.of(text(meta?.backend))
      : (tracked?.backend ?? 'unknown');
    const m = this.metrics;
    m.tasksTotal.labels(end).inc();
    if (end === 'completed') m.tasksCompleted.inc();
    if (end === 'failed') m.tasksFailed.inc();
    const durationMs =
      count(meta?.durationMs) ?? (tracked?.startedAt !== undefined ? now - tracked.startedAt : undefined);
    if (durationMs !== undefined) m.taskDuration.labels(skill, backend, end).observe(durationMs / 1000);
    const usage = record(meta?.usage);
    if (!usage) return;
    const model = this.models.of(text(usage.model));
    for (const [field, label] of TOKEN_KINDS) {
      const n = count(usage[field]);
      if (n) m.tokens.labels(backend, model, label).inc(n);
    }
    const cost = count(usage.costUsd);
    if (cost) m.cost.labels(backend, model).inc(cost);
  }
}
