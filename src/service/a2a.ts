import { randomUUID } from 'node:crypto';
import { Role, TaskState, type Artifact, type Message, type Part, type Task } from '@a2a-js/sdk';
import type { TaskArtifactUpdateEvent, TaskStatusUpdateEvent } from '@a2a-js/sdk';

/** Builders for the SDK's ts-proto types, which want every field present. */

type Metadata = Record<string, unknown>;

export function textPart(text: string, metadata?: Metadata): Part {
  return { content: { $case: 'text', value: text }, mediaType: 'text/plain', filename: '', metadata };
}

export function dataPart(data: unknown, metadata?: Metadata): Part {
  return { content: { $case: 'data', value: data }, mediaType: 'application/json', filename: '', metadata };
}

/** Text content with its own media type and file name: a diff, a generated file. */
export function filePart(text: string, mediaType: string, filename: string): Part {
  return { content: { $case: 'text', value: text }, mediaType, filename, metadata: undefined };
}

export function agentMessage(taskId: string, contextId: string, parts: Part[], metadata?: Metadata): Message {
  return {
    messageId: randomUUID(),
    contextId,
    taskId,
    role: Role.ROLE_AGENT,
    parts,
    metadata,
    extensions: [],
    referenceTaskIds: [],
  };
}

export function statusUpdate(
  taskId: string,
  contextId: string,
  state: TaskState,
  message?: Message,
  metadata?: Metadata,
): TaskStatusUpdateEvent {
  return {
    taskId,
    contextId,
    status: { state, message, timestamp: new Date().toISOString() },
    metadata,
  };
}

export function artifactUpdate(
  taskId: string,
  contextId: string,
  artifact: Omit<Artifact, 'extensions' | 'metadata' | 'description'> &
    Partial<Pick<Artifact, 'metadata' | 'description'>>,
): TaskArtifactUpdateEvent {
  return {
    taskId,
    contextId,
    artifact: { description: '', metadata: undefined, extensions: [], ...artifact },
    append: false,
    lastChunk: true,
    metadata: undefined,
  };
}

export function newTask(taskId: string, contextId: string, history: Message[], metadata: Metadata): Task {
  return {
    id: taskId,
    contextId,
    status: {
      state: TaskState.TASK_STATE_SUBMITTED,
      message: undefined,
      timestamp: new Date().toISOString(),
    },
    artifacts: [],
    history,
    metadata,
  };
}

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
]);

export function isTerminal(state: TaskState | undefined): boolean {
  return state !== undefined && TERMINAL_STATES.has(state);
}

/** The text of a message's text parts, joined. */
export function messageText(message: Message | undefined): string {
  return (message?.parts ?? [])
    .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
    .filter(Boolean)
    .join('\n');
}
