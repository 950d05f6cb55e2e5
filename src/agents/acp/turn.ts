/**
 * One prompt turn with an ACP agent, spawned through the process runner: initialize, `session/new` in the task's
 * workspace (or `session/load` of the context's session), `session/prompt`, and `session/cancel` when the run is
 * canceled or reaches its deadline; then stdin is closed and, if the agent does not exit by itself, its process
 * group is ended. The agent's requests are served here: permission (the caller's answer, or allow when the skill
 * runs unattended), text files inside the workspace, and terminals (commands run through the process runner in the
 * workspace).
 */
import {
  client,
  PROTOCOL_VERSION,
  RequestError,
  type ClientContext,
  type PromptResponse,
  type RequestPermissionRequest,
  type RequestPermissionResponse,
} from '@agentclientprotocol/sdk';
import type { ProcessRunner, RunResult } from '../../runner/types.js';
import { abortedOutcome, spawnFailure, tail } from '../outcome.js';
import { RunAbort, type AgentErrorKind, type BackendOutcome, type BackendRunContext } from '../types.js';
import { permissionOutcome, permissionQuestion } from './permission.js';
import { StdioStream } from './stdio-stream.js';
import { Terminals } from './terminals.js';
import { SessionUpdateMapper } from './updates.js';
import { WorkspaceFs, WorkspaceFsError } from './workspace-fs.js';

/** Longest the agent gets to answer `session/cancel` (or to exit after stdin closes) before it is killed. */
const SETTLE_MAX_MS = 5000;

export interface AcpTurnOptions {
  /** The backend's name and the agent's, for messages. */
  backend: string;
  command: string;
  argv: readonly string[];
  env: Record<string, string>;
  killGraceMs: number;
  run: ProcessRunner;
  /** Where a follow-up may load the context's session; false: always a new session. */
  loadSessions: boolean;
  /** Offer the workspace's text files to the agent (`fs/read_text_file`, `fs/write_text_file`). */
  clientFs: boolean;
  clientVersion: string;
}

/** Runs one turn; never throws for anything the agent does. */
export async function runAcpTurn(ctx: BackendRunContext, opts: AcpTurnOptions): Promise<BackendOutcome> {
  const { spec, emit } = ctx;
  const stop = new AbortController();
  const runSignal = AbortSignal.any([ctx.signal, stop.signal]);
  const kill = new AbortController();
  const mapper = new SessionUpdateMapper(spec.workdir);
  const stdio = new StdioStream((line) => emit({ type: 'log', stream: 'stdout', line }));
  let attached!: () => void;
  const running = new Promise<void>((resolve) => (attached = resolve));
  const exited = opts
    .run(
      {
        argv: opts.argv,
        cwd: spec.workdir,
        env: opts.env,
        signal: kill.signal,
        graceMs: opts.killGraceMs,
        interactive: (input) => {
          stdio.attach(input);
          attached();
        },
        onStdoutLine: (line) => stdio.line(line),
        onStderrLine: (line) => emit({ type: 'log', stream: 'stderr', line }),
      },
      spec.taskId,
    )
    .finally(() => stdio.close());
  const started = await Promise.race([running.then(() => undefined), exited]);
  if (started !== undefined) {
    return (
      spawnFailure(opts.backend, opts.command, started) ?? exitedEarly(opts.backend, started, 'starting')
    );
  }

  const fs = new WorkspaceFs(spec.workdir);
  const terminals = new Terminals({
    workdir: spec.workdir,
    env: opts.env,
    run: opts.run,
    label: spec.taskId,
    killGraceMs: opts.killGraceMs,
  });
  let asking = Promise.resolve();
  const onPermission = async (
    params: RequestPermissionRequest,
    signal: AbortSignal,
  ): Promise<RequestPermissionResponse> => {
    if (runSignal.aborted) return { outcome: { outcome: 'cancelled' } };
    // Some agents (Gemini CLI, Qwen Code) announce the call only in the request.
    for (const event of mapper.map({ ...params.toolCall, sessionUpdate: 'tool_call' })) emit(event);
    const { ask } = ctx;
    if (!ask) return permissionOutcome(params.options, 'allow');
    // One question at a time: the caller sees each request, in order.
    const turn = asking.then(() =>
      ask(permissionQuestion(params, spec.workdir), AbortSignal.any([runSignal, signal])),
    );
    asking = turn.then(
      () => undefined,
      () => undefined,
    );
    try {
      return permissionOutcome(params.options, (await turn).decision);
    } catch (err) {
      if (!runSignal.aborted && !signal.aborted) {
        stop.abort(
          err instanceof RunAbort
            ? err
            : new RunAbort('timeout', `the question went unanswered: ${String(err)}`),
        );
      }
      return { outcome: { outcome: 'cancelled' } };
    }
  };
  const app = client({ name: 'a2a-gateway' })
    .onNotification('session/update', ({ params }) => {
      for (const event of mapper.map(params.update)) emit(event);
    })
    .onRequest('session/request_permission', ({ params, signal }) => onPermission(params, signal))
    .onRequest('fs/read_text_file', ({ params }) => fsCall(() => fs.read(params)))
    .onRequest('fs/write_text_file', ({ params }) => fsCall(() => fs.write(params)))
    .onRequest('terminal/create', ({ params }) => fsCall(() => terminals.create(params)))
    .onRequest('terminal/output', ({ params }) =>
      fsCall(() => Promise.resolve().then(() => terminals.output(params.terminalId))),
    )
    .onRequest('terminal/wait_for_exit', ({ params }) =>
      fsCall(() => terminals.waitForExit(params.terminalId)),
    )
    .onRequest('terminal/kill', ({ params }) =>
      fsCall(() => Promise.resolve().then(() => terminals.kill(params.terminalId))),
    )
    .onRequest('terminal/release', ({ params }) => fsCall(() => terminals.release(params.terminalId)));

  // Canceled or out of time: the agent is asked to stop its turn (once a session is open) and gets a bounded
  // moment to answer before its process group is ended.
  let cancelSession: (() => void) | undefined;
  let cancelTimer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    cancelSession?.();
    cancelTimer = setTimeout(() => kill.abort(), Math.min(opts.killGraceMs, SETTLE_MAX_MS));
  };
  if (runSignal.aborted) onAbort();
  else runSignal.addEventListener('abort', onAbort, { once: true });
  let turn: { response: PromptResponse } | { error: unknown };
  try {
    const response = await app.connectWith(stdio.stream, async (cx) => {
      const sessionId = await openSession(cx, ctx, opts, mapper);
      emit({ type: 'session', sessionId });
      cancelSession = () => void cx.notify('session/cancel', { sessionId }).catch(() => undefined);
      if (runSignal.aborted) cancelSession();
      return cx.request('session/prompt', { sessionId, prompt: [{ type: 'text', text: spec.prompt }] });
    });
    turn = { response };
  } catch (error) {
    turn = { error };
  } finally {
    runSignal.removeEventListener('abort', onAbort);
  }

  // The turn is over: its terminals are killed, stdin closes, and an agent that does not exit by itself is ended.
  await terminals.close();
  stdio.endInput();
  const settle = setTimeout(() => kill.abort(), Math.min(opts.killGraceMs, SETTLE_MAX_MS));
  const result = await exited;
  clearTimeout(settle);
  clearTimeout(cancelTimer);
  for (const event of mapper.finish('response' in turn ? turn.response : undefined)) emit(event);
  const usage = mapper.usageSoFar();
  const summary = mapper.text;
  const withUsage = (outcome: BackendOutcome): BackendOutcome => ({
    ...outcome,
    ...(usage ? { usage } : {}),
    exitCode: result.exitCode,
    signal: result.signal,
  });

  if (runSignal.aborted) return withUsage(abortedOutcome(runSignal, summary));
  if ('error' in turn) {
    return withUsage(failure(opts.backend, turn.error, result));
  }
  const { stopReason } = turn.response;
  if (stopReason === 'end_turn') {
    emit({ type: 'result', text: summary, isError: false });
    return withUsage({ status: 'completed', summary: summary || 'done' });
  }
  return withUsage({
    status: 'failed',
    summary,
    reason: `backend "${opts.backend}": the agent ended its turn with "${stopReason}"`,
  });
}

