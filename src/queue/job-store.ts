import type { JobState, StoredJob, TaskJob } from './job.js';

/**
 * Jobs acknowledged to a caller and not yet ended. A job is saved before its task is acknowledged and removed
 * when the task ends, so after a crash the store says which tasks are still owed (queued) and which were cut
 * short (running).
 */
export interface JobStore {
  save(job: TaskJob): Promise<void>;
  setState(taskId: string, state: JobState): Promise<void>;
  remove(taskId: string): Promise<void>;
  /** Every kept job, oldest first. */
  list(): Promise<StoredJob[]>;
  close(): Promise<void>;
}

/** Jobs in this process's memory: for the memory task store, whose tasks do not outlive the process either. */
export class MemoryJobStore implements JobStore {
  private readonly jobs = new Map<string, StoredJob>();

  save(job: TaskJob): Promise<void> {
    this.jobs.set(job.taskId, { job: structuredClone(job), state: 'queued' });
    return Promise.resolve();
  }

  setState(taskId: string, state: JobState): Promise<void> {
    const entry = this.jobs.get(taskId);
    if (entry) entry.state = state;
    return Promise.resolve();
  }

  remove(taskId: string): Promise<void> {
    this.jobs.delete(taskId);
    return Promise.resolve();
  }

  list(): Promise<StoredJob[]> {
    return Promise.resolve([...this.jobs.values()].map((e) => structuredClone(e)));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
