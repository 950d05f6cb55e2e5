/** Reading the SDK's task objects: state names, texts, the question a task asks, and what a finished task returns. */
import { Task, TaskState, taskStateToJSON, type Artifact, type Message, type Part } from '@a2a-js/sdk';
import { EXIT, type ExitCode } from './exit-codes.js';
export { STATE_NAMES } from './state-names.js';

/** `completed`, `input-required`, ... (the 0.3 spelling, which people read more easily than TASK_STATE_...). */
export function stateName(state: TaskState | undefined): string {
  if (state === undefined) return 'unknown';
  return taskStateToJSON(state)
    .replace(/^TASK_STATE_/, '')
    .toLowerCase()
    .replace(/_/g, '-');
}

const BY_NAME: Record<string, TaskState> = {
  submitted: TaskState.TASK_STATE_SUBMITTED,
  working: TaskState.TASK_STATE_WORKING,
  'input-required': TaskState.TASK_STATE_INPUT_REQUIRED,
  'auth-required': TaskState.TASK_STATE_AUTH_REQUIRED,
  completed: TaskState.TASK_STATE_COMPLETED,
  failed: TaskState.TASK_STATE_FAILED,
  canceled: TaskState.TASK_STATE_CANCELED,
  rejected: TaskState.TASK_STATE_REJECTED,
};

/** The state named on the command line (`completed`, `input-required`, `TASK_STATE_FAILED`). */
export function parseState(name: string): TaskState | undefined {
  return BY_NAME[
    name
      .replace(/^TASK_STATE_/i, '')
      .toLowerCase()
      .replace(/_/g, '-')
  ];
}

const TERMINAL = new Set([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
]);

export const isTerminal = (state: TaskState | undefined): boolean =>
  state !== undefined && TERMINAL.has(state);

export const isInterrupted = (state: TaskState | undefined): boolean =>
  state === TaskState.TASK_STATE_INPUT_REQUIRED || state === TaskState.TASK_STATE_AUTH_REQUIRED;

/** How a command that followed a task exits, by the state the task is in. */
export function exitCodeFor(state: TaskState | undefined): ExitCode {
  switch (state) {
    case TaskState.TASK_STATE_COMPLETED:
      return EXIT.ok;
    case TaskState.TASK_STATE_CANCELED:
      return EXIT.canceled;
    case TaskState.TASK_STATE_REJECTED:
      return EXIT.refused;
    case TaskState.TASK_STATE_INPUT_REQUIRED:
    case TaskState.TASK_STATE_AUTH_REQUIRED:
      return EXIT.needsInput;
    default:
      return EXIT.failed;
  }
}

/** The text parts of a message or artifact, joined. */
export function textOf(parts: readonly Part[] | undefined): string {
  return (parts ?? [])
    .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
    .filter(Boolean)
    .join('\n');
}

/** The first data part's object. */
export function dataOf(parts: readonly Part[] | undefined): Record<string, unknown> | undefined {
  for (const p of parts ?? []) {
    if (p.content?.$case === 'data') {
      const v: unknown = p.content.value;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    }
  }
  return undefined;
}

export const messageText = (m: Message | undefined): string => textOf(m?.parts);

/** A question a task waits on (the gateway's data part: kind, question, options, questionId). */
export interface Question {
  text: string;
  kind: string | undefined;
  question: string | undefined;
  options: string[];
  questionId: string | undefined;
}

export function questionOf(task: Task): Question {
  const parts = task.status?.message?.parts;
  const data = dataOf(parts) ?? {};
  const options = Array.isArray(data.options) ? data.options.map(String) : [];
  return {
    text: textOf(parts),
    kind: typeof data.kind === 'string' ? data.kind : undefined,
    question: typeof data.question === 'string' ? data.question : undefined,
    options,
    questionId: typeof data.questionId === 'string' ? data.questionId : undefined,
  };
}

/** What a finished task returns: the summary, the result's details, the diff, and any other artifacts. */
export interface TaskResult {
  summary: string;
  details: Record<string, unknown> | undefined;
  diff: string | undefined;
  others: Artifact[];
}

function isDiff(a: Artifact): boolean {
  return a.name === 'diff' || a.parts.some((p) => p.mediaType === 'text/x-diff');
}

export function resultOf(task: Task): TaskResult {
  const artifacts = task.artifacts ?? [];
  const diffArtifact = artifacts.find(isDiff);
  const main =
    artifacts.find((a) => a !== diffArtifact && (a.name === 'result' || a.artifactId.endsWith('-result'))) ??
    artifacts.find((a) => a !== diffArtifact);
  return {
    summary: textOf(main?.parts),
    details: dataOf(main?.parts),
    diff: diffArtifact ? textOf(diffArtifact.parts) : undefined,
    others: artifacts.filter((a) => a !== main && a !== diffArtifact),
  };
}

/** The task as A2A 1.0 JSON (ProtoJSON: state names, not the SDK's numbers). */
export function taskJson(task: Task): unknown {
  return Task.toJSON(task);
}

/** Cost in dollars from a task's usage (metadata, or the result's details), if the backend reported it. */
export function costOf(usage: unknown): number | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  const cost = (usage as { costUsd?: unknown }).costUsd;
  return typeof cost === 'number' ? cost : undefined;
}
