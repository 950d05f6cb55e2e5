// The jobs port's contract (JobStore, src/queue/job-store.ts): one suite every implementation runs (memory,
// SQLite, Redis). Call `jobStoreContract(name, make)` from a test file with a factory of empty stores.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { TaskJob } from '../../src/queue/job.js';
import type { JobStore } from '../../src/queue/job-store.js';
import { nextId } from '../helpers/tasks.js';

export interface JobStoreUnderTest {
  store: JobStore;
  cleanup(): Promise<void>;
}

export type MakeJobStore = () => Promise<JobStoreUnderTest>;

/** A job as admission plans it, with every optional field set. */
export function makeJob(fields: Partial<TaskJob> = {}): TaskJob {
  return {
    taskId: nextId(),
    contextId: 'ctx',
    owner: 'alice',
    tenant: '',
    skill: 'fix_bug',
    backend: 'claude',
    input: { description: 'the login page 500s', files: ['a.ts'] },
    prompt: 'Fix the bug.',
    workdir: '/srv/repo',
    timeoutMs: 60_000,
    model: 'sonnet',
    effort: 'high',
    workspace: { baseRef: 'main', commit: true, apply: false },
    request: 'the login page 500s',
    meta: { skill: 'fix_bug', backend: 'claude' },
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    ...fields,
  };
}

/** Runs the jobs port's contract suite against the stores `make` builds (one per test). */
export function jobStoreContract(name: string, make: MakeJobStore): void {
  void describe(`${name} store: jobs port (JobStore) contract`, () => {
    let sut: JobStoreUnderTest;
    let store: JobStore;
    beforeEach(async () => {
      sut = await make();
      store = sut.store;
    });
    afterEach(async () => {
      await sut.cleanup();
    });

    void test('a saved job comes back whole and queued; jobs are listed oldest first', async () => {
      const first = makeJob();
      const second = makeJob({ workdir: undefined, model: undefined, traceparent: undefined });
      delete second.workdir;
      delete second.model;
      delete second.traceparent;
      await store.save(first);
      await store.save(second);
      assert.deepEqual(await store.list(), [
        { job: first, state: 'queued' },
        { job: second, state: 'queued' },
      ]);
    });

    void test('setState marks a job running; remove forgets it; both ignore an unknown task', async () => {
      const a = makeJob();
      const b = makeJob();
      await store.save(a);
      await store.save(b);
      await store.setState(a.taskId, 'running');
      await store.setState('no-such-task', 'running');
      await store.remove(b.taskId);
      await store.remove('no-such-task');
      assert.deepEqual(await store.list(), [{ job: a, state: 'running' }]);
    });

    void test('saving a job again (run again after a restart) makes it queued with the new content, in its place', async () => {
      const a = makeJob();
      const b = makeJob();
      await store.save(a);
      await store.save(b);
      await store.setState(a.taskId, 'running');
      const again = { ...a, prompt: 'Fix the bug, again.' };
      await store.save(again);
      assert.deepEqual(await store.list(), [
        { job: again, state: 'queued' },
        { job: b, state: 'queued' },
      ]);
    });

    void test('listed jobs are copies', async () => {
      const a = makeJob();
      await store.save(a);
      a.prompt = 'changed by the caller';
      const [listed] = await store.list();
      assert.ok(listed);
      assert.equal(listed.job.prompt, 'Fix the bug.');
      listed.job.input.description = 'changed by a reader';
      assert.deepEqual((await store.list())[0]?.job.input.description, 'the login page 500s');
    });
  });
}
