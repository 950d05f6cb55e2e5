import { TaskState, type Task } from '@a2a-js/sdk';
import type { Output } from './output.js';
import { dollars } from './progress-view.js';
import { costOf, messageText, questionOf, resultOf, stateName } from './task-view.js';

/** A unified diff with added lines green, removed red, hunk headers cyan, file headers bold (colours permitting). */
export function colorDiff(diff: string, out: Output): string {
  const c = out.c;
  return diff
    .split('\n')
    .map((line) => {
      if (
        /^(diff --git|index |\+\+\+ |--- |new file|deleted file|similarity|rename |Binary files)/.test(line)
      )
        return c.bold(line);
      if (line.startsWith('@@')) return c.cyan(line);
      if (line.startsWith('+')) return c.green(line);
      if (line.startsWith('-')) return c.red(line);
      return line;
    })
    .join('\n');
}

function changedFilesLines(details: Record<string, unknown> | undefined, out: Output): string[] {
  const files = details?.changedFiles;
  if (!Array.isArray(files)) return [];
  return files.map((f: unknown) => {
    const file = (f ?? {}) as {
      path?: unknown;
      status?: unknown;
      kind?: unknown;
      added?: unknown;
      removed?: unknown;
    };
    const status =
      typeof file.status === 'string' ? file.status : typeof file.kind === 'string' ? file.kind : 'changed';
    const path = typeof file.path === 'string' ? file.path : '?';
    const counts =
      typeof file.added === 'number' || typeof file.removed === 'number'
        ? ` ${out.c.green(`+${Number(file.added ?? 0)}`)} ${out.c.red(`-${Number(file.removed ?? 0)}`)}`
        : '';
    return `  ${status} ${path}${counts}`;
  });
}

function usageLine(task: Task, details: Record<string, unknown> | undefined): string | undefined {
  const usage = (details?.usage ?? task.metadata?.usage) as Record<string, unknown> | undefined;
  if (!usage) return undefined;
  const bits: string[] = [];
  const tokens = [usage.inputTokens, usage.outputTokens].filter((n): n is number => typeof n === 'number');
  if (tokens.length === 2) bits.push(`${tokens[0]} in / ${tokens[1]} out tokens`);
  const cost = costOf(usage);
  if (cost !== undefined) bits.push(dollars(cost));
  if (typeof usage.model === 'string') bits.push(usage.model);
  if (typeof usage.durationMs === 'number') bits.push(`${(usage.durationMs / 1000).toFixed(1)} s`);
  return bits.length > 0 ? bits.join(', ') : undefined;
}

function workspaceLine(details: Record<string, unknown> | undefined): string | undefined {
  const ws = details?.workspace as Record<string, unknown> | undefined;
  if (!ws) return undefined;
  const bits: string[] = [];
  if (typeof ws.branch === 'string') bits.push(`branch ${ws.branch}`);
  if (typeof ws.commit === 'string') bits.push(`commit ${ws.commit.slice(0, 12)}`);
  if (ws.applied === true) bits.push('applied to the workdir');
  return bits.length > 0 ? bits.join(', ') : undefined;
}

/**
 * How a task ended, for a person: the summary and the diff on stdout; why it failed, was canceled or refused, or
 * what it asks, on stderr.
 */
export function printOutcome(task: Task, out: Output): void {
  const state = task.status?.state;
  const c = out.c;
  const reason = messageText(task.status?.message);
  if (state === TaskState.TASK_STATE_COMPLETED) {
    const { summary, details, diff, others } = resultOf(task);
    if (summary) out.line(summary);
    const files = changedFilesLines(details, out);
    if (files.length > 0) {
      out.line();
      out.line(c.bold('changed files:'));
      for (const f of files) out.line(f);
    }
    for (const a of others) out.line(`${c.bold('artifact')} ${a.name || a.artifactId}`);
    if (diff) {
      out.line();
      out.line(colorDiff(diff.replace(/\n$/, ''), out));
    }
    const usage = usageLine(task, details);
    const ws = workspaceLine(details);
    if (usage) out.note(out.ce.dim(`usage: ${usage}`));
    if (ws) out.note(out.ce.dim(`workspace: ${ws}`));
    out.note(out.ce.green(`completed`) + out.ce.dim(` (task ${task.id})`));
    return;
  }
  if (state === TaskState.TASK_STATE_INPUT_REQUIRED || state === TaskState.TASK_STATE_AUTH_REQUIRED) {
    const q = questionOf(task);
    out.note(out.ce.yellow(`task ${task.id} is waiting for an answer: ${q.question ?? q.text}`));
    if (q.options.length > 0) out.note(`options: ${q.options.join(', ')}`);
    out.note(`answer with: a2a-gateway tasks reply ${task.id} <answer>`);
    return;
  }
  const name = stateName(state);
  const color = state === TaskState.TASK_STATE_CANCELED ? out.ce.yellow : out.ce.red;
  out.note(color(`${name}${reason ? `: ${reason}` : ''}`) + out.ce.dim(` (task ${task.id})`));
}
