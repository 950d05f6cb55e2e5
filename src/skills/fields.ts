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
