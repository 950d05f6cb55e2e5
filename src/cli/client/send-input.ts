import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Role, type Message, type Part, type SendMessageRequest } from '@a2a-js/sdk';
import { usageError } from './errors.js';

export interface SendFlags {
  skill: string;
  workdir?: string;
  input?: string;
  backend?: string;
  apply?: boolean;
  commit?: boolean;
  context?: string;
  timeout?: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `--input`: a JSON object, `@file` (JSON object, or any other text for the skill's main field), `@-` for stdin. */
export function readInputOption(
  value: string,
  cwd: string,
  stdin: () => string,
): Record<string, unknown> | string {
  if (value.startsWith('@')) {
    const name = value.slice(1);
    let text: string;
    try {
      text = name === '-' ? stdin() : readFileSync(resolve(cwd, name), 'utf8');
    } catch (err) {
      throw usageError(`--input: cannot read ${name}: ${(err as Error).message}`, 'input');
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (isObject(parsed)) return parsed;
    } catch {
      // not JSON: plain text for the skill's main field
    }
    if (/^\s*\{/.test(text) && name.endsWith('.json'))
      throw usageError(`--input: ${name} is not a valid JSON object`, 'input');
    return text;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw usageError(
      `--input: expected a JSON object (or @file), got text that does not parse: ${(err as Error).message}. Plain text goes after the options, without --input.`,
      'input',
    );
  }
  if (!isObject(parsed))
    throw usageError('--input: expected a JSON object, such as {"bug_description": "..."}', 'input');
  return parsed;
}

const textPart = (text: string): Part => ({
  content: { $case: 'text', value: text },
  mediaType: 'text/plain',
  filename: '',
  metadata: undefined,
});

const dataPart = (data: Record<string, unknown>): Part => ({
  content: { $case: 'data', value: data },
  mediaType: 'application/json',
  filename: '',
  metadata: undefined,
});

/**
 * The message a `send` makes: the skill and request options in metadata; the input as a data part (the `--input`
 * object plus `--workdir`, `--apply`, `--commit`) and the words as a text part, which the gateway puts in the
 * skill's main field.
 */
export function buildSendRequest(
  flags: SendFlags,
  words: string[],
  opts: { cwd: string; stdin: () => string },
): SendMessageRequest {
  const parts: Part[] = [];
  const data: Record<string, unknown> = {};
  let text = words.join(' ').trim();
  if (flags.input !== undefined) {
    const input = readInputOption(flags.input, opts.cwd, opts.stdin);
    if (typeof input === 'string') text = [input.trim(), text].filter(Boolean).join('\n');
    else Object.assign(data, input);
  }
  if (flags.workdir !== undefined) data.workdir = resolve(opts.cwd, flags.workdir);
  if (flags.apply) data.apply = true;
  if (flags.commit) data.commit = true;
  if (Object.keys(data).length > 0) parts.push(dataPart(data));
  if (text) parts.push(textPart(text));
  if (parts.length === 0)
    throw usageError('send: nothing to send; give the task as words, --input JSON or --input @file', 'input');

  const metadata: Record<string, unknown> = { skill: flags.skill };
  if (flags.backend) metadata.backend = flags.backend;
  if (flags.timeout !== undefined) {
    const seconds = Number(flags.timeout);
    if (!Number.isFinite(seconds) || seconds <= 0)
      throw usageError(`--timeout: expected a number of seconds above 0, got "${flags.timeout}"`, 'timeout');
    metadata.timeout = seconds;
  }
  const message: Message = {
    messageId: randomUUID(),
    contextId: flags.context ?? '',
    taskId: '',
    role: Role.ROLE_USER,
    parts,
    metadata,
    extensions: [],
    referenceTaskIds: [],
  };
  return {
    tenant: '',
    message,
    configuration: {
      acceptedOutputModes: [],
      taskPushNotificationConfig: undefined,
      returnImmediately: false,
    },
    metadata: undefined,
  };
}
