import { z } from 'zod';
import { buildChildEnv } from '../runner/env.js';
import type { ProcessRunner } from '../runner/types.js';
import { resolveCommand } from '../runner/which.js';
import { abortedOutcome, spawnFailure, tail } from './outcome.js';
import { fillTemplate } from './template.js';
import type { AgentErrorKind, AgentEvent, Backend, BackendOutcome, BackendRunContext } from './types.js';

export interface CommandBackendOptions {
  name: string;
  command: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  passEnv: readonly string[];
  output: 'text' | 'jsonl';
  stdin: 'none' | 'prompt';
  /** HOME for the child: the conversation's private home (default), or the gateway user's own. */
  home: 'context' | 'inherit';
  /** The gateway's environment, filtered through the allowlist for each child. */
  baseEnv: NodeJS.ProcessEnv;
  killGraceMs: number;
  /** Starts the child (the composition root records it in the process registry). */
  run: ProcessRunner;
}

const usageSchema = z
  .object({
    inputTokens: z.number(),
    outputTokens: z.number(),
    cacheReadTokens: z.number(),
    cacheWriteTokens: z.number(),
    costUsd: z.number(),
    model: z.string(),
    numTurns: z.number(),
    durationMs: z.number(),
  })
  .partial();

/** The JSONL output mode: one normalized {@link AgentEvent} per line. */
const eventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string(), delta: z.boolean().optional() }),
  z.object({
    type: z.literal('tool_call'),
    id: z.string().optional(),
    name: z.string(),
    summary: z.string().default(''),
  }),
  z.object({
    type: z.literal('tool_result'),
    id: z.string().optional(),
    name: z.string().optional(),
    ok: z.boolean().default(true),
    summary: z.string().default(''),
  }),
  z.object({ type: z.literal('file_change'), path: z.string(), kind: z.enum(['add', 'update', 'delete']) }),
  z.object({ type: z.literal('usage'), usage: usageSchema }),
  z.object({ type: z.literal('session'), sessionId: z.string() }),
  z.object({ type: z.literal('result'), text: z.string(), isError: z.boolean().default(false) }),
  z.object({
    type: z.literal('error'),
    message: z.string(),
    kind: z.enum(['auth', 'rate_limit', 'api', 'not_installed', 'other']).default('other'),
  }),
]);

function parseJsonlEvent(line: string): AgentEvent {
  try {
    const parsed = eventSchema.safeParse(JSON.parse(line));
    if (parsed.success) return parsed.data;
  } catch {
    // not JSON: kept as a log line below
  }
  return { type: 'log', stream: 'stdout', line };
}

/**
 * The generic backend: runs any executable with templated argv and env. In `text` mode its stdout is the result
 * and each line is progress; in `jsonl` mode each line is one normalized event. Exit 0 is success.
 */
export class CommandBackend implements Backend {
  readonly type = 'command';
  readonly name: string;

  constructor(private readonly opts: CommandBackendOptions) {
    this.name = opts.name;
  }

  async run(ctx: BackendRunContext): Promise<BackendOutcome> {
    const { spec, signal, emit } = ctx;
    const { opts } = this;
    const command = fillTemplate(opts.command, spec);
    const env = buildChildEnv({
      base: opts.baseEnv,
      allow: opts.home === 'inherit' ? ['HOME', ...opts.passEnv] : opts.passEnv,
      set: {
        ...(spec.traceparent ? { TRACEPARENT: spec.traceparent } : {}),
        ...Object.fromEntries(Object.entries(opts.env).map(([k, v]) => [k, fillTemplate(v, spec)])),
      },
      ...(opts.home === 'inherit' ? {} : { home: ctx.home }),
    });
    const resolved = await resolveCommand(command, env.PATH);
    if (!resolved) {
      return {
        status: 'failed',
        summary: '',
        errorKind: 'not_installed',
        reason: `backend "${this.name}": command "${command}" was not found on PATH; install it or set the backend's command in the config file`,
      };
    }

    let resultText: string | undefined;
    let resultIsError = false;
    let usage: BackendOutcome['usage'];
    let sessionId: string | undefined;
    let errorKind: AgentErrorKind | undefined;
    const onLine = (line: string): void => {
      if (opts.output === 'text') {
        if (line.trim() !== '') emit({ type: 'text', text: line });
        return;
      }
      if (line.trim() === '') return;
      const event = parseJsonlEvent(line);
      if (event.type === 'result') {
        resultText = event.text;
        resultIsError = event.isError;
      } else if (event.type === 'usage') usage = { ...usage, ...event.usage };
      else if (event.type === 'session') sessionId = event.sessionId;
      else if (event.type === 'error') errorKind = event.kind;
      emit(event);
    };

    const result = await this.opts.run(
      {
        argv: [resolved, ...opts.args.map((a) => fillTemplate(a, spec))],
        cwd: spec.workdir,
        env,
        signal,
        graceMs: opts.killGraceMs,
        onStdoutLine: onLine,
        onStderrLine: (line) => emit({ type: 'log', stream: 'stderr', line }),
        ...(opts.stdin === 'prompt' ? { stdin: spec.prompt } : {}),
      },
      spec.taskId,
    );

    const summary = resultText ?? result.stdout.trim();
    const extra = { ...(usage ? { usage } : {}), ...(sessionId ? { sessionId } : {}) };
    if (result.aborted) return { ...abortedOutcome(signal, summary), ...extra };
    const failure = spawnFailure(this.name, command, result);
    if (failure) return failure;
    if (result.exitCode === 0 && !resultIsError) {
      return { status: 'completed', summary, exitCode: 0, ...extra };
    }
    const why =
      result.exitCode === null
        ? `was killed by ${result.signal ?? 'a signal'}`
        : `exited with code ${result.exitCode}`;
    const detail = tail(resultIsError ? summary : result.stderr || result.stdout);
    return {
      status: 'failed',
      summary,
      reason: `backend "${this.name}": ${command} ${why}${detail ? `: ${detail}` : ''}`,
      exitCode: result.exitCode,
      signal: result.signal,
      // The kind of the last error event it reported (a usage limit pauses the task instead of failing it).
      ...(errorKind ? { errorKind } : {}),
      ...extra,
    };
  }
}
