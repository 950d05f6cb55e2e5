/**
 * Turns zod issues into errors a calling agent can act on: each names the field (as `input.<path>`), what was
 * expected there, and what arrived.
 */
import { z } from 'zod';

/** One problem with a skill input. `path` is dotted (`files.0`); empty for the input as a whole. */
export interface SkillInputIssue {
  path: string;
  message: string;
}

/**
 * Why a message could not become a skill input. `field` is the dotted path of the first problem without the
 * `input.` prefix (`bug_description`, `files.0`), or `''` when the input as a whole is wrong (not an object, not
 * JSON); `message` is one sentence that names the field and what was expected.
 */
export interface SkillInputError {
  field: string;
  expected: string;
  message: string;
  issues: SkillInputIssue[];
}

/** Request options that belong in message metadata; callers often put them in the input by mistake. */
const METADATA_KEYS = new Set(['model', 'effort', 'backend', 'timeout', 'skill']);

type JsonSchemaNode = {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  minimum?: number;
  maximum?: number;
};

/** `input.files.0`, or `input` for the whole input. */
export function fieldLabel(path: string): string {
  return path === '' ? 'input' : `input.${path}`;
}

function dotted(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** Builds an error about the input as a whole or one field, outside zod (empty message, JSON that is no object). */
export function inputError(field: string, expected: string, got?: string): SkillInputError {
  const message = `${fieldLabel(field)}: expected ${expected}${got !== undefined ? `, got ${got}` : ''}`;
  return { field, expected, message, issues: [{ path: field, message }] };
}

/** The first clause of a field description, which our descriptions write as a noun phrase ("the bug to fix"). */
function lead(description: string | undefined): string | undefined {
  if (description === undefined) return undefined;
  const first = description.split(/[:.;](?:\s|$)/, 1)[0]?.trim();
  if (!first) return undefined;
  return /^[A-Z][a-z]/.test(first) ? first[0]!.toLowerCase() + first.slice(1) : first;
}

const SAFE = Number.MAX_SAFE_INTEGER;

function typePhrase(node: JsonSchemaNode): string {
  if (node.enum) return `one of ${node.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  switch (node.type) {
    case 'string': {
      const base = (node.minLength ?? 0) > 0 ? 'a non-empty string' : 'a string';
      return node.maxLength !== undefined ? `${base} of at most ${node.maxLength} characters` : base;
    }
    case 'integer':
    case 'number': {
      const noun = node.type === 'integer' ? 'an integer' : 'a number';
      const bounds = [
        node.minimum !== undefined && node.minimum > -SAFE ? `at least ${node.minimum}` : undefined,
        node.maximum !== undefined && node.maximum < SAFE ? `at most ${node.maximum}` : undefined,
      ].filter(Boolean);
      return bounds.length > 0 ? `${noun} of ${bounds.join(' and ')}` : noun;
    }
    case 'array': {
      const list = (node.minItems ?? 0) > 0 ? 'a non-empty list' : 'a list';
      if (node.items?.type === 'string')
        return `${list} of ${(node.items.minLength ?? 0) > 0 ? 'non-empty strings' : 'strings'}`;
      return list;
    }
    case 'boolean':
      return 'true or false';
    case 'object':
      return 'an object';
    default:
      return 'a value';
  }
}

function nodeAt(root: JsonSchemaNode, path: readonly PropertyKey[]): JsonSchemaNode | undefined {
  let node: JsonSchemaNode | undefined = root;
  for (const key of path) {
    if (node === undefined) return undefined;
    node = typeof key === 'number' ? node.items : node.properties?.[String(key)];
  }
  return node;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** What arrived, short enough for one line: values are previewed, never echoed whole. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    if (value === '') return 'an empty string';
    if (value.trim() === '') return 'a blank string';
    return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}...` : JSON.stringify(value);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value))
    return value.length === 0
      ? 'an empty list'
      : `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  return 'an object';
}

/** What a field accepts, in words: `a non-empty string (the bug to fix)`. */
export function expectedAt(jsonSchema: object, path: readonly PropertyKey[]): string {
  const node = nodeAt(jsonSchema, path);
  if (node === undefined) return 'a value';
  const purpose = lead(node.description);
  return purpose !== undefined ? `${typePhrase(node)} (${purpose})` : typePhrase(node);
}

function normalize(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-\s]/g, '_')
    .toLowerCase();
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The accepted field a typo most likely meant: same words in another case, a prefix, or a near spelling. */
function closest(key: string, accepted: readonly string[]): string | undefined {
  const k = normalize(key);
  return (
    accepted.find((a) => normalize(a) === k) ??
    accepted.find((a) => k.length >= 3 && (a.startsWith(k) || k.startsWith(a))) ??
    accepted.find((a) => editDistance(k, a) <= (k.length <= 5 ? 1 : 2))
  );
}

function unknownKeyHint(key: string, accepted: readonly string[]): string {
  if (METADATA_KEYS.has(key) && !accepted.includes(key)) {
    return ` (${key} is a request option: send it in the message metadata, not in the skill input)`;
  }
  const guess = closest(key, accepted);
  return guess !== undefined ? ` (did you mean "${guess}"?)` : '';
}

/**
 * Converts a failed parse into a {@link SkillInputError}. Unknown keys come first: a misspelt key is usually also
 * why a required field is missing, and naming the typo is the more useful message.
 */
export function fromZodError(error: z.ZodError, schema: z.ZodObject, input: unknown): SkillInputError {
  const jsonSchema = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  const entries: Array<{ field: string; expected: string; message: string }> = [];
  const ordered = [
    ...error.issues.filter((i) => i.code === 'unrecognized_keys'),
    ...error.issues.filter((i) => i.code !== 'unrecognized_keys'),
  ];

  for (const issue of ordered) {
    if (issue.code === 'unrecognized_keys') {
      const owner = nodeAt(jsonSchema as JsonSchemaNode, issue.path);
      const accepted = Object.keys(owner?.properties ?? {});
      const expected = `one of the accepted fields: ${accepted.join(', ')}`;
      for (const key of issue.keys) {
        const field = dotted([...issue.path, key]);
        entries.push({
          field,
          expected,
          message: `${fieldLabel(field)}: unknown field${unknownKeyHint(key, accepted)}; accepted fields are ${accepted.join(', ')}`,
        });
      }
      continue;
    }
    const field = dotted(issue.path);
    const value = valueAt(input, issue.path);
    if (issue.code === 'custom') {
      entries.push({
        field,
        expected: issue.message,
        message: `${fieldLabel(field)}: expected ${issue.message}`,
      });
      continue;
    }
    const expected = issue.code === 'invalid_format' ? issue.message : expectedAt(jsonSchema, issue.path);
    const message =
      value === undefined
        ? `${fieldLabel(field)}: required field missing; expected ${expected}`
        : `${fieldLabel(field)}: expected ${expected}, got ${describeValue(value)}`;
    entries.push({ field, expected, message });
  }

  const first = entries[0] ?? { field: '', expected: 'a valid input', message: 'input: invalid' };
  const more = entries.slice(1);
  const tail =
    more.length > 0
      ? ` (and ${more.length} more problem${more.length === 1 ? '' : 's'}: ${[...new Set(more.map((e) => fieldLabel(e.field)))].join(', ')})`
      : '';
  return {
    field: first.field,
    expected: first.expected,
    message: first.message + tail,
    issues: entries.map((e) => ({ path: e.field, message: e.message })),
  };
}
