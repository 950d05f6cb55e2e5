import { TaskState, type Task } from '@a2a-js/sdk';
import type { TaskEventLog } from '../events/task-event-log.js';
import type { Logger } from '../observability/logger.js';
import type { TaskJob } from '../queue/job.js';
import type { JobStore } from '../queue/job-store.js';
import type { GatewayTaskStore } from '../stores/types.js';
import { agentMessage, textPart } from './a2a.js';

export interface RecoveryDeps {
  store: GatewayTaskStore;
  events: TaskEventLog;
  jobs: JobStore;
  logger: Logger;
}

export interface RecoveryOptions {
  /** The reason an unfinished task that is not run again ends with. */
  reason: string;
  /** Whether a skill's task that was running may be run again (the skill's `retryOnRestart`). */
  retryOnRestart: (skill: string) => boolean;
  /**
   * On a task store other nodes share: this node's name. Only the unfinished tasks it ran (`metadata.node`, the
   * mark {@link markNode} leaves) are settled; the others belong to nodes that are still up, or, when their node
   * died, to BullMQ's stalled-job check. Without it every unfinished task is this process's (a store of its own).
   */
  node?: string;
}

/** The task metadata that names the node a task runs on (see {@link RecoveryOptions.node}). */
export function markNode(nodeId: string): { node: string } {
  return { node: nodeId };
}

function ownedBy(task: Task, node: string | undefined): boolean {
  return node === undefined || task.metadata?.node === node;
}

/**
 * Settles what a previous process left unfinished, so nothing stays `working`: a task acknowledged but not
 * started is still owed and returned to be run; one that was running is returned too when its skill may run
 * again, else it ends `failed` with the reason (in its event log too, so a replay shows how it ended).
 */
export async function settleUnfinished(deps: RecoveryDeps, opts: RecoveryOptions): Promise<TaskJob[]> {
  const kept = new Map((await deps.jobs.list()).map((entry) => [entry.job.taskId, entry]));
  const owed: TaskJob[] = [];
  let failed = 0;
  let others = 0;
  for (const task of await deps.store.listUnfinished()) {
    const entry = kept.get(task.id);
    if (!ownedBy(task, opts.node)) {
      // Another node's task: neither failed nor run here, and its job (if this node kept one) stays too.
      kept.delete(task.id);
      others += 1;
      continue;
    }
    kept.delete(task.id);
    if (entry && (entry.state === 'queued' || opts.retryOnRestart(entry.job.skill))) {
      owed.push(entry.job);
      continue;
    }
    await failTask(deps, task, opts.reason);
    if (entry) await deps.jobs.remove(task.id);
    failed += 1;
  }
  // Jobs whose task has ended (or is gone) are done with.
  for (const taskId of kept.keys()) await deps.jobs.remove(taskId);
  if (others > 0) deps.logger.info({ count: others }, 'left the unfinished tasks of other nodes alone');
  if (failed > 0) deps.logger.warn({ count: failed }, `marked interrupted tasks failed: ${opts.reason}`);
  if (owed.length > 0)
    deps.logger.info({ count: owed.length }, 'tasks acknowledged before the restart run now');
  return owed;
}

export async function failTask(deps: RecoveryDeps, task: Task, reason: string): Promise<void> {
  const failed: Task = {
    ...task,
    status: {
      state: TaskState.TASK_STATE_FAILED,
      message: agentMessage(task.id, task.contextId, [textPart(reason)], { event: 'failed' }),
      timestamp: new Date().toISOString(),
    },
    metadata: { ...(task.metadata ?? {}), status: 'failed', interrupted: true },
  };
  await deps.store.put(failed);
  await deps.events.reconcile(failed);
}
