export type { DefaultBackendName, SkillDefinition } from './types.js';
export { BUILTIN_SKILLS } from './catalog.js';
export {
  extractSkillInput,
  fieldLabel,
  findSkill,
  skillInputJsonSchema,
  unknownSkillMessage,
  type InputPart,
  type SkillInputError,
  type SkillInputIssue,
  type SkillInputResult,
} from './input.js';
export { REVIEW_SEVERITIES, type ReviewComment } from './review-skill.js';
