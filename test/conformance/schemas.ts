// The A2A JSON schemas (1.0.1 and 0.3.0, as published) compiled once, to check what the gateway sends and answers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Ajv as Ajv07, type ValidateFunction } from 'ajv';
import { REPO_ROOT } from '../helpers/gateway.js';

const DIR = join(REPO_ROOT, 'test/fixtures/a2a-schemas');

type Definitions = Record<string, Record<string, unknown>>;

function load(file: string): { definitions: Definitions } {
  return JSON.parse(readFileSync(join(DIR, file), 'utf8')) as { definitions: Definitions };
}

/**
 * The 1.0 bundle keeps each message under its title ("Agent Card") and refers to the others by file name
 * (`lf.a2a.v1.AgentCard.jsonschema.json`), as the proto-to-schema generator wrote them: register each definition
 * under that name so the references resolve.
 */
function v1FileName(title: string): string {
  const name = title.replace(/\s+/g, '');
  return ['Struct', 'Timestamp', 'Value'].includes(name)
    ? `google.protobuf.${name}.jsonschema.json`
    : `lf.a2a.v1.${name}.jsonschema.json`;
}

const v1 = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
for (const [title, schema] of Object.entries(load('a2a-v1.0.1.schema.json').definitions)) {
  const copy: Record<string, unknown> = { ...schema, $id: v1FileName(title) };
  delete copy.$schema;
  v1.addSchema(copy);
}

const v03 = new Ajv07({ strict: false, allErrors: true, validateFormats: false });
v03.addSchema(load('a2a-v0.3.0.schema.json'), 'a2a-0.3');

const compiled = new Map<string, ValidateFunction>();

function validator(version: '1.0' | '0.3', name: string): ValidateFunction {
  const key = `${version}:${name}`;
  let fn = compiled.get(key);
  if (!fn) {
    fn =
      version === '1.0'
        ? v1.getSchema(v1FileName(name))
        : v03.getSchema(`a2a-0.3#/definitions/${name.replace(/\s+/g, '')}`);
    if (!fn) throw new Error(`no ${version} schema named ${name}`);
    compiled.set(key, fn);
  }
  return fn;
}

/** The schema errors of `value` against the named 1.0 message ("Agent Card", "Task") or 0.3 definition, or []. */
export function schemaErrors(version: '1.0' | '0.3', name: string, value: unknown): string[] {
  const fn = validator(version, name);
  if (fn(value)) return [];
  return (fn.errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
}

/** Asserts `value` validates; the message lists every schema error. */
export function assertSchema(version: '1.0' | '0.3', name: string, value: unknown): void {
  const errors = schemaErrors(version, name, value);
  if (errors.length > 0) {
    throw new Error(`not a valid ${version} ${name}:\n  ${errors.slice(0, 20).join('\n  ')}`);
  }
}
