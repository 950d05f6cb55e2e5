import { TaskState } from '@a2a-js/sdk';
import { AgentEvent, type AgentExecutionEvent } from '@a2a-js/sdk/server';
import type { RunEvent, RunStatus } from '../run/run-events.js';
import { describeReport } from '../verify/report.js';
import { agentMessage, artifactUpdate, dataPart, filePart, statusUpdate, textPart } from './a2a.js';

const STATE_OF: Record<RunStatus, TaskState> = {
  completed: TaskState.TASK_STATE_COMPLETED,
  failed: TaskState.TASK_STATE_FAILED,
  canceled: TaskState.TASK_STATE_CANCELED,
};

/**
 * The A2A events of a run event: `working` status updates while it runs; at its end, on success the result
 * artifacts (the summary with the run details, the review, the diff, each generated file), then the terminal
 * status with the run details in its metadata.
 */
export function a2aEventsOf(taskId: string, contextId: string, event: RunEvent): AgentExecutionEvent[] {
  switch (event.type) {
    case 'started':
      return [working(taskId, contextId, event.text, { event: 'started' })];
    case 'progress':
      return [working(taskId, contextId, event.text, event.metadata)];
    case 'finished': {
      const events: AgentExecutionEvent[] = [];
      const products = event.products;
      if (event.testReport) {
        // Completed or not: a failed verification is what the caller most needs to read.
        events.push(
          AgentEvent.artifactUpdate(
            artifactUpdate(taskId, contextId, {
              artifactId: `${taskId}-test-report`,
              name: 'test-report',
              description:
                "The gateway's own run of the test command before and after the agent: command, exit codes, durations, output tails, verdict.",
              parts: [textPart(describeReport(event.testReport)), dataPart({ ...event.testReport })],
            }),
          ),
        );
      }
      if (products) {
        const parts = [textPart(products.summary), dataPart(event.details)];
        if (products.review) {
          const { comments, error } = products.review;
          parts.push(dataPart({ comments, ...(error ? { error } : {}) }, { kind: 'review' }));
        }
        events.push(
          AgentEvent.artifactUpdate(
            artifactUpdate(taskId, contextId, {
              artifactId: `${taskId}-result`,
              name: 'result',
              description: 'The agent summary of what it did, and the run details (usage, changed files).',
              parts,
            }),
          ),
        );
        if (products.diff !== undefined) {
          events.push(
            AgentEvent.artifactUpdate(
              artifactUpdate(taskId, contextId, {
                artifactId: `${taskId}-diff`,
                name: 'diff',
                description: 'The unified diff of every file the task changed (git apply takes it).',
                parts: [filePart(products.diff, 'text/x-diff', 'changes.diff')],
              }),
            ),
          );
        }
        if (products.pullRequest) {
          events.push(
            AgentEvent.artifactUpdate(
              artifactUpdate(taskId, contextId, {
                artifactId: `${taskId}-pull-request`,
                name: 'pull-request',
                description: 'The pull request opened for the pushed task branch.',
                parts: [textPart(products.pullRequest.url), dataPart({ url: products.pullRequest.url })],
              }),
            ),
          );
        }
        for (const [i, file] of products.files.entries()) {
          events.push(
            AgentEvent.artifactUpdate(
              artifactUpdate(taskId, contextId, {
                artifactId: `${taskId}-file-${i + 1}`,
                name: file.path,
                description: `A file the task wrote: ${file.path}`,
                parts: [filePart(file.text, file.mediaType, file.path)],
              }),
            ),
          );
        }
      }
      events.push(
        AgentEvent.statusUpdate(
          statusUpdate(
            taskId,
            contextId,
            STATE_OF[event.status],
            agentMessage(taskId, contextId, [textPart(event.text)], { event: event.status }),
            event.details,
          ),
        ),
      );
      return events;
    }
    default: {
      const never: never = event;
      return never;
    }
  }
}

function working(
  taskId: string,
  contextId: string,
  text: string,
  metadata: Record<string, unknown>,
): AgentExecutionEvent {
  return AgentEvent.statusUpdate(
    statusUpdate(
      taskId,
      contextId,
      TaskState.TASK_STATE_WORKING,
      agentMessage(taskId, contextId, [textPart(text)], metadata),
    ),
  );
}
