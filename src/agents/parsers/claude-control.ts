/**
 * Claude Code's control channel (`claude -p --input-format stream-json --output-format stream-json
 * --permission-prompt-tool stdio`), the one the Agent SDK uses: the prompt goes in as a stream-json user message,
 * permission requests come out as `control_request` lines (`can_use_tool`), and the answer goes back on stdin as a
 * `control_response`. Verified against Claude Code 2.1.197; see docs/claude-control-protocol.md.
 */
import type { InputAnswer, InputQuestion, InputSubQuestion } from '../types.js';
import { arr, asRecord, str, type JsonObject } from './json.js';
import { commandText, oneLine } from './summarize.js';

/** The tool through which Claude Code asks the user its own questions. */
export const ASK_USER_QUESTION = 'AskUserQuestion';

/** What a control line on stdout asks of us. */
export type ControlMessage =
  /** A tool call waits for permission (or AskUserQuestion for an answer). */
  | { kind: 'can_use_tool'; requestId: string; tool: string; input: JsonObject; question: InputQuestion }
  /** Any other request (hooks, MCP): answered with an error so the CLI never waits on it. */
  | { kind: 'unsupported'; requestId: string; subtype: string }
  /** The CLI withdrew an earlier request (a hook decided first, the turn ended). */
  | { kind: 'cancel'; requestId: string };

/** Enough of a command or path to decide on it; the whole input also goes along when it is small. */
const MAX_INPUT_CHARS = 500;
const MAX_DETAIL_CHARS = 4000;

/** Reads a stdout event as a control message; undefined for the ordinary stream events. */
export function readControlMessage(event: JsonObject): ControlMessage | undefined {
  if (event.type === 'control_cancel_request') {
    const requestId = str(event.request_id);
    return requestId ? { kind: 'cancel', requestId } : undefined;
  }
  if (event.type !== 'control_request') return undefined;
  const requestId = str(event.request_id);
  const request = asRecord(event.request);
  if (!requestId || !request) return undefined;
  const subtype = str(request.subtype) ?? 'unknown';
  if (subtype !== 'can_use_tool') return { kind: 'unsupported', requestId, subtype };
  const tool = str(request.tool_name) ?? 'tool';
  const input = asRecord(request.input) ?? {};
  return { kind: 'can_use_tool', requestId, tool, input, question: describeRequest(tool, input, request) };
}

function describeRequest(tool: string, input: JsonObject, request: JsonObject): InputQuestion {
  if (tool === ASK_USER_QUESTION) {
    const questions = arr(input.questions)
      .map(asRecord)
      .filter((q): q is JsonObject => q !== undefined && str(q.question) !== undefined)
      .map((q): InputSubQuestion => ({
        question: str(q.question) ?? '',
        ...(str(q.header) ? { header: str(q.header) } : {}),
        options: arr(q.options)
          .map((o) => str(asRecord(o)?.label))
          .filter((l): l is string => l !== undefined),
        multiSelect: q.multiSelect === true,
      }));
    return {
      kind: 'question',
      text: questions.map((q) => q.question).join('\n') || 'The agent has a question.',
      tool,
      options: questions.length === 1 ? (questions[0]?.options ?? []) : [],
      questions,
    };
  }
  const summary = summarizeInput(input);
  const why = str(request.description) ?? str(request.decision_reason);
  const json = JSON.stringify(input);
  return {
    kind: 'permission',
    text: `Allow ${tool}${summary ? `: ${summary}` : ''}?${why && why !== summary ? ` (${oneLine(why, 200)})` : ''}`,
    tool,
    ...(summary ? { input: summary } : {}),
    ...(json.length <= MAX_DETAIL_CHARS ? { details: input } : {}),
    options: ['allow', 'deny'],
  };
}

/** The part of a tool's input a person needs to decide: the command, the path, the URL; else the JSON. */
function summarizeInput(input: JsonObject): string {
  const command = commandText(input.command);
  if (command) return oneLine(command, MAX_INPUT_CHARS);
  for (const key of ['file_path', 'notebook_path', 'path', 'url', 'pattern']) {
    const value = str(input[key]);
    if (value) return oneLine(value, MAX_INPUT_CHARS);
  }
  const json = JSON.stringify(input);
  return json === '{}' ? '' : oneLine(json, MAX_INPUT_CHARS);
}

/** The line that answers a `can_use_tool` request. */
export function controlResponse(
  request: Extract<ControlMessage, { kind: 'can_use_tool' }>,
  answer: InputAnswer,
): string {
  let response: JsonObject;
  if (answer.decision === 'deny') {
    const fallback =
      request.question.kind === 'question'
        ? 'The user declined to answer.'
        : 'The user denied permission for this tool call.';
    response = { behavior: 'deny', message: answer.message ?? fallback };
  } else if (request.question.kind === 'question') {
    // AskUserQuestion reads the answers from its (updated) input: question text -> label or free text.
    response = { behavior: 'allow', updatedInput: { ...request.input, answers: answer.answers ?? {} } };
  } else {
    // `updatedInput` is required; the unchanged input lets the call run as the model wrote it.
    response = { behavior: 'allow', updatedInput: request.input };
  }
  return line({
    type: 'control_response',
    response: { subtype: 'success', request_id: request.requestId, response },
  });
}

/** The line that refuses a request the gateway does not handle. */
export function controlError(requestId: string, error: string): string {
  return line({ type: 'control_response', response: { subtype: 'error', request_id: requestId, error } });
}

/** The prompt as the stream-json user message Claude Code reads from stdin. */
export function userMessageLine(prompt: string): string {
  return line({
    type: 'user',
    message: { role: 'user', content: prompt },
    parent_tool_use_id: null,
    session_id: '',
  });
}

function line(value: JsonObject): string {
  return `${JSON.stringify(value)}\n`;
}
