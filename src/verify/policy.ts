import { parseTestCommand, type TestCommand } from './command.js';

/** `required`: the task completes only when the tests pass after the agent; `report`: the result only reports them. */
export type VerifyMode = 'required' | 'report';

export const VERIFY_MODES: readonly VerifyMode[] = ['required', 'report'];
/** Turns the agent gets, after its first, to make failing tests pass. */
export const DEFAULT_FIX_ATTEMPTS = 1;
export const MAX_FIX_ATTEMPTS = 5;

/** How a task's change is checked by the gateway: what to run, whether a failure fails the task, retries. */
export interface VerifyPolicy {
  command: TestCommand;
  mode: VerifyMode;
  fixAttempts: number;
}

/**
 * The policy a skill input asks for: none without `test_command`; otherwise `verify` (default `required`) and
 * `fixAttempts` (default {@link DEFAULT_FIX_ATTEMPTS}). Throws a `TestCommandError` (naming `test_command`) when
 * the command needs a shell.
 */
export function verifyPolicyOf(input: Readonly<Record<string, unknown>>): VerifyPolicy | undefined {
  const text = input.test_command;
  if (typeof text !== 'string' || text.trim() === '') return undefined;
  const mode = input.verify === 'report' ? 'report' : 'required';
  const attempts = input.fixAttempts;
  const fixAttempts =
    typeof attempts === 'number' && Number.isInteger(attempts) && attempts >= 0
      ? Math.min(attempts, MAX_FIX_ATTEMPTS)
      : DEFAULT_FIX_ATTEMPTS;
  return { command: parseTestCommand(text.trim()), mode, fixAttempts };
}
