import type { Message, Part } from '@a2a-js/sdk';
import type { GatewayConfig } from '../config/load.js';
import { SKILL_INPUT_MODES, extractSkillInput, fieldLabel, type InputPart } from '../skills/input.js';
import type { SkillDefinition } from '../skills/types.js';
import { resolveWorkdir } from '../workspace/roots.js';
import type { TaskJob, TaskWorkspacePlan } from '../queue/job.js';
import { fixRequestOf, parseFindingRef, type Finding } from '../skills/findings.js';

/** A request that cannot become a task; `field` names what was wrong. Refused before any task exists. */
export class TaskInputError extends Error {
  readonly code: 'invalid_input' | 'unsupported_media_type' = 'invalid_input';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'TaskInputError';
  }
}

/**
 * A part in a media type no skill takes (a file, an image): A2A's ContentTypeNotSupported, not a missing field.
 */
export class TaskMediaTypeError extends TaskInputError {
  override readonly code = 'unsupported_media_type';
  constructor(field: string, message: string) {
    super(field, message);
    this.name = 'TaskMediaTypeError';
  }
}

/** Everything decided about a request before it is queued. */
export interface TaskPlan {
  skill: SkillDefinition;
  backendName: string;
  input: Record<string, unknown>;
  prompt: string;
  /** The real path of the caller's workdir, or undefined for a scratch directory. */
  workdir: string | undefined;
  timeoutMs: number;
  model?: string;
  effort?: string;
  /** What happens to the change: where it starts, and whether it is committed, applied or pushed. */
  workspace: TaskWorkspacePlan;
}

type Metadata = Record<string, unknown> | undefined;

export interface PlannerDeps {
  config: GatewayConfig;
  skills: readonly SkillDefinition[];
  /** The findings a task reported, for inputs that name one (`finding: "<taskId>#<findingId>"`). */
  findingsOf?: (taskId: string) => Promise<readonly Finding[] | undefined>;
  /** Checks that a workdir's repository has `remote`: resolves to why not, or undefined when it has. */
  checkRemote?: (workdir: string, remote: string) => Promise<string | undefined>;
}

/** The media type without parameters (`text/plain; charset=utf-8` is `text/plain`), or '' when none is given. */
function bareMediaType(mediaType: unknown): string {
  // The SDK passes a 0.3 part's mimeType through as it came: anything but a string names no media type.
  if (typeof mediaType !== 'string') return '';
  return mediaType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

/**
 * Converts A2A parts to the skill layer's shape. Skills take text and JSON only: a file part, or a part whose
 * media type is another one, is refused rather than silently dropped.
 */
function toInputParts(parts: readonly Part[]): InputPart[] {
  const out: InputPart[] = [];
  parts.forEach((part, i) => {
    const content = part.content;
    const mediaType = bareMediaType(part.mediaType);
    if (
      content?.$case === 'raw' ||
      content?.$case === 'url' ||
      (mediaType && !SKILL_INPUT_MODES.includes(mediaType))
    ) {
      const what = mediaType ? `media type ${mediaType}` : 'a file';
      throw new TaskMediaTypeError(
        `message.parts[${i}]`,
        `message.parts[${i}]: ${what} is not accepted; the skills take ${SKILL_INPUT_MODES.join(' or ')} (text or data parts)`,
      );
    }
    if (content?.$case === 'text') out.push({ kind: 'text', text: content.value });
    else if (content?.$case === 'data') out.push({ kind: 'data', data: content.value as unknown });
  });
  return out;
}

function pick(key: string, ...sources: Metadata[]): unknown {
  for (const source of sources) {
    if (source && source[key] !== undefined && source[key] !== null) return source[key];
  }
  return undefined;
}

function optionalString(key: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TaskInputError(`metadata.${key}`, `metadata.${key}: expected a non-empty string`);
  }
  return value.trim();
}

