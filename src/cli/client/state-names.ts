/** Task states as the command line spells them (`--state`, completion). */
export const STATE_NAMES: readonly string[] = [
  'submitted',
  'working',
  'input-required',
  'auth-required',
  'completed',
  'failed',
  'canceled',
  'rejected',
];
