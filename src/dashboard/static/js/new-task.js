// The "new task" page: pick a skill, fill the form generated from its input schema (on the agent card), send.
import { agentCard, rpc } from './api.js';
import { h, replace } from './dom.js';
import { schemaForm } from './schema-form.js';

const EXTENSION = 'https://github.com/a2a-gateway/a2a-gateway/extensions/skill-input/v1';

export async function showNewTask(main, skillId, signal) {
  const card = await agentCard();
  if (signal.aborted) return;
  const ext = (card.capabilities?.extensions ?? []).find((e) => e.uri === EXTENSION)?.params ?? {};
  const skills = card.skills ?? [];
  const skill = skills.find((s) => s.id === skillId) ?? skills[0];
  if (!skill) {
    replace(main, h('p', { class: 'error', role: 'alert' }, 'The gateway offers no skill.'));
    return;
  }
  const schema = ext.skills?.[skill.id]?.inputSchema ?? { type: 'object', properties: {} };
  const form = schemaForm(schema, 'input');
  const picker = h(
    'select',
    {
      id: 'skill',
      name: 'skill',
      'aria-describedby': 'skill-help',
      'on:change': (event) => {
        location.hash = `#/new/${encodeURIComponent(event.target.value)}`;
      },
    },
    skills.map((s) =>
      h('option', { value: s.id, selected: s.id === skill.id }, s.name ? `${s.name} (${s.id})` : s.id),
    ),
  );
  const timeout = h('input', {
    id: 'timeout',
    name: 'timeout',
    type: 'number',
    min: '1',
    step: '1',
    'aria-describedby': 'timeout-help',
  });
  const error = h('div', { class: 'error', role: 'alert', id: 'form-error', tabindex: '-1', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Send task');

  const showError = (text, field) => {
    error.textContent = text;
    error.hidden = false;
    for (const el of main.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    const control = field ? form.fieldOf(field) : undefined;
    if (control) {
      control.setAttribute('aria-invalid', 'true');
      control.focus();
    } else error.focus();
  };

  const onSubmit = async (event) => {
    event.preventDefault();
    error.hidden = true;
    let input;
    try {
      input = form.read();
    } catch (err) {
      showError(err.message, err.field);
      return;
    }
    const metadata = { skill: skill.id };
    if (timeout.value.trim()) metadata.timeout = Number(timeout.value);
    submit.disabled = true;
    try {
      const result = await rpc('SendMessage', {
        message: { messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ data: input }], metadata },
        configuration: { returnImmediately: true },
      });
      const task = result.task ?? result;
      location.hash = `#/task/${encodeURIComponent(task.id)}`;
    } catch (err) {
      // The gateway names the field at fault ("input.workdir: ..."): mark it.
      const field = /\binput\.([A-Za-z0-9_]+)/.exec(err.message)?.[1];
      showError(`The gateway refused the task: ${err.message}`, field);
    } finally {
      submit.disabled = false;
    }
  };

  replace(
    main,
    h('h1', {}, 'New task'),
    h(
      'form',
      { class: 'card', id: 'new-task', 'on:submit': (e) => void onSubmit(e), novalidate: true },
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'skill' }, 'Skill'),
        picker,
        h('p', { class: 'help', id: 'skill-help' }, skill.description ?? ''),
        ext.skills?.[skill.id]?.backend
          ? h('p', { class: 'help' }, `Runs on backend ${ext.skills[skill.id].backend}.`)
          : null,
      ),
      h('fieldset', {}, h('legend', {}, 'Input'), form.element),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'timeout' }, 'Timeout in seconds (optional)'),
        timeout,
        h(
          'p',
          { class: 'help', id: 'timeout-help' },
          'The task fails when it runs longer. Default: the gateway’s.',
        ),
      ),
      error,
      h('div', { class: 'actions' }, submit),
    ),
  );
}
