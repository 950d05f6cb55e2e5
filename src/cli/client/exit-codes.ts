/**
 * How the client commands exit, so scripts can tell outcomes apart. Documented in the README ("Command line").
 * A command that shows or follows a task exits by the state the task ended in.
 */
export const EXIT = {
  /** The task completed (or the command did what it was asked). */
  ok: 0,
  /** The task failed. */
  failed: 1,
  /** Bad arguments or input: the message names the option or field. Also an unknown skill or task id. */
  usage: 2,
  /** The task was canceled. */
  canceled: 3,
  /** The gateway refused the task (rejected, busy, or the key may not use the skill). */
  refused: 4,
  /** The task is waiting for an answer (input-required or auth-required) that this run did not give. */
  needsInput: 5,
  /** The gateway could not be reached, or did not answer as an A2A server. */
  unreachable: 6,
  /** No API key, or a wrong one. */
  unauthenticated: 7,
  /** Ctrl-C: the task was left running (reattach with `tasks watch`). */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
