// Builders for in-memory A2A tasks, with every field the SDK's Task.fromJSON would fill, so that a task that
// went through a store's wire JSON round trip deep-equals the one that was saved.
import { Role, TaskState, type Artifact, type Message, type Part, type Task } from '@a2a-js/sdk';
import { ServerCallContext, type User } from '@a2a-js/sdk/server';

let counter = 0;

/** A unique id with a readable prefix. */
export function nextId(prefix = 'task'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

export function textPart(text: string, extra: Partial<Part> = {}): Part {
  return {
    content: { $case: 'text', value: text },
    mediaType: '',
    filename: '',
    metadata: undefined,
    ...extra,
  };
}

export function dataPart(value: unknown, extra: Partial<Part> = {}): Part {
  return {
    content: { $case: 'data', value },
    mediaType: 'application/json',
    filename: '',
    metadata: undefined,
    ...extra,
  };
}

export function rawPart(bytes: Buffer, extra: Partial<Part> = {}): Part {
  return {
    content: { $case: 'raw', value: bytes },
    mediaType: 'application/octet-stream',
    filename: '',
    metadata: undefined,
    ...extra,
  };
}

export function urlPart(url: string, extra: Partial<Part> = {}): Part {
  return {
    content: { $case: 'url', value: url },
    mediaType: '',
    filename: '',
    metadata: undefined,
    ...extra,
  };
}

export function makeMessage(opts: {
  messageId?: string;
  role?: Role;
  parts?: Part[];
  taskId?: string;
  contextId?: string;
  metadata?: Record<string, unknown>;
}): Message {
  return {
    messageId: opts.messageId ?? nextId('msg'),
    contextId: opts.contextId ?? '',
    taskId: opts.taskId ?? '',
    role: opts.role ?? Role.ROLE_USER,
    parts: opts.parts ?? [textPart('hello')],
    metadata: opts.metadata,
    extensions: [],
    referenceTaskIds: [],
  };
}

export function makeArtifact(parts: Part[], extra: Partial<Artifact> = {}): Artifact {
  return {
    artifactId: nextId('artifact'),
    name: 'result',
    description: '',
    parts,
    metadata: undefined,
    extensions: [],
    ...extra,
  };
}

export interface MakeTaskOptions {
  id?: string;
  contextId?: string;
  state?: TaskState;
  /** Status timestamp; `null` leaves it out. Default: now. */
  ts?: string | null;
  artifacts?: Artifact[];
  history?: Message[];
  metadata?: Record<string, unknown>;
  statusMessage?: Message;
}

/** A task with sensible defaults: a fresh id, working, stamped now, no artifacts or history. */
export function makeTask(opts: MakeTaskOptions = {}): Task {
  return {
    id: opts.id ?? nextId(),
    contextId: opts.contextId ?? 'ctx-default',
    status: {
      state: opts.state ?? TaskState.TASK_STATE_WORKING,
      message: opts.statusMessage,
      timestamp: opts.ts === null ? undefined : (opts.ts ?? new Date().toISOString()),
    },
    artifacts: opts.artifacts ?? [],
    history: opts.history ?? [],
    metadata: opts.metadata,
  };
}

/** A task using every part kind, a status message, history and nested metadata. */
export function makeRichTask(opts: MakeTaskOptions = {}): Task {
  const id = opts.id ?? nextId();
  const contextId = opts.contextId ?? 'ctx-rich';
  return makeTask({
    id,
    contextId,
    state: TaskState.TASK_STATE_COMPLETED,
    ts: '2025-03-04T05:06:07.089Z',
    statusMessage: makeMessage({
      role: Role.ROLE_AGENT,
      taskId: id,
      contextId,
      parts: [textPart('done: 2 files changed')],
    }),
    history: [
      makeMessage({
        taskId: id,
        contextId,
        parts: [
          textPart('fix the failing test', { metadata: { lang: 'en' } }),
          dataPart({ skill: 'fix_bug', args: { file: 'src/a.ts', line: 12, strict: true, tags: [] } }),
        ],
        metadata: { skill: 'fix_bug' },
      }),
      makeMessage({ role: Role.ROLE_AGENT, taskId: id, contextId, parts: [textPart('working on it')] }),
    ],
    artifacts: [
      makeArtifact(
        [
          textPart('--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1 +1 @@\n-x\n+y\n', { mediaType: 'text/x-diff' }),
          dataPart({
            changedFiles: ['src/a.ts'],
            usage: { inputTokens: 10, outputTokens: 5, costUsd: 0.0012 },
          }),
          rawPart(Buffer.from([0, 1, 2, 253, 254, 255]), { filename: 'blob.bin' }),
          urlPart('https://example.test/report.html'),
        ],
        { name: 'diff', description: 'the change', metadata: { format: 'unified' }, extensions: ['urn:x'] },
      ),
    ],
    metadata: { skill: 'fix_bug', backend: 'claude', nested: { list: [1, 'two', { three: 3 }], ok: false } },
    ...opts,
  });
}

/**
 * The same task for the same `n` in any process (no generated ids or clocks), so a test can check what
 * another process wrote.
 */
export function makeNumberedTask(n: number): Task {
  const id = `numbered-${n}`;
  const contextId = `ctx-${n % 7}`;
  return makeTask({
    id,
    contextId,
    state: n % 2 === 0 ? TaskState.TASK_STATE_WORKING : TaskState.TASK_STATE_COMPLETED,
    ts: new Date(Date.UTC(2025, 0, 1) + n * 1000).toISOString(),
    history: [
      makeMessage({ messageId: `${id}-m0`, taskId: id, contextId, parts: [textPart(`request ${n}`)] }),
    ],
    artifacts: [
      makeArtifact([textPart(`output ${n} `.repeat(500)), dataPart({ n, files: [`src/file-${n}.ts`] })], {
        artifactId: `${id}-a0`,
      }),
    ],
    metadata: { n },
  });
}

/** A caller as the SDK's transports build it: an authenticated user (or none) in a tenant (or none). */
export function callContext(userName?: string, tenant?: string): ServerCallContext {
  const user: User | undefined = userName === undefined ? undefined : { isAuthenticated: true, userName };
  return new ServerCallContext({ ...(user ? { user } : {}), ...(tenant === undefined ? {} : { tenant }) });
}
