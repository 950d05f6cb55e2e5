/** review_pr: the one read-only skill. It reviews a change and reports comments instead of editing files. */
import { z } from 'zod';
import { defineSkill } from './define.js';
import { withFindingIds, type Finding } from './findings.js';
import { workdir } from './fields.js';
import { fenced, preamble, quoted, sections } from './prompt-text.js';

/** Severities a review comment may carry, most serious first. */
export const REVIEW_SEVERITIES = ['critical', 'major', 'minor', 'nit'] as const;

/** One comment of the JSON block review_pr ends with. `line` is in the new version of the file; null for the whole file. */
export interface ReviewComment {
  file: string;
  line: number | null;
  severity: (typeof REVIEW_SEVERITIES)[number];
  text: string;
  /** What to do about it, when the reviewer said (a fix task quotes it). */
  suggestion?: string;
}

// Refs end up in git commands the agent runs, so only characters git allows in ref names and revision expressions
// (HEAD~2, main@{1}, v1.0^) pass; no spaces, quotes, ';', '$' or a leading '-' that git would read as an option.
const GIT_REF = /^(?!-)[A-Za-z0-9._/@{}~^+-]+$/;

function gitRef(what: string): z.ZodOptional<z.ZodString> {
  return z
    .string()
    .trim()
    .regex(
      GIT_REF,
      'a git branch, tag, commit or revision such as main, v1.2.0, a1b2c3d or HEAD~1 (no spaces or shell characters)',
    )
    .optional()
    .describe(what);
}

const reviewInput = z
  .strictObject({
    diff: z
      .string()
      .trim()
      .min(1)
      .optional()
      .describe(
        "The change to review: a unified diff (git diff output) or code pasted inline, optionally with the requester's notes. Plain text sent to this skill fills this field.",
      ),
    workdir,
    base: gitRef(
      'The ref the change starts from: a branch, tag or commit in workdir, for example main. Needs workdir.',
    ),
    head: gitRef(
      'The ref holding the change: a branch, tag or commit in workdir, for example feature/login. Needs workdir.',
    ),
    focus: z
      .string()
      .trim()
      .min(1)
      .optional()
      .describe(
        'What to pay attention to: for example security, concurrency, error handling or API compatibility.',
      ),
  })
  .superRefine((input, ctx) => {
    if (input.diff === undefined && input.workdir === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['diff'],
        message:
          'the change to review, as a unified diff in input.diff, or input.workdir naming a repository (with input.base and/or input.head to pick the change)',
      });
    }
    for (const ref of ['base', 'head'] as const) {
      if (input[ref] !== undefined && input.workdir === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['workdir'],
          message: `the repository that input.${ref} ${quoted(input[ref])} belongs to (a ref means nothing without a repository)`,
        });
      }
    }
  })
  .describe('Give diff, or workdir (optionally with base and head), or both.');

type ReviewInput = z.output<typeof reviewInput>;

/** Tells the agent where the change is, from the most specific thing the caller gave. */
function whatToReview(input: ReviewInput): string | undefined {
  const { base, head } = input;
  if (base !== undefined && head !== undefined) {
    return `Review the changes between the refs ${quoted(base)} (base) and ${quoted(head)} (head): start from git diff ${base}...${head} and git log ${base}..${head}.`;
  }
  if (head !== undefined) {
    return `Review the changes on the ref ${quoted(head)} since it diverged from the default branch (main or master): find the merge base with git merge-base, then read git diff <merge-base>...${head}.`;
  }
  if (base !== undefined) {
    return `Review the changes from the ref ${quoted(base)} to the current checkout: start from git diff ${base}...HEAD and any uncommitted changes (git diff HEAD).`;
  }
  if (input.diff === undefined) {
    return 'Review the uncommitted changes in the current directory (git status, git diff HEAD); if there are none, review the most recent commit (git show HEAD).';
  }
  return undefined;
}

const SEVERITIES: ReadonlySet<string> = new Set(REVIEW_SEVERITIES);

