import type { z } from 'zod';
import type { GeneratedFile } from './generated-files.js';
import type { ReviewComment } from './review-skill.js';

/** The backends a skill may name by default; the config file maps any skill to any configured backend. */
export type DefaultBackendName = 'claude' | 'droid';

/**
 * One skill of the catalog. The input schema is published as JSON Schema on the agent card; the prompt
 * template is rendered with the validated input.
 */
export interface SkillDefinition {
  id: string;
  name: string;
  description: string;
  tags: readonly string[];
  examples: readonly string[];
  /** zod object schema for the skill input. Must include `workdir` (optional, string). */
  input: z.ZodObject;
  /**
   * The field that plain text fills when a caller sends text rather than a JSON object
   * (e.g. `bug_description` for fix_bug).
   */
  mainField: string;
  /**
   * Fields of which at least one must be given, when no single one is required (fix_bug: bug_description or
   * finding). Published on the card as the schema's `anyOf`.
   */
  oneOfRequired?: readonly string[];
  /** Builds the prompt the coding agent receives from the validated input. */
  prompt: (input: Record<string, unknown>) => string;
  defaultBackend: DefaultBackendName;
  /** True when the skill must not change files (review_pr). */
  readOnly: boolean;
  /** Output modes the skill produces, for the agent card. */
  outputModes: readonly string[];
  /**
   * Its output is files a person deploys: they must pass {@link checkFiles} before the task may succeed, and the
   * template backend may stand in when the skill's coding agent is not installed.
   */
  deployment?: boolean;
  /** The files it wrote come back as artifacts of their own (generation skills). */
  returnsFiles?: boolean;
  /** Checks the files a run wrote before it may succeed: the reason it fails, or undefined. */
  checkFiles?: (files: readonly GeneratedFile[]) => string | undefined;
  /** Reads the review comments out of the agent's answer (a review skill's structured result). */
  parseReview?: (answer: string) => { comments: ReviewComment[]; error?: string };
}
