/**
 * Input fields several skills share. Each description starts with a short phrase ending at the first ':' or '.',
 * which validation errors quote as what the field is for.
 */
import { z } from 'zod';

/** The project directory; the planner resolves it against the allowed workspace roots. */
export const workdir = z
  .string()
  .trim()
  .min(1)
  .optional()
  .describe(
    "Directory to work in: a path on the gateway's machine that must be inside the gateway's allowed workspace roots. Omit it to work in an empty scratch directory.",
  );

/** Paths the caller wants the agent to look at first. */
export const files = z
  .array(z.string().trim().min(1))
  .min(1)
  .optional()
  .describe('Files to focus on: paths relative to workdir. The agent starts there and may look further.');

/** A command the agent runs to check its own work. */
export const testCommand = z
  .string()
  .trim()
  .min(1)
  .optional()
  .describe(
    'Command that runs the tests: for example "npm test" or "pytest -q". The agent runs it to check its work.',
  );

/** What the project is, for the deployment-file skills. */
export const projectDescription = z
  .string()
  .trim()
  .min(1)
  .describe(
    'What the project is: language, framework, what it runs and listens on, and anything the deployment needs (databases, caches, ports, environment variables).',
  );

/** Accepts any string because the brief sends values such as "compose" that no fixed list would anticipate. */
export const projectType = z
  .string()
  .trim()
  .min(1)
  .optional()
  .describe(
    'The main language or framework: for example node, python, go, java, rust. Any string is accepted.',
  );

/** Plain free-text instructions, the main field of several skills. */
export function instructions(what: string): z.ZodString {
  return z.string().trim().min(1).describe(what);
}

/**
 * Options of every skill that changes files, about what happens to the change. They need a workdir: the planner
 * says so when one is given without it.
 */
export const workspaceOptions = {
  base_ref: z
    .string()
    .trim()
    .regex(
      /^(?!-)[A-Za-z0-9._/@{}~^+-]+$/,
      'a git branch, tag, commit or revision such as main or a1b2c3d (no spaces or shell characters)',
    )
    .max(256)
    .optional()
    .describe(
      "Commit to start from: a branch, tag or commit of workdir's repository. Default: where this conversation's previous turn ended, else HEAD.",
    ),
  commit: z
    .boolean()
    .optional()
    .describe(
      'Keep the change as a commit: on the task branch (a2a/<skill>/<task id>), with a message naming the task. Default false: only the diff is returned.',
    ),
  apply: z
    .boolean()
    .optional()
    .describe(
      'Apply the change to workdir: only when its working tree is clean; otherwise the task fails with the reason and the change stays on the task branch. Default false.',
    ),
} as const;