/**
 * The review comments of a review_pr answer: the last fenced json block holding an array (the prompt asks for it
 * as the very last thing). Entries that are not comments are dropped; an unknown severity becomes `minor`. Each
 * comment is a finding with a stable id, which a follow-up names to have it fixed (`finding: <taskId>#<id>`).
 */
export function parseReviewComments(answer: string): { comments: Finding[]; error?: string } {
  const blocks = [...answer.matchAll(/```(?:json)?[ \t]*\r?\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  for (const block of blocks.reverse()) {
    let value: unknown;
    try {
      value = JSON.parse(block);
    } catch {
      continue;
    }
    if (!Array.isArray(value)) continue;
    const comments: ReviewComment[] = [];
    for (const item of value) {
      if (item === null || typeof item !== 'object') continue;
      const c = item as Record<string, unknown>;
      if (typeof c.text !== 'string' || c.text.trim() === '') continue;
      const severity = typeof c.severity === 'string' && SEVERITIES.has(c.severity) ? c.severity : 'minor';
      comments.push({
        file: typeof c.file === 'string' ? c.file : '',
        line: typeof c.line === 'number' && Number.isInteger(c.line) && c.line > 0 ? c.line : null,
        severity: severity as ReviewComment['severity'],
        text: c.text.trim(),
        ...(typeof c.suggestion === 'string' && c.suggestion.trim() !== ''
          ? { suggestion: c.suggestion.trim() }
          : {}),
      });
    }
    return { comments: withFindingIds(comments) };
  }
  return { comments: [], error: 'the review ended without a JSON block of comments' };
}

/** review_pr: reviews a diff or a range of commits and reports comments; changes nothing. */
export const reviewPr = defineSkill({
  id: 'review_pr',
  name: 'Review pull request',
  description:
    'Reviews a change like a careful senior reviewer (correctness, security, error handling, tests, readability) without modifying anything, and returns a summary plus a JSON list of comments {file, line, severity, text} with severity critical, major, minor or nit. Send the change as diff (plain text works), or workdir with base and/or head refs.',
  tags: ['review', 'pull-request', 'code-review', 'read-only'],
  examples: [
    'Review this diff for bugs and security problems:\ndiff --git a/src/auth.ts b/src/auth.ts\n...',
    '{"workdir": "/srv/repos/api", "base": "main", "head": "feature/login-rate-limit", "focus": "security"}',
    '{"workdir": "/srv/repos/api", "focus": "error handling"}',
  ],
  input: reviewInput,
  mainField: 'diff',
  defaultBackend: 'claude',
  readOnly: true,
  parseReview: parseReviewComments,
  outputModes: ['text/plain', 'application/json'],
  prompt: (input) =>
    sections(
      preamble('review_pr', true),
      'Task: review a code change and report what you find. You give feedback only; you change nothing.',
      input.diff !== undefined ? `The change to review:\n${fenced(input.diff, 'diff')}` : undefined,
      whatToReview(input),
      input.diff !== undefined && input.workdir !== undefined
        ? 'The current directory holds the repository the change belongs to: read the surrounding code for context.'
        : undefined,
      input.focus !== undefined
        ? `The caller asks you to pay particular attention to:\n${fenced(input.focus)}`
        : undefined,
      [
        'Look for, in order of importance: bugs and wrong behaviour, security problems, data loss and concurrency hazards, missing error handling, missing or weak tests, API or compatibility breaks, then readability and naming.',
        'Comment only on the change and code it affects. Be specific: say what is wrong, why it matters, and what to do instead. Do not pad the review with praise or restate the diff.',
      ].join('\n'),
      [
        'Finish with a short summary (your overall verdict: approve, or request changes, and the main reasons), then, as the very last thing in your answer, one fenced json block holding a JSON array of comments, each of the form:',
        '{"file": "path/relative/to/repo", "line": 42, "severity": "major", "text": "what is wrong and why it matters", "suggestion": "what to do instead"}',
        `severity is one of ${REVIEW_SEVERITIES.map((s) => `"${s}"`).join(', ')}; line is the line number in the new version of the file, or null for a comment on the whole file. Write [] if you have no comments.`,
      ].join('\n'),
    ),
});
