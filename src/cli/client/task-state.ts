import type { Artifact, StreamResponse, Task } from '@a2a-js/sdk';

/**
 * A task as a client sees it while events arrive: the last snapshot, with later status updates and artifact
 * chunks applied (the SDK hands over events; keeping the task whole is the client's job).
 */
export class TaskSnapshot {
  task: Task | undefined;
  /** A direct message answer (a server that replies without a task). */
  message: string | undefined;

  apply(event: StreamResponse): void {
    const p = event.payload;
    if (!p) return;
    switch (p.$case) {
      case 'task':
        this.task = { ...p.value, artifacts: [...(p.value.artifacts ?? [])] };
        break;
      case 'statusUpdate':
        this.ensure(p.value.taskId, p.value.contextId).status = p.value.status;
        break;
      case 'artifactUpdate': {
        const task = this.ensure(p.value.taskId, p.value.contextId);
        const incoming = p.value.artifact;
        if (!incoming) break;
        const i = task.artifacts.findIndex((a) => a.artifactId === incoming.artifactId);
        if (i < 0) task.artifacts.push(incoming);
        else if (p.value.append) {
          const prev = task.artifacts[i] as Artifact;
          task.artifacts[i] = { ...prev, parts: [...prev.parts, ...incoming.parts] };
        } else task.artifacts[i] = incoming;
        break;
      }
      case 'message':
        this.message = p.value.parts
          .map((part) => (part.content?.$case === 'text' ? part.content.value : ''))
          .join('\n');
        break;
      default:
        break;
    }
  }

  private ensure(taskId: string, contextId: string): Task {
    this.task ??= {
      id: taskId,
      contextId,
      status: undefined,
      artifacts: [],
      history: [],
      metadata: undefined,
    };
    return this.task;
  }
}
