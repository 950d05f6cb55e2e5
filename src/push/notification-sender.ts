import { Task, TaskState, type StreamResponse, type TaskPushNotificationConfig } from '@a2a-js/sdk';
import { V03PushNotificationSerializer } from '@a2a-js/sdk/compat/v0_3/server';
import {
  V1PushNotificationSerializer,
  type PushNotificationSender,
  type PushNotificationSerializer,
  type PushNotificationStore,
  type ServerCallContext,
} from '@a2a-js/sdk/server';
import { isTerminal } from '../stores/states.js';
import type { PushDispatcher, PushLogger } from './sender.js';

/** The legacy token header, as the SDK and A2A 0.3 name it. */
export const TOKEN_HEADER = 'X-A2A-Notification-Token';

/** What a task-end listener (e.g. the Slack summary) learns when a task reaches a terminal state. */
export interface TaskEnd {
  taskId: string;
  contextId: string;
  state: TaskState;
  /** `metadata.skill` of the task, when known. */
  skill?: string;
  /** The text of the terminal status message (the result summary, or the failure reason). */
  text?: string;
  /** The verdict of the gateway's own test run (`passed`, `failed`…), when the task had a test command. */
  testVerdict?: string;
  /** The pull request opened for the task's branch, when one was. */
  pullRequestUrl?: string;
}

/** The test verdict and pull request URL in a terminal event's run details (`tests.verdict`, `pullRequest`). */
function runOutcomeOf(...sources: unknown[]): Pick<TaskEnd, 'testVerdict' | 'pullRequestUrl'> {
  const found: Pick<TaskEnd, 'testVerdict' | 'pullRequestUrl'> = {};
  for (const source of sources) {
    if (typeof source !== 'object' || source === null) continue;
    const details = source as { tests?: { verdict?: unknown }; pullRequest?: unknown };
    if (found.testVerdict === undefined && typeof details.tests?.verdict === 'string')
      found.testVerdict = details.tests.verdict;
    if (found.pullRequestUrl === undefined && typeof details.pullRequest === 'string')
      found.pullRequestUrl = details.pullRequest;
  }
  return found;
}

/** Called once per task that ends; must not throw or block (queue work instead). */
export type TaskEndListener = (end: TaskEnd) => void;

/** Dependencies of {@link GatewayPushSender}. */
export interface GatewayPushSenderDeps {
  store: PushNotificationStore;
  dispatcher: PushDispatcher;
  logger: PushLogger;
  /** E.g. `slackNotifier(...)`; called for every task that ends, whether or not it has push configs. */
  onTaskEnd?: readonly TaskEndListener[];
}

/** Task ids already announced as ended, so a second terminal event does not announce again. */
const ENDED_MEMORY = 1000;

/**
 * The SDK's `PushNotificationSender`, handing every event of a task to the {@link PushDispatcher} for each of the
 * task's configs, with the body of the version the config was registered with (the SDK's own serializers: 1.0
 * `StreamResponse` JSON as `application/a2a+json`; 0.3 bare Task/event as `application/json`) and the config's
 * credentials. `send` resolves once the jobs are queued; delivery runs in the background.
 */
