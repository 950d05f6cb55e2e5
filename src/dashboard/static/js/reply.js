// The answer to a task that waits for input: Allow / Deny for a permission request, the offered options (or
// words) for the agent's own question. Sent as a message on the same task, as any A2A client would.
import { rpc } from './api.js';
import { h } from './dom.js';
import { messageData, messageText } from './format.js';

/** The reply form for a task in input-required; `onSent` is called once the gateway took the answer. */
export function replyBox(task, onSent) {
  const message = task.status?.message;
  const question = messageData(message) ?? {};
  const text = question.question ?? messageText(message) ?? 'The agent needs an answer.';
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const buttons = [];

  const send = async (parts) => {
    for (const b of buttons) b.disabled = true;
    error.hidden = true;
    try {
      await rpc('SendMessage', {
        message: {
          messageId: crypto.randomUUID(),
          role: 'ROLE_USER',
          taskId: task.id,
          contextId: task.contextId,
          parts,
        },
        configuration: { returnImmediately: true },
      });
      onSent();
    } catch (err) {
      error.textContent = `The answer was not taken: ${err.message}`;
      error.hidden = false;
      for (const b of buttons) b.disabled = false;
    }
  };
  const button = (label, cls, parts) => {
    const b = h('button', { type: 'button', class: cls, 'on:click': () => void send(parts()) }, label);
    buttons.push(b);
    return b;
  };

  const body = [];
  if (question.kind === 'permission') {
    const reason = h('input', { id: 'deny-reason', type: 'text', autocomplete: 'off' });
    body.push(
      question.tool ? h('p', {}, 'Tool: ', h('strong', {}, question.tool)) : null,
      question.input ? h('pre', { class: 'tool-input' }, question.input) : null,
      h(
        'div',
        { class: 'actions' },
        button('Allow', 'primary', () => [{ data: { decision: 'allow' } }]),
        button('Deny', 'danger', () => [
          { data: { decision: 'deny', ...(reason.value.trim() ? { message: reason.value.trim() } : {}) } },
        ]),
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'deny-reason' }, 'Reason for a denial (optional, told to the agent)'),
        reason,
      ),
    );
  } else {
    const subs = Array.isArray(question.questions) ? question.questions : [];
    if (subs.length > 1) {
      // Several questions at once: one choice each, sent together.
      const groups = subs.map((q, i) =>
        h(
          'fieldset',
          {},
          h('legend', {}, q.question),
          (q.options ?? []).map((o, j) =>
            h(
              'label',
              { class: 'choice' },
              h('input', { type: 'radio', name: `q-${i}`, value: o, checked: j === 0 }),
              ` ${o}`,
            ),
          ),
        ),
      );
      body.push(
        groups,
        h(
          'div',
          { class: 'actions' },
          button('Send answers', 'primary', () => {
            const answers = {};
            subs.forEach((q, i) => {
              answers[q.question] = groups[i].querySelector('input:checked')?.value ?? '';
            });
            return [{ data: { answers } }];
          }),
        ),
      );
    } else {
      const options = question.options ?? subs[0]?.options ?? [];
      const words = h('input', { id: 'reply-text', type: 'text', autocomplete: 'off' });
      body.push(
        options.length > 0
          ? h(
              'div',
              { class: 'actions', role: 'group', 'aria-label': 'Options' },
              options.map((o) => button(o, 'option', () => [{ text: o }])),
            )
          : null,
        h(
          'form',
          {
            class: 'inline-form',
            'on:submit': (event) => {
              event.preventDefault();
              if (words.value.trim()) void send([{ text: words.value.trim() }]);
            },
          },
          h('label', { for: 'reply-text' }, options.length > 0 ? 'Or answer in words' : 'Your answer'),
          words,
          (() => {
            const b = h('button', { type: 'submit' }, 'Send');
            buttons.push(b);
            return b;
          })(),
        ),
      );
    }
  }
  return h(
    'section',
    { class: 'card attention', id: 'reply', 'aria-labelledby': 'reply-title' },
    h('h2', { id: 'reply-title' }, question.kind === 'permission' ? 'Permission needed' : 'The agent asks'),
    h('p', { class: 'question' }, text),
    question.expiresAt
      ? h(
          'p',
          { class: 'muted' },
          `Unanswered, the task fails at ${new Date(question.expiresAt).toLocaleTimeString()}.`,
        )
      : null,
    body,
    error,
  );
}
