import type { Backend } from '../agents/types.js';
import type { TaskPlanner } from './planner.js';

/** A configured backend, the skills that run on it, and whether its command is installed. */
export interface BackendStatus {
  name: string;
  type: string;
  skills: string[];
  found: boolean;
  /** Why it cannot run, when it cannot. */
  detail?: string;
}

/**
 * Every backend a skill runs on (and every other configured one), checked the way a task would be: a CLI that is
 * not on PATH is "not found", with the reason a task on it would fail with.
 */
export async function backendStatuses(
  backends: ReadonlyMap<string, Backend>,
  planner: Pick<TaskPlanner, 'enabledSkills' | 'backendFor'>,
): Promise<BackendStatus[]> {
  const skillsOf = new Map<string, string[]>();
  for (const skill of planner.enabledSkills()) {
    const name = planner.backendFor(skill);
    skillsOf.set(name, [...(skillsOf.get(name) ?? []), skill.id]);
  }
  const names = [...new Set([...skillsOf.keys(), ...backends.keys()])];
  return Promise.all(
    names.map(async (name): Promise<BackendStatus> => {
      const skills = skillsOf.get(name) ?? [];
      const backend = backends.get(name);
      if (!backend) return { name, type: 'unknown', skills, found: false, detail: 'not configured' };
      const missing = await backend.unavailable?.(skills[0] ?? 'code');
      return {
        name,
        type: backend.type,
        skills,
        found: missing === undefined,
        ...(missing?.reason ? { detail: missing.reason } : {}),
      };
    }),
  );
}