/**
 * Turns a message into a {@link TaskPlan}: chooses the skill (`metadata.skill`, the 0.1 `params.skill` moved
 * there by the legacy shim, or the configured default), validates its input, resolves the backend, the
 * deadline and the workdir. Throws {@link TaskInputError} naming the field at fault.
 */
export class TaskPlanner {
  constructor(private readonly deps: PlannerDeps) {}

  get skills(): readonly SkillDefinition[] {
    return this.deps.skills;
  }

  /** Skills the config has not disabled. */
  enabledSkills(): SkillDefinition[] {
    return this.deps.skills.filter((s) => this.deps.config.skills[s.id]?.enabled !== false);
  }

  backendFor(skill: SkillDefinition): string {
    return this.deps.config.skills[skill.id]?.backend ?? skill.defaultBackend;
  }

  async plan(message: Message, requestMetadata: Metadata, previous?: Metadata): Promise<TaskPlan> {
    const { config } = this.deps;
    const meta = message.metadata;
    const skill = this.chooseSkill(pick('skill', meta, requestMetadata, previous) ?? config.defaultSkill);

    const extracted = extractSkillInput(toInputParts(message.parts), skill);
    if (!extracted.ok) throw new TaskInputError(fieldLabel(extracted.error.field), extracted.error.message);
    const input = await this.withFinding(extracted.input);

    const backendName = this.chooseBackend(skill, pick('backend', meta, requestMetadata));
    const timeoutMs = this.chooseTimeout(skill, pick('timeout', meta, requestMetadata));
    const model = optionalString('model', pick('model', meta, requestMetadata));
    const effort = optionalString('effort', pick('effort', meta, requestMetadata));

    let workdir: string | undefined;
    if (typeof input.workdir === 'string' && input.workdir.trim() !== '') {
      const resolved = await resolveWorkdir(input.workdir, config.workspaceRoots);
      if (!resolved.ok) throw new TaskInputError('input.workdir', `input.workdir: ${resolved.message}`);
      workdir = resolved.path;
    }

    // A pull request needs the branch pushed, and a push needs the branch kept.
    const pullRequest = input.pull_request === true;
    const push = pullRequest || input.push === true;
    const remote = typeof input.remote === 'string' ? input.remote : 'origin';
    const workspace: TaskWorkspacePlan = {
      ...(typeof input.base_ref === 'string' ? { baseRef: input.base_ref } : {}),
      commit: input.commit === true || push,
      apply: input.apply === true,
      ...(push ? { push: { remote, pullRequest } } : {}),
    };
    if (workdir === undefined) {
      for (const field of ['base_ref', 'commit', 'apply', 'push', 'pull_request', 'remote'] as const) {
        if (input[field] !== undefined && input[field] !== false) {
          throw new TaskInputError(
            `input.${field}`,
            `input.${field}: needs input.workdir, the repository the change is made in`,
          );
        }
      }
    }

    if (push && workdir !== undefined && this.deps.checkRemote) {
      const why = await this.deps.checkRemote(workdir, remote);
      if (why !== undefined) {
        const field =
          input.remote !== undefined ? 'remote' : input.pull_request === true ? 'pull_request' : 'push';
        throw new TaskInputError(`input.${field}`, `input.${field}: ${why}`);
      }
    }

    return {
      skill,
      backendName,
      input,
      prompt: skill.prompt(input),
      workdir,
      timeoutMs,
      workspace,
      ...(model !== undefined ? { model } : {}),
      ...(effort !== undefined ? { effort } : {}),
    };
  }

  /**
   * The plan of a job planned before (by admission, maybe in an earlier process): nothing is decided again, only
   * the skill's definition is looked up. Throws {@link TaskInputError} when the skill is gone from the catalog.
   */
  planOf(job: TaskJob): TaskPlan {
    const skill = this.deps.skills.find((s) => s.id === job.skill);
    if (!skill) throw new TaskInputError('skill', `skill: unknown skill "${job.skill}"`);
    return {
      skill,
      backendName: job.backend,
      input: job.input,
      prompt: job.prompt,
      workdir: job.workdir,
      timeoutMs: job.timeoutMs,
      workspace: job.workspace,
      ...(job.model !== undefined ? { model: job.model } : {}),
      ...(job.effort !== undefined ? { effort: job.effort } : {}),
    };
  }

