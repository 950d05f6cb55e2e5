import { TaskState, taskStateToJSON } from '@a2a-js/sdk';

/** States retention may remove after `completedBefore`. */
export const COMPLETED_STATES: readonly TaskState[] = [TaskState.TASK_STATE_COMPLETED];

/** Terminal states other than completed; retention may remove them after `otherTerminalBefore`. */
export const OTHER_TERMINAL_STATES: readonly TaskState[] = [
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
];

export const TERMINAL_STATES: readonly TaskState[] = [...COMPLETED_STATES, ...OTHER_TERMINAL_STATES];

/**
 * A task without a status counts as unspecified, and an unrecognized state as unfinished: recovery must see
 * anything it cannot prove is over.
 */
export function stateOf(task: { status?: { state: TaskState } | undefined }): TaskState {
  return task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
}

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.includes(state);
}

/**
 * Every known state name at zero, so a gauge built from `countByState` drops back to 0 when the last task
 * leaves a state instead of keeping its previous value.
 */
export function zeroStateCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of Object.values(TaskState)) {
    if (typeof value === 'number' && value !== TaskState.UNRECOGNIZED) counts[taskStateToJSON(value)] = 0;
  }
  return counts;
}
