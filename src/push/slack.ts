import { taskStateToJSON } from '@a2a-js/sdk';
import type { TaskEnd, TaskEndListener } from './notification-sender.js';
import type { PushDispatcher } from './sender.js';

const MAX_LINE = 200;

/**
 * The one-line summary posted for a task that ended, e.g.
 * `fix_bug completed · task 1f2e… · tests passed · PR https://github.com/o/r/pull/7 · Fixed the off-by-one`.
 */
export function taskEndText(end: TaskEnd): string {
  const state = taskStateToJSON(end.state)
    .replace(/^TASK_STATE_/, '')
    .toLowerCase();
  const firstLine =
    (end.text ?? '')
      .split('\n')
      .find((line) => line.trim() !== '')
      ?.trim() ?? '';
  const line = firstLine.length > MAX_LINE ? `${firstLine.slice(0, MAX_LINE - 1)}…` : firstLine;
  return [
    `${end.skill ?? 'task'} ${state}`,
    `task ${end.taskId}`,
    end.testVerdict ? `tests ${end.testVerdict}` : '',
    end.pullRequestUrl ? `PR ${end.pullRequestUrl}` : '',
    line,
  ]
    .filter((s) => s !== '')
    .join(' · ');
}

/**
 * A task-end listener that posts `{ "text": … }` (Slack incoming-webhook format, also understood by Mattermost
 * and similar) to `webhookUrl` through the push dispatcher: same SSRF guard and allowlist, retries and bounds.
 * All tasks share one queue, so summaries arrive in the order tasks ended.
 */
export function slackNotifier(webhookUrl: string, deps: { dispatcher: PushDispatcher }): TaskEndListener {
  return (end) => {
    deps.dispatcher.enqueue({
      queueKey: 'slack',
      taskId: end.taskId,
      configId: 'slack',
      url: webhookUrl,
      body: JSON.stringify({ text: taskEndText(end) }),
      contentType: 'application/json',
      headers: {},
      important: true,
    });
  };
}
