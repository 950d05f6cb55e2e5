/**
 * Findings: the comments of a review (review_pr, improve_code_quality) with ids that stay the same for the same
 * comment, so a follow-up task can name one (`finding: "<taskId>#<findingId>"`) and the gateway builds the fix
 * request from it.
 */
import { createHash } from 'node:crypto';
import type { ReviewComment } from './review-skill.js';

/** A review comment with its id. `suggestion` is what the reviewer proposes doing, when it said. */
export interface Finding extends ReviewComment {
  id: string;
  suggestion?: string;
}

/** A finding named by a follow-up: the task that reported it and the finding's id. */
export interface FindingRef {
  taskId: string;
  findingId: string;
}

/** The shape of a finding id: `f` and eight hex digits, with `-2`, `-3` … for repeats of one comment. */
export const FINDING_ID = /^f[0-9a-f]{8}(?:-[0-9]+)?$/;

/**
 * The id of a comment: a hash of its file, line and text (not its position in the list, nor its severity), so the
 * same comment gets the same id when a review is read again or its comments come in another order.
 */
export function findingId(comment: Pick<ReviewComment, 'file' | 'line' | 'text'>): string {
  const key = `${comment.file}\0${comment.line ?? ''}\0${comment.text.trim()}`;
  return `f${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
}

/** Gives each comment its id; a comment repeated word for word gets `-2`, `-3` … so every id is unique. */
export function withFindingIds<T extends ReviewComment>(comments: readonly T[]): Array<T & { id: string }> {
  const seen = new Map<string, number>();
  return comments.map((comment) => {
    const base = findingId(comment);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return { ...comment, id: n === 1 ? base : `${base}-${n}` };
  });
}

/** Reads `<taskId>#<findingId>`; undefined when it is not of that form. */
export function parseFindingRef(ref: string): FindingRef | undefined {
  const at = ref.lastIndexOf('#');
  if (at <= 0) return undefined;
  const taskId = ref.slice(0, at).trim();
  const findingId = ref.slice(at + 1).trim();
  if (taskId === '' || !/^[A-Za-z0-9._:-]+$/.test(taskId) || !FINDING_ID.test(findingId)) return undefined;
  return { taskId, findingId };
}

/** The findings a task's artifacts carry (the review data part of its result: `comments` with ids), if any. */
export function findingsOfArtifacts(artifacts: readonly unknown[] | undefined): Finding[] | undefined {
  for (const artifact of artifacts ?? []) {
    const parts = (artifact as { parts?: unknown }).parts;
    if (!Array.isArray(parts)) continue;
    for (const part of parts as unknown[]) {
      const data = dataOf(part);
      const findings = data?.comments;
      if (Array.isArray(findings)) return findings.filter(isFinding);
    }
  }
  return undefined;
}

/** The data of a data part in the SDK's 1.0 shape (`content.$case === 'data'`) or the 0.3 one (`kind: 'data'`). */
function dataOf(part: unknown): Record<string, unknown> | undefined {
  if (part === null || typeof part !== 'object') return undefined;
  const p = part as { content?: { $case?: string; value?: unknown }; kind?: string; data?: unknown };
  const value = p.content?.$case === 'data' ? p.content.value : p.kind === 'data' ? p.data : undefined;
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
}

function isFinding(value: unknown): value is Finding {
  if (value === null || typeof value !== 'object') return false;
  const f = value as Record<string, unknown>;
  return typeof f.id === 'string' && typeof f.file === 'string' && typeof f.text === 'string';
}

/** The bug report a fix task gets for a finding: where, how serious, what is wrong and what to do. */
export function fixRequestOf(finding: Finding, ref: FindingRef, notes?: string): string {
  const where = finding.file
    ? `${finding.file}${finding.line !== null ? `:${finding.line}` : ''}`
    : 'the project';
  return [
    `A review (task ${ref.taskId}, finding ${finding.id}) reported a ${finding.severity} problem in ${where}:`,
    finding.text,
    ...(finding.suggestion ? [`Suggested fix: ${finding.suggestion}`] : []),
    ...(notes ? [`Notes from the caller: ${notes}`] : []),
  ].join('\n\n');
}