  /**
   * An input that names a finding (`finding: "<taskId>#<findingId>"`) gets its bug report built from that finding
   * (the caller's own description, if any, kept as notes) and the finding's file as the file to start from.
   */
  private async withFinding(input: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (typeof input.finding !== 'string') return input;
    const ref = parseFindingRef(input.finding);
    if (!ref) {
      throw new TaskInputError(
        'input.finding',
        `input.finding: expected "<taskId>#<findingId>", got ${JSON.stringify(input.finding)}`,
      );
    }
    const findings = await this.deps.findingsOf?.(ref.taskId);
    if (findings === undefined) {
      throw new TaskInputError(
        'input.finding',
        `input.finding: task ${JSON.stringify(ref.taskId)} is unknown or reported no findings (a finding comes from a completed review_pr task)`,
      );
    }
    const finding = findings.find((f) => f.id === ref.findingId);
    if (!finding) {
      throw new TaskInputError(
        'input.finding',
        `input.finding: task ${JSON.stringify(ref.taskId)} has no finding ${JSON.stringify(ref.findingId)}; its findings are ${findings.map((f) => f.id).join(', ') || 'none'}`,
      );
    }
    const notes = typeof input.bug_description === 'string' ? input.bug_description : undefined;
    const files = Array.isArray(input.files) ? input.files : finding.file ? [finding.file] : undefined;
    return { ...input, bug_description: fixRequestOf(finding, ref, notes), ...(files ? { files } : {}) };
  }

  private chooseSkill(requested: unknown): SkillDefinition {
    const available = this.enabledSkills();
    if (typeof requested !== 'string' || requested.trim() === '') {
      throw new TaskInputError(
        'skill',
        `skill: expected a skill id, one of ${available.map((s) => s.id).join(', ')}`,
      );
    }
    const skill = available.find((s) => s.id === requested.trim());
    if (!skill) {
      throw new TaskInputError(
        'skill',
        `skill: unknown skill "${requested}"; expected one of ${available.map((s) => s.id).join(', ')}`,
      );
    }
    return skill;
  }

  private chooseBackend(skill: SkillDefinition, requested: unknown): string {
    const configured = this.backendFor(skill);
    if (requested === undefined) return configured;
    const name = optionalString('backend', requested);
    if (name === undefined || name === configured) return configured;
    if (!this.deps.config.allowBackendOverride) {
      throw new TaskInputError(
        'metadata.backend',
        `metadata.backend: choosing a backend per request is not allowed by this gateway's config (allowBackendOverride); skill ${skill.id} uses "${configured}"`,
      );
    }
    if (!(name in this.deps.config.backends)) {
      throw new TaskInputError(
        'metadata.backend',
        `metadata.backend: unknown backend "${name}"; expected one of ${Object.keys(this.deps.config.backends).sort().join(', ')}`,
      );
    }
    return name;
  }

  private chooseTimeout(skill: SkillDefinition, requested: unknown): number {
    const { config } = this.deps;
    const fallback = config.skills[skill.id]?.timeout ?? config.defaultTimeoutSec;
    if (requested === undefined) return Math.min(fallback, config.maxTaskTimeoutSec) * 1000;
    const seconds = typeof requested === 'string' ? Number(requested) : requested;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) {
      throw new TaskInputError('metadata.timeout', 'metadata.timeout: expected a positive number of seconds');
    }
    if (seconds > config.maxTaskTimeoutSec) {
      throw new TaskInputError(
        'metadata.timeout',
        `metadata.timeout: ${seconds} s is above the maximum of ${config.maxTaskTimeoutSec} s (MAX_TASK_TIMEOUT)`,
      );
    }
    return Math.round(seconds * 1000);
  }
}
