/**
 * Input fields several skills share. Each description starts with a short phrase ending at the first ':' or '.',
 * which validation errors quote as what the field is for.
 */
import { z } from 'zod';
import { TestCommandError, parseTestCommand } from '../verify/command.js';
import { MAX_FIX_ATTEMPTS, VERIFY_MODES } from '../verify/policy.js';

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

/**
 * The command that runs the project's tests. The gateway runs it itself (before and after the agent), without a
 * shell, so shell syntax is refused here, at the edge, with the reason.
 */
export const testCommand = z
  .string()
  .trim()
  .min(1)
  .superRefine((value, ctx) => {
    if (value === '') return; // min(1) says so already
    try {
      parseTestCommand(value);
    } catch (err) {
      if (!(err instanceof TestCommandError)) throw err;
      ctx.addIssue({ code: 'custom', message: `a command that runs without a shell: ${err.detail}` });
    }
  })
  .optional()
  .describe(
    'Command that runs the tests: for example "npm test" or "pytest -q". The gateway runs it (without a shell: no pipes, &&, ;, redirects or $()) before and after the agent, and the agent runs it to check its work.',
  );

/** How the gateway's own test run decides the task: the fields that go with `test_command`. */
export const verifyOptions = {
  verify: z
    .enum(VERIFY_MODES)
    .optional()
    .describe(
      'What the test run decides: "required" (default when test_command is given) completes the task only when the tests pass after the change; "report" only reports them.',
    ),
  fixAttempts: z
    .number()
    .int()
    .min(0)
    .max(MAX_FIX_ATTEMPTS)
    .optional()
    .describe(
      'Extra agent turns to make failing tests pass: each gets the failing output. Default 1; 0 fails at once.',
    ),
} as const;

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
  push: z
    .boolean()
    .optional()
    .describe(
      "Push the task branch to workdir's remote: never forced, with the gateway's configured credentials. Implies commit. Default false.",
    ),
  remote: z
    .string()
    .trim()
    .regex(/^(?!-)[A-Za-z0-9._-]+$/, 'a git remote name such as origin (letters, digits, ".", "_", "-")')
    .max(128)
    .optional()
    .describe("Remote to push to: a remote name of workdir's repository. Default origin."),
  pull_request: z
    .boolean()
    .optional()
    .describe(
      'Open a pull request for the pushed branch with the gh CLI (title and body from the summary and the test report); its URL comes back as an artifact. Implies push. Default false.',
    ),
} as const;

/** A finding of an earlier review to fix: `<taskId>#<findingId>`, as the review task's findings list them. */
export const finding = z
  .string()
  .trim()
  .regex(
    /^[A-Za-z0-9._:-]+#f[0-9a-f]{8}(?:-[0-9]+)?$/,
    'a finding reference "<taskId>#<findingId>" such as "3f2a…#f1a2b3c4d", from the findings of a review_pr or improve_code_quality task',
  )
  .optional()
  .describe(
    'A finding to fix: "<taskId>#<findingId>" from an earlier review_pr or improve_code_quality task\'s findings. The gateway builds the request from it.',
  );