export class GatewayPushSender implements PushNotificationSender {
  private readonly serializers: ReadonlyMap<string, PushNotificationSerializer> = new Map<
    string,
    PushNotificationSerializer
  >([
    ['1.0', new V1PushNotificationSerializer()],
    ['0.3', new V03PushNotificationSerializer()],
  ]);
  /** Per task, the previous `send`: configs load asynchronously, and the jobs must be queued in event order. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly ended = new Set<string>();

  constructor(private readonly deps: GatewayPushSenderDeps) {}

  send(streamResponse: StreamResponse, context: ServerCallContext, task?: Task): Promise<void> {
    const taskId = taskIdOf(streamResponse);
    if (!taskId) return Promise.resolve();
    this.announceEnd(streamResponse, task);
    // The SDK passes its live task (also as a `task` payload) and mutates it with the next event; copy before
    // any await, so each notification shows the task as it was at its own event.
    const snapshot = task ? copyTask(task) : undefined;
    const payload = streamResponse.payload;
    const event: StreamResponse =
      payload?.$case === 'task'
        ? { payload: { $case: 'task', value: copyTask(payload.value) } }
        : streamResponse;
    const previous = this.chains.get(taskId) ?? Promise.resolve();
    const next = previous.then(() => this.queueAll(taskId, event, context, snapshot));
    this.chains.set(taskId, next);
    void next.finally(() => {
      if (this.chains.get(taskId) === next) this.chains.delete(taskId);
    });
    return next;
  }

  private async queueAll(
    taskId: string,
    streamResponse: StreamResponse,
    context: ServerCallContext,
    task: Task | undefined,
  ): Promise<void> {
    try {
      const stored = this.deps.store.loadWithMetadata
        ? await this.deps.store.loadWithMetadata(taskId, context)
        : (await this.deps.store.load(taskId, context)).map((config) => ({
            config,
            wireVersion: context.requestedVersion || '0.3',
          }));
      const important = isTerminalEvent(streamResponse);
      for (const { config, wireVersion } of stored) {
        // An unknown version gets 1.0, the current protocol, as in the SDK's own sender.
        const serializer = this.serializers.get(wireVersion) ?? this.serializers.get('1.0');
        if (!serializer) continue;
        const { body, contentType } = serializer.serialize(streamResponse, task);
        this.deps.dispatcher.enqueue({
          queueKey: `${taskId}\u0000${config.id}`,
          taskId,
          configId: config.id,
          url: config.url,
          body,
          contentType,
          headers: credentialHeaders(config),
          important,
        });
      }
    } catch (error) {
      this.deps.logger.warn({ taskId, error: (error as Error).message }, 'push notification not queued');
    }
  }

  private announceEnd(streamResponse: StreamResponse, task: Task | undefined): void {
    const listeners = this.deps.onTaskEnd ?? [];
    const end = taskEndOf(streamResponse, task);
    if (listeners.length === 0 || !end || this.ended.has(end.taskId)) return;
    this.ended.add(end.taskId);
    if (this.ended.size > ENDED_MEMORY) {
      const oldest = this.ended.values().next();
      if (!oldest.done) this.ended.delete(oldest.value);
    }
    for (const listener of listeners) {
      try {
        listener(end);
      } catch (error) {
        this.deps.logger.warn(
          { taskId: end.taskId, error: (error as Error).message },
          'task-end listener failed',
        );
      }
    }
  }
}

/** `Authorization: <scheme> <credentials>` from `authentication`, and the token in {@link TOKEN_HEADER}. */
export function credentialHeaders(config: TaskPushNotificationConfig): Record<string, string> {
  const headers: Record<string, string> = {};
  const auth = config.authentication;
  if (auth?.scheme && auth.credentials) headers.Authorization = `${auth.scheme} ${auth.credentials}`;
  // Sent whenever set (the SDK sends it only without `authentication`): the token lets a receiver check that
  // the notification belongs to the registration it made, independently of its own auth scheme.
  if (config.token) headers[TOKEN_HEADER] = config.token;
  return headers;
}

function copyTask(task: Task): Task {
  return Task.fromJSON(Task.toJSON(task));
}

function taskIdOf(streamResponse: StreamResponse): string {
  const payload = streamResponse.payload;
  switch (payload?.$case) {
    case 'task':
      return payload.value.id;
    case 'statusUpdate':
    case 'artifactUpdate':
    case 'message':
      return payload.value.taskId;
    case undefined:
      return '';
    default: {
      const unreachable: never = payload;
      return unreachable;
    }
  }
}

function isTerminalEvent(streamResponse: StreamResponse): boolean {
  const payload = streamResponse.payload;
  if (payload?.$case === 'statusUpdate')
    return isTerminal(payload.value.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED);
  if (payload?.$case === 'task')
    return isTerminal(payload.value.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED);
  return false;
}

function taskEndOf(streamResponse: StreamResponse, task: Task | undefined): TaskEnd | undefined {
  const payload = streamResponse.payload;
  let status: Task['status'];
  let taskId: string;
  let contextId: string;
  if (payload?.$case === 'statusUpdate') {
    ({ status, taskId, contextId } = payload.value);
  } else if (payload?.$case === 'task') {
    ({ status, id: taskId, contextId } = payload.value);
  } else {
    return undefined;
  }
  if (!status || !isTerminal(status.state)) return undefined;
  const text = status.message?.parts
    .map((part) => (part.content?.$case === 'text' ? part.content.value : ''))
    .filter((t) => t !== '')
    .join('\n');
  const whole = task ?? (payload.$case === 'task' ? payload.value : undefined);
  const skill: unknown = whole?.metadata?.skill;
  const eventMetadata: unknown = payload.$case === 'statusUpdate' ? payload.value.metadata : undefined;
  return {
    taskId,
    contextId,
    state: status.state,
    ...(typeof skill === 'string' ? { skill } : {}),
    ...(text ? { text } : {}),
    ...runOutcomeOf(eventMetadata, whole?.metadata),
  };
}
