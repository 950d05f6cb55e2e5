import { code, fixBug, improveCodeQuality, refactorCode, writeUnitTests } from './change-skills.js';
import { generateDockerCompose, generateDockerfile, generateK8sManifests } from './deploy-skills.js';
import { reviewPr } from './review-skill.js';
import type { SkillDefinition } from './types.js';

/**
 * The skills every gateway offers, in the order the agent card lists them. fix_bug defaults to droid and the rest
 * to claude; the config file may map any of them to another backend or disable it.
 */
export const BUILTIN_SKILLS: readonly SkillDefinition[] = Object.freeze([
  fixBug,
  refactorCode,
  reviewPr,
  generateDockerfile,
  generateDockerCompose,
  generateK8sManifests,
  writeUnitTests,
  improveCodeQuality,
  code,
]);
