import type { TaskSpec } from './types.js';

/**
 * Fills `{prompt}`, `{workdir}`, `{taskId}`, `{contextId}`, `{skill}` and `{input.FIELD}` in one argv element or
 * env value. Each template yields exactly one argument (no shell, no word splitting), so a prompt with quotes or
 * `$(...)` reaches the child as plain text. Unknown placeholders are left as written.
 */
export function fillTemplate(template: string, spec: TaskSpec): string {
  return template.replace(
    /\{(prompt|workdir|taskId|contextId|skill|input\.[A-Za-z0-9_]+)\}/g,
    (_whole, key: string) => {
      switch (key) {
        case 'prompt':
          return spec.prompt;
        case 'workdir':
          return spec.workdir;
        case 'taskId':
          return spec.taskId;
        case 'contextId':
          return spec.contextId;
        case 'skill':
          return spec.skill;
        default: {
          const value = spec.input[key.slice('input.'.length)];
          if (value === undefined || value === null) return '';
          return typeof value === 'string' ? value : JSON.stringify(value);
        }
      }
    },
  );
}
