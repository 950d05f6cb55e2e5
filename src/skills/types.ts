import type { z } from 'zod';

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
  /** Builds the prompt the coding agent receives from the validated input. */
  prompt: (input: Record<string, unknown>) => string;
  defaultBackend: DefaultBackendName;
  /** True when the skill must not change files (review_pr). */
  readOnly: boolean;
  /** Output modes the skill produces, for the agent card. */
  outputModes: readonly string[];
}
