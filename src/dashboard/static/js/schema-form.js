// A form generated from a skill's input JSON Schema (published on the agent card): one labelled control per
// property, required ones first, each with the schema's description as its help text.
import { h } from './dom.js';

/** Properties whose text is long: a textarea rather than one line. */
function isLongText(name, schema, required) {
  if (schema.maxLength !== undefined && schema.maxLength <= 256) return false;
  return required && name !== 'workdir';
}

function typeOf(schema) {
  if (Array.isArray(schema.type)) return schema.type.find((t) => t !== 'null') ?? 'string';
  if (schema.type) return schema.type;
  if (schema.enum) return 'string';
  if (schema.anyOf || schema.oneOf) return 'any';
  return 'string';
}

function label(name) {
  // bug_description -> Bug description; fixAttempts -> Fix attempts
  const words = name
    .replace(/_/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * Builds the controls for `schema` (an object schema). Returns {element, read, fieldOf}: `read()` gives the input
 * object (empty fields left out) or throws an Error naming the field; `fieldOf(name)` the control of a property.
 */
export function schemaForm(schema, idPrefix) {
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  // `anyOf: [{required: [a]}, {required: [b]}]`: one of a and b must be given (fix_bug's bug_description or
  // finding). They come right after the required fields, the first one as the main text.
  const alternatives = (schema.anyOf ?? [])
    .map((branch) => branch?.required)
    .filter((names) => Array.isArray(names) && names.length === 1)
    .map((names) => names[0]);
  const rank = (name) => (required.has(name) ? 2 : alternatives.includes(name) ? 1 : 0);
  const names = Object.keys(props).sort((a, b) => rank(b) - rank(a));
  const controls = new Map();
  const fields = names.map((name) => {
    const prop = props[name];
    const type = typeOf(prop);
    const id = `${idPrefix}-${name}`;
    const help = prop.description ? h('p', { class: 'help', id: `${id}-help` }, prop.description) : null;
    const common = {
      id,
      name,
      ...(help ? { 'aria-describedby': `${id}-help` } : {}),
      ...(required.has(name) ? { required: true, 'aria-required': 'true' } : {}),
    };
    let control;
    if (type === 'boolean') {
      control = h('input', { ...common, type: 'checkbox', required: false, checked: prop.default === true });
      controls.set(name, { control, type });
      return h('div', { class: 'field check' }, control, h('label', { for: id }, label(name)), help);
    }
    if (prop.enum) {
      control = h(
        'select',
        common,
        required.has(name) ? null : h('option', { value: '' }, '(not set)'),
        prop.enum.map((v) => h('option', { value: String(v), selected: v === prop.default }, String(v))),
      );
    } else if (type === 'integer' || type === 'number') {
      control = h('input', {
        ...common,
        type: 'number',
        step: type === 'integer' ? '1' : 'any',
        ...(prop.minimum !== undefined ? { min: prop.minimum } : {}),
        ...(prop.maximum !== undefined ? { max: prop.maximum } : {}),
      });
    } else if (type === 'array') {
      control = h('textarea', { ...common, rows: 3, placeholder: 'one per line' });
    } else if (type === 'object' || type === 'any') {
      control = h('textarea', { ...common, rows: 3, class: 'mono', placeholder: 'JSON' });
    } else if (isLongText(name, prop, required.has(name) || alternatives[0] === name)) {
      control = h('textarea', { ...common, rows: 5 });
    } else {
      control = h('input', { ...common, type: 'text', autocomplete: 'off', spellcheck: 'false' });
    }
    controls.set(name, { control, type });
    const others = alternatives.filter((other) => other !== name);
    const suffix = required.has(name)
      ? h('span', { class: 'req' }, ' (required)')
      : alternatives.includes(name)
        ? h('span', { class: 'req' }, ` (required unless ${others.join(' or ')} is given)`)
        : null;
    return h('div', { class: 'field' }, h('label', { for: id }, label(name), suffix), control, help);
  });

  const read = () => {
    const input = {};
    for (const [name, { control, type }] of controls) {
      if (type === 'boolean') {
        if (control.checked) input[name] = true;
        continue;
      }
      const raw = control.value.trim();
      if (raw === '') continue;
      if (type === 'integer' || type === 'number') input[name] = Number(raw);
      else if (type === 'array')
        input[name] = raw
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean);
      else if (type === 'object' || type === 'any') {
        try {
          input[name] = JSON.parse(raw);
        } catch {
          if (type === 'object')
            throw Object.assign(new Error(`${label(name)}: expected JSON`), { field: name });
          input[name] = raw;
        }
      } else input[name] = raw;
    }
    return input;
  };

  return {
    element: h('div', { class: 'schema-fields' }, fields),
    read,
    fieldOf: (name) => controls.get(name)?.control,
  };
}
