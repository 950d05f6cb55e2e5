/**
 * ACP `session/request_permission` as the gateway's permission question, and the caller's answer as the option
 * the agent offered: allow picks a one-time allow (never "always", which would approve later calls nobody saw),
 * deny a one-time reject.
 */
import type {
  PermissionOption,
  RequestPermissionRequest,
  RequestPermissionResponse,
} from '@agentclientprotocol/sdk';
import { asRecord, str } from '../parsers/json.js';
import { relativePath, relativizeText } from '../parsers/paths.js';
import { oneLine, summarizeToolInput } from '../parsers/summarize.js';
import type { InputAnswer, InputQuestion } from '../types.js';

/** Largest tool input shown whole in the question, as JSON characters. */
const DETAILS_MAX = 4000;

/** The question to put to the caller for a permission request. */
export function permissionQuestion(request: RequestPermissionRequest, cwd: string): InputQuestion {
  const call = request.toolCall;
  const tool = call.kind ?? 'tool';
  const title = call.title ? oneLine(relativizeText(call.title, cwd)) : undefined;
  const raw = asRecord(call.rawInput);
  const summary =
    (raw && Object.keys(raw).length > 0 ? summarizeToolInput(raw, cwd) : '') ||
    (call.locations ?? []).map((l) => relativePath(l.path, cwd)).join(', ');
  const input = title && summary && !title.includes(summary) ? `${title} (${summary})` : (title ?? summary);
  const details = raw && JSON.stringify(raw).length <= DETAILS_MAX ? raw : undefined;
  return {
    kind: 'permission',
    text: `Allow ${tool}${input ? `: ${input}` : ''}?`,
    tool,
    ...(input ? { input } : {}),
    ...(details ? { details } : {}),
    options: ['allow', 'deny'],
  };
}

/** The option an answer picks; `cancelled` when the agent offered none that fits. */
export function permissionOutcome(
  options: readonly PermissionOption[],
  decision: InputAnswer['decision'],
): RequestPermissionResponse {
  const wanted = decision === 'allow' ? ['allow_once', 'allow_always'] : ['reject_once', 'reject_always'];
  for (const kind of wanted) {
    const option = options.find((o) => o.kind === kind);
    if (option) return { outcome: { outcome: 'selected', optionId: option.optionId } };
  }
  return { outcome: { outcome: 'cancelled' } };
}

/** The tool a request is for, in a log line. */
export function permissionTool(request: RequestPermissionRequest): string {
  return str(request.toolCall.kind) ?? str(request.toolCall.title) ?? 'tool';
}
