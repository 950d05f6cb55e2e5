import type { z } from 'zod';
import type { SkillDefinition } from './types.js';

/** A skill whose prompt sees its input with the types its own schema gives. */
export type TypedSkill<S extends z.ZodObject> = Omit<SkillDefinition, 'input' | 'prompt'> & {
  input: S;
  prompt: (input: z.output<S>) => string;
};

/**
 * Makes a frozen {@link SkillDefinition}. The prompt re-parses its input, so a caller that skipped validation gets
 * a ZodError rather than a prompt built from unchecked values; on validated input the parse is a no-op.
 */
export function defineSkill<S extends z.ZodObject>(skill: TypedSkill<S>): SkillDefinition {
  const { input, prompt } = skill;
  return Object.freeze({
    ...skill,
    tags: Object.freeze([...skill.tags]),
    examples: Object.freeze([...skill.examples]),
    outputModes: Object.freeze([...skill.outputModes]),
    prompt: (raw: Record<string, unknown>) => prompt(input.parse(raw)),
  });
}

/** Output modes of skills that change files: a summary, the diff, and structured results. */
export const CHANGE_OUTPUT_MODES = ['text/plain', 'text/x-diff', 'application/json'] as const;