/** `session/load` of the context's session where the agent can, else (or when that fails) `session/new`. */
async function openSession(
  cx: ClientContext,
  ctx: BackendRunContext,
  opts: AcpTurnOptions,
  mapper: SessionUpdateMapper,
): Promise<string> {
  const init = await cx.request('initialize', {
    protocolVersion: PROTOCOL_VERSION,
    clientCapabilities: {
      fs: { readTextFile: opts.clientFs, writeTextFile: opts.clientFs },
      terminal: true,
    },
    clientInfo: { name: 'a2a-gateway', version: opts.clientVersion },
  });
  const { spec, emit } = ctx;
  const resume = spec.resumeSessionId;
  if (resume && opts.loadSessions && init.agentCapabilities?.loadSession) {
    mapper.replaying = true;
    try {
      await cx.request('session/load', { sessionId: resume, cwd: spec.workdir, mcpServers: [] });
      return resume;
    } catch (err) {
      emit({
        type: 'error',
        kind: 'other',
        message: `could not load session ${resume} (${errorText(err)}); starting a new one`,
      });
    } finally {
      mapper.replaying = false;
    }
  }
  const created = await cx.request('session/new', { cwd: spec.workdir, mcpServers: [] });
  return created.sessionId;
}

async function fsCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof WorkspaceFsError) {
      throw err.code === 'not_found'
        ? RequestError.resourceNotFound(err.message)
        : RequestError.invalidParams({ reason: err.code }, err.message);
    }
    throw err;
  }
}

function errorText(err: unknown): string {
  if (err instanceof RequestError) {
    const details =
      err.data && typeof err.data === 'object' ? (err.data as { details?: unknown }).details : undefined;
    return typeof details === 'string' && details !== '' ? `${err.message}: ${details}` : err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

function errorKind(text: string, err: unknown): AgentErrorKind {
  if (err instanceof RequestError && err.code === -32000) return 'auth';
  if (/\b401\b|unauthori[sz]ed|invalid api key|authenticat/i.test(text)) return 'auth';
  if (/\b429\b|rate.?limit|usage.?limit|quota|too many requests/i.test(text)) return 'rate_limit';
  return 'api';
}

function failure(backend: string, err: unknown, result: RunResult): BackendOutcome {
  if (result.exitCode !== 0 && result.exitCode !== null && !(err instanceof RequestError)) {
    return exitedEarly(backend, result, 'its turn');
  }
  const text = errorText(err);
  const kind = errorKind(`${text} ${result.stderr.slice(-2000)}`, err);
  return {
    status: 'failed',
    summary: '',
    errorKind: kind,
    reason: `backend "${backend}": ${kind === 'auth' ? 'not authenticated with its model API: ' : ''}${text}`,
  };
}

function exitedEarly(backend: string, result: RunResult, during: string): BackendOutcome {
  const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
  const stderr = tail(result.stderr);
  return {
    status: 'failed',
    summary: '',
    reason: `backend "${backend}": the agent ${how} during ${during}${stderr ? `: ${stderr}` : ''}`,
    exitCode: result.exitCode,
    signal: result.signal,
  };
}
