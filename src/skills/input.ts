/**
 * From message parts to a validated skill input. Callers send input three ways: a data part holding an object, a
 * text part holding a JSON object (the legacy gateway's format), or plain text for the skill's main field.
 */
import { z } from 'zod';
import { describeValue, expectedAt, fromZodError, inputError, type SkillInputError } from './input-error.js';
import type { SkillDefinition } from './types.js';

export type { SkillInputError, SkillInputIssue } from './input-error.js';
export { fieldLabel } from './input-error.js';

/** The media types every skill takes its input in (published on the card as the skills' input modes). */
export const SKILL_INPUT_MODES: readonly string[] = ['text/plain', 'application/json'];

/** A message part as the skill layer sees it; the service layer converts A2A and SDK parts to this shape. */
export type InputPart = { kind: 'text'; text: string } | { kind: 'data'; data: unknown };

/** The result of {@link extractSkillInput}. */
export type SkillInputResult =
  { ok: true; input: Record<string, unknown> } | { ok: false; error: SkillInputError };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// Text that opens like a JSON object ({" or {}) was meant as JSON: treating it as plain text would run the task
// with the caller's workdir and options silently lost, so it is an error. Other text that merely starts with a
// brace or bracket ("[bug] login fails") is prose.
const LOOKS_LIKE_JSON_OBJECT = /^\{\s*["}]/;

type TextReading =
  | { kind: 'object'; value: Record<string, unknown> }
  | { kind: 'text'; value: string }
  | { kind: 'error'; error: SkillInputError };

function readText(text: string): TextReading {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    if (LOOKS_LIKE_JSON_OBJECT.test(text)) {
      const reason = err instanceof Error ? err.message : String(err);
      return {
        kind: 'error',
        error: inputError(
          '',
          'a valid JSON object or plain text',
          `text that starts like a JSON object but does not parse (${reason})`,
        ),
      };
    }
    return { kind: 'text', value: text };
  }
  if (isPlainObject(parsed)) return { kind: 'object', value: parsed };
  // A JSON-encoded string is unambiguous: the caller quoted its plain text.
  if (typeof parsed === 'string') return { kind: 'text', value: parsed };
  // Other JSON values ("42", "true", "[1, 2]") are ordinary words for a text field; only objects are input.
  return { kind: 'text', value: text };
}

/** Copies own keys without going through setters, so a `__proto__` key stays a key (and strict parsing refuses it). */
function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const key of Object.keys(source)) {
    Object.defineProperty(target, key, {
      value: source[key],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
}

/**
 * Extracts and validates a skill input from message parts.
 *
 * - Objects in data parts and JSON objects in text parts are shallow-merged in message order.
 * - Remaining text parts, joined with newlines, fill the skill's `mainField` when the objects did not set it (and
 *   are otherwise ignored); with no object at all they are the whole input.
 * - Top-level `null` values count as absent: agents that fill every optional field with null still validate.
 * - A data part that is not an object, or text that is JSON but not an object, is an error; so is a message with
 *   no data and no non-blank text.
 */
export function extractSkillInput(parts: readonly InputPart[], skill: SkillDefinition): SkillInputResult {
  let structured: Record<string, unknown> | undefined;
  const texts: string[] = [];

  for (const part of parts) {
    if (part.kind === 'data') {
      if (!isPlainObject(part.data)) {
        return {
          ok: false,
          error: inputError('', 'a data part holding a JSON object', describeValue(part.data)),
        };
      }
      mergeInto((structured ??= {}), part.data);
      continue;
    }
    // The wire layer checks this too; a part that slipped through must not become a crash.
    if (typeof (part.text as unknown) !== 'string') {
      return { ok: false, error: inputError('', 'text parts holding a string', describeValue(part.text)) };
    }
    const text = part.text.trim();
    if (text === '') continue;
    const reading = readText(text);
    if (reading.kind === 'error') return { ok: false, error: reading.error };
    if (reading.kind === 'object') mergeInto((structured ??= {}), reading.value);
    else texts.push(reading.value);
  }

  const mainField = skill.mainField;
  const input: Record<string, unknown> = {};
  if (structured !== undefined) {
    for (const [key, value] of Object.entries(structured)) {
      if (value !== null) mergeInto(input, { [key]: value });
    }
  }
  if (texts.length > 0 && input[mainField] === undefined) input[mainField] = texts.join('\n');
  if (structured === undefined && texts.length === 0) {
    const expected = expectedAt(skillInputJsonSchema(skill), [mainField]);
    return {
      ok: false,
      error: inputError(
        mainField,
        expected,
        'an empty message (send plain text, or a JSON object in a text or data part)',
      ),
    };
  }

  const parsed = skill.input.safeParse(input);
  if (!parsed.success) return { ok: false, error: fromZodError(parsed.error, skill.input, input) };
  return { ok: true, input: parsed.data };
}

/**
 * The skill's input as JSON Schema (draft 2020-12, zod's default and the dialect A2A's own schemas use), for the
 * agent card. Describes what a caller may send (`io: 'input'`): strict objects come out with
 * `additionalProperties: false`.
 */
export function skillInputJsonSchema(skill: SkillDefinition): Record<string, unknown> {
  const schema = z.toJSONSchema(skill.input, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  if (skill.oneOfRequired && skill.oneOfRequired.length > 0)
    schema.anyOf = skill.oneOfRequired.map((name) => ({ required: [name] }));
  return schema;
}

/** The skill with this id, if the list has it. */
export function findSkill(id: string, skills: readonly SkillDefinition[]): SkillDefinition | undefined {
  return skills.find((s) => s.id === id);
}

/** `unknown skill "X"; available: fix_bug, refactor_code, ...` */
export function unknownSkillMessage(id: string, skills: readonly SkillDefinition[]): string {
  return `unknown skill ${JSON.stringify(id)}; available: ${skills.map((s) => s.id).join(', ')}`;
}
