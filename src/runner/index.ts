/** The process runner: spawn a CLI in its own process group with an allowlisted env, stream its lines, end it. */
export type { ChildInput, RunOptions, RunResult } from './types.js';
export { runProcess, DEFAULT_GRACE_MS, DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_LINE_BYTES } from './spawn.js';
export { buildChildEnv, DEFAULT_ENV_ALLOWLIST, type BuildChildEnvOptions } from './env.js';
export { resolveCommand } from './which.js';
export { isGroupAlive, terminateGroup, waitForGroupExit } from './process-group.js';
export { LineSplitter } from './line-splitter.js';
