// The protocol-free task run, called as a worker node calls it: a job, a signal, a sink, and the ports.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { FakeBackend } from '../../src/agents/fake-backend.js';
import type { Backend } from '../../src/agents/types.js';
import { loadConfig } from '../../src/config/load.js';
import type { TaskJob } from '../../src/queue/job.js';
import type { RunEvent } from '../../src/run/run-events.js';
import { TaskRun, type TaskRunDeps } from '../../src/run/task-run.js';
import { Conversations } from '../../src/service/conversations.js';
import { TaskPlanner } from '../../src/service/planner.js';
import { Workspaces } from '../../src/service/workspaces.js';
import { BUILTIN_SKILLS } from '../../src/skills/catalog.js';
import { MemoryTaskStore } from '../../src/stores/memory-store.js';
import { nextId } from '../helpers/tasks.js';

const logger = pino({ level: 'silent' });

function job(fields: Partial<TaskJob> = {}): TaskJob {
  return {
    taskId: nextId(),
    contextId: 'ctx-run',
    owner: 'alice',
    tenant: '',
    skill: 'code',
    backend: 'agent',
    input: { task: 'say hello' },
    prompt: 'Say hello.',
    timeoutMs: 30_000,
    workspace: { commit: false, apply: false },
    request: 'say hello',
    meta: { skill: 'code', backend: 'agent' },
    ...fields,
  };
}

describe('task run (protocol-free, as a worker calls it)', () => {
  let dir: string;
  let run: TaskRun;
  let deps: TaskRunDeps;
  let sessions: string[];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'a2a-task-run-'));
    const config = loadConfig({
      env: { ALLOW_UNAUTHENTICATED: 'true' },
      knownSkills: BUILTIN_SKILLS.map((s) => s.id),
    });
    sessions = [];
    const agent = new FakeBackend({
      name: 'agent',
      outcome: 'completed',
      summary: 'hello from the agent, token sk-secret-123',
      steps: [
        { event: { type: 'text', text: 'working on it' } },
        { event: { type: 'session', sessionId: 'sess-1' } },
        { sleepMs: 300 },
      ],
    });
    // Records the session each turn is asked to resume: the conversation binding at work.
    const recording: Backend = {
      type: agent.type,
      name: agent.name,
      resume: 'native',
      run: (ctx) => {
        sessions.push(ctx.spec.resumeSessionId ?? '');
        return agent.run(ctx);
      },
    };
    deps = {
      planner: new TaskPlanner({ config, skills: BUILTIN_SKILLS }),
      backends: new Map([['agent', recording]]),
      conversations: new Conversations(dir, new MemoryTaskStore()),
      workspaces: new Workspaces({
        dataDir: dir,
        git: { env: { PATH: process.env.PATH ?? '' } },
        logger,
        nonGit: 'copy',
        branchRetentionMs: 3_600_000,
      }),
      logger,
      redact: (text) => text.replaceAll('sk-secret-123', '[REDACTED]'),
    };
    run = new TaskRun(deps);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a job and a signal in, run events out: started, progress, then the end with the redacted summary', async () => {
    const events: RunEvent[] = [];
    const result = await run.run(job(), {
      signal: new AbortController().signal,
      sink: (e) => events.push(e),
    });
    assert.deepEqual(result, { ended: true });
    assert.deepEqual(
      events.map((e) => e.type),
      ['started', 'progress', 'finished'],
    );
    assert.equal(events[0]?.type === 'started' && events[0].text, 'running code with agent');
    assert.deepEqual(events[1]?.type === 'progress' && events[1], {
      type: 'progress',
      text: 'working on it',
      metadata: { event: 'text' },
    });
    const end = events[2];
    assert.ok(end?.type === 'finished');
    assert.equal(end.status, 'completed');
    assert.equal(end.text, 'hello from the agent, token [REDACTED]');
    assert.equal(end.products?.summary, end.text);
    assert.equal(end.details.skill, 'code');
    assert.equal(typeof end.details.durationMs, 'number');
  });

  test("a follow-up in the same context resumes the first turn's session", async () => {
    const contextId = `ctx-${nextId()}`;
    sessions.length = 0;
    await run.run(job({ contextId }), { sink: () => undefined });
    await run.run(job({ contextId }), { sink: () => undefined });
    assert.deepEqual(sessions, ['', 'sess-1']);
  });

  test('an aborted signal ends the run canceled, with the reason', async () => {
    const controller = new AbortController();
    const events: RunEvent[] = [];
    const running = run.run(job({ contextId: `ctx-${nextId()}` }), {
      signal: controller.signal,
      sink: (e) => {
        events.push(e);
        if (e.type === 'progress') controller.abort(new Error('canceled by request'));
      },
    });
    assert.deepEqual(await running, { ended: true });
    const end = events.at(-1);
    assert.ok(end?.type === 'finished');
    assert.equal(end.status, 'canceled');
  });

  test('observers see every event after the sink; one that throws does not break the run', async () => {
    const seen: string[] = [];
    const observed = new TaskRun({
      ...deps,
      observers: [
        () => {
          throw new Error('a faulty observer');
        },
        (ran, event) => seen.push(`${ran.taskId}:${event.type}`),
      ],
    });
    const events: string[] = [];
    const ran = job({ contextId: `ctx-${nextId()}` });
    await observed.run(ran, { sink: (e) => events.push(`${ran.taskId}:${e.type}`) });
    assert.deepEqual(seen, events);
    assert.equal(seen.at(-1), `${ran.taskId}:finished`);
  });

  test('a job whose skill this gateway no longer has ends failed, naming it', async () => {
    const events: RunEvent[] = [];
    await run.run(job({ skill: 'gone' }), { sink: (e) => events.push(e) });
    assert.equal(events.length, 1);
    const end = events[0];
    assert.ok(end?.type === 'finished');
    assert.equal(end.status, 'failed');
    assert.match(end.text, /unknown skill "gone"/);
  });
});
