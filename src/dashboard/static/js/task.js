// One task: its details, the event timeline streaming live (A2A SubscribeToTask, replayed from the first event
// and resumed after the last one seen), the answer box when it waits for input, cancel, the result with usage
// and cost, the diff, and how to apply or merge the change.
import { ApiError, rpc, subscribeToTask } from './api.js';
import { announce, h, replace } from './dom.js';
import { diffView } from './diff.js';
import {
  age,
  cost,
  duration,
  isTerminal,
  localTime,
  messageData,
  messageText,
  shortState,
  tokens,
} from './format.js';
import { replyBox } from './reply.js';

/** A path as one shell word. */
function shellWord(text) {
  return /^[A-Za-z0-9_./@:-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

function artifactText(artifact) {
  return (artifact?.parts ?? []).map((p) => p.text ?? '').join('');
}

export async function showTask(main, id, signal) {
  const model = {
    task: undefined,
    state: 'unknown',
    meta: {},
    artifacts: new Map(),
    lastEventId: 0,
    following: false,
  };
  const title = h('h1', {}, 'Task ', h('span', { class: 'mono' }, id.slice(0, 8)));
  const stateBadge = h('span', { class: 'state', id: 'task-state', 'aria-live': 'polite' }, '…');
  const details = h('dl', { class: 'details', id: 'task-details' });
  const cancel = h(
    'button',
    { type: 'button', class: 'danger', id: 'cancel-task', hidden: true },
    'Cancel task',
  );
  const actionError = h('p', { class: 'error', role: 'alert', hidden: true });
  const replySlot = h('div', { id: 'reply-slot' });
  const result = h('section', {
    class: 'card',
    id: 'result',
    hidden: true,
    'aria-labelledby': 'result-title',
  });
  const diffSlot = h('section', { class: 'card', id: 'diff', hidden: true, 'aria-labelledby': 'diff-title' });
  const timeline = h('ol', { class: 'timeline', id: 'timeline', role: 'log', 'aria-label': 'Events' });
  const streamNote = h('p', { class: 'muted', id: 'stream-note' });

  replace(
    main,
    h('p', {}, h('a', { href: '#/' }, '← All tasks')),
    h('div', { class: 'heading' }, title, stateBadge, h('div', { class: 'spacer' }), cancel),
    actionError,
    details,
    replySlot,
    result,
    diffSlot,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'timeline-title' },
      h('h2', { id: 'timeline-title' }, 'Timeline'),
      streamNote,
      timeline,
    ),
  );

  const renderDetails = () => {
    const m = model.meta;
    const usage = m.usage ?? {};
    const running = !isTerminal(model.state);
    const took = m.durationMs ?? (running && m.createdAt ? Date.now() - Date.parse(m.createdAt) : undefined);
    const item = (label, value, cls) => [
      h('dt', {}, label),
      h('dd', cls ? { class: cls } : {}, value ?? '–'),
    ];
    replace(
      details,
      item('Skill', m.skill),
      item('Backend', m.fallbackFrom ? `${m.backend} (for ${m.fallbackFrom})` : m.backend),
      item('Workdir', m.workdir ?? (m.createdAt ? 'scratch directory' : undefined), 'mono'),
      item('Created', m.createdAt ? `${localTime(m.createdAt)} (${age(m.createdAt)})` : undefined),
      item('Duration', took === undefined ? undefined : `${duration(took)}${running ? ' so far' : ''}`),
      item('Cost', cost(usage.costUsd)),
      item(
        'Tokens',
        usage.inputTokens === undefined
          ? undefined
          : `${tokens(usage.inputTokens)} in, ${tokens(usage.outputTokens)} out`,
      ),
      usage.model ? item('Model', usage.model) : null,
      item('Context', model.task?.contextId, 'mono'),
    );
    stateBadge.textContent = model.state;
    stateBadge.className = `state state-${model.state}`;
    cancel.hidden = isTerminal(model.state);
  };

  const renderReply = () => {
    if (model.state === 'input-required' && model.task) {
      const box = replyBox(model.task, () => {
        replace(replySlot);
        add('you', 'Answer sent', undefined);
        void follow();
      });
      replace(replySlot, box);
      box.querySelector('button')?.focus();
    } else replace(replySlot);
  };

  const renderResult = () => {
    const artifact = model.artifacts.get('result');
    const status = model.task?.status;
    if (!artifact && !isTerminal(model.state)) return;
    const summary = artifact
      ? (artifact.parts.find((p) => p.text !== undefined)?.text ?? '')
      : messageText(status?.message);
    const review = artifact?.parts.find((p) => p.metadata?.kind === 'review')?.data;
    const files = [...model.artifacts.values()].filter((a) => a.name !== 'result' && a.name !== 'diff');
    result.hidden = false;
    replace(
      result,
      h('h2', { id: 'result-title' }, model.state === 'completed' ? 'Result' : `Ended: ${model.state}`),
      h('p', { class: 'summary', id: 'summary' }, summary || '(no summary)'),
      review?.comments?.length
        ? h(
            'ul',
            { class: 'review' },
            review.comments.map((c) =>
              h(
                'li',
                {},
                h('span', { class: `severity ${c.severity}` }, c.severity),
                ` ${c.file}:${c.line} `,
                c.text,
              ),
            ),
          )
        : null,
      files.length > 0
        ? [
            h('h3', {}, 'Files written'),
            files.map((f) =>
              h(
                'details',
                {},
                h('summary', { class: 'mono' }, f.name),
                h('pre', { class: 'file' }, artifactText(f)),
              ),
            ),
          ]
        : null,
    );
  };

  // What the diff panel shows now: redrawn only when the diff or the workspace (branch, applied) changes.
  let shown = { artifact: undefined, workspace: undefined };
  const renderDiff = () => {
    const artifact = model.artifacts.get('diff');
    if (!artifact || (artifact === shown.artifact && model.meta.workspace === shown.workspace)) return;
    if (shown.url) URL.revokeObjectURL(shown.url);
    shown = { artifact, workspace: model.meta.workspace, url: undefined };
    const text = artifactText(artifact);
    const view = diffView(text);
    const workdir = model.meta.workdir;
    const ws = model.meta.workspace ?? {};
    const download = h(
      'a',
      {
        class: 'button',
        download: 'changes.diff',
        href: (shown.url = URL.createObjectURL(new Blob([text], { type: 'text/x-diff' }))),
      },
      'Download changes.diff',
    );
    let how;
    if (ws.applied)
      how = h(
        'p',
        { id: 'apply-note' },
        `The task applied this change to ${workdir} (it was sent with apply).`,
      );
    else {
      const dir = shellWord(workdir ?? '.');
      const commands = ws.branch
        ? `git -C ${dir} merge ${shellWord(ws.branch)}`
        : `git -C ${dir} apply --check changes.diff && git -C ${dir} apply changes.diff`;
      how = [
        h(
          'p',
          { id: 'apply-note' },
          ws.branch
            ? `The change is committed on branch ${ws.branch} of the workdir's repository. To take it:`
            : 'To apply it, save the diff and run:',
        ),
        h('pre', { class: 'command', id: 'apply-command', tabindex: '0' }, commands),
        h(
          'p',
          { class: 'muted' },
          'The gateway applies or commits a change only when the task is sent with apply or commit in its input; ' +
            'A2A has no call to apply a finished task, so the dashboard shows the command instead.',
        ),
      ];
    }
    diffSlot.hidden = false;
    replace(
      diffSlot,
      h(
        'div',
        { class: 'heading' },
        h(
          'h2',
          { id: 'diff-title' },
          `Changes (${view.files.length} file${view.files.length === 1 ? '' : 's'})`,
        ),
        h('div', { class: 'spacer' }),
        download,
      ),
      how,
      view.element,
    );
  };

  const add = (kind, label, text, time) => {
    const entry = h(
      'li',
      { class: `event ev-${kind}` },
      h('span', { class: 'event-kind' }, label),
      time ? h('time', { datetime: time }, new Date(time).toLocaleTimeString()) : null,
      text ? h('div', { class: 'event-text' }, text) : null,
    );
    timeline.append(entry);
  };

  /** Applies one event (a 1.0 StreamResponse) to the page. */
  const apply = (response) => {
    if (response.task) {
      const task = response.task;
      const first = !model.task;
      model.task = { ...task };
      model.meta = { ...model.meta, ...(task.metadata ?? {}) };
      model.state = shortState(task.status?.state);
      for (const a of task.artifacts ?? []) model.artifacts.set(a.name ?? a.artifactId, a);
      if (first) {
        const request = task.history?.[0];
        const input = messageData(request) ?? messageText(request);
        add(
          'state',
          'Submitted',
          typeof input === 'string' ? input : JSON.stringify(input, null, 2),
          task.status?.timestamp,
        );
      }
    } else if (response.statusUpdate) {
      const update = response.statusUpdate;
      const status = update.status ?? {};
      const next = shortState(status.state);
      const changed = next !== model.state;
      model.state = next;
      model.meta = { ...model.meta, ...(update.metadata ?? {}) };
      model.task = { ...(model.task ?? { id, contextId: update.contextId }), status };
      const event = status.message?.metadata?.event;
      const text = messageText(status.message);
      if (event === 'text') add('agent', 'Agent', text, status.timestamp);
      else if (event === 'tool_call')
        add('tool', `Tool: ${status.message.metadata.tool ?? ''}`, text, status.timestamp);
      else add('state', changed ? `State: ${next}` : next, text, status.timestamp);
      if (changed) announce(`Task is ${next}`);
    } else if (response.artifactUpdate) {
      const artifact = response.artifactUpdate.artifact;
      const key = artifact.name ?? artifact.artifactId;
      const existing = model.artifacts.get(key);
      model.artifacts.set(
        key,
        response.artifactUpdate.append && existing
          ? { ...existing, parts: [...existing.parts, ...artifact.parts] }
          : artifact,
      );
      add('artifact', 'Artifact', key === 'diff' ? 'The diff of the change' : key, undefined);
    }
  };

  const render = () => {
    renderDetails();
    renderResult();
    renderDiff();
  };

  /** Follows the task's events from the last one seen until the stream closes (ended, or waiting for input). */
  const follow = async () => {
    if (model.following) return;
    model.following = true;
    let failures = 0;
    try {
      while (!signal.aborted) {
        streamNote.textContent = 'Live: following the task’s events.';
        try {
          for await (const { id: seq, result: response } of subscribeToTask(id, model.lastEventId, signal)) {
            if (seq !== undefined) model.lastEventId = seq;
            apply(response);
            render();
            failures = 0;
          }
        } catch (err) {
          if (signal.aborted) return;
          if (err instanceof ApiError && typeof err.code === 'number' && err.code < 0) {
            streamNote.textContent = `The gateway refused to stream this task: ${err.message}`;
            return;
          }
          failures += 1;
        }
        if (isTerminal(model.state)) {
          streamNote.textContent = 'The task has ended; every event is shown.';
          return;
        }
        if (model.state === 'input-required') {
          streamNote.textContent = 'Waiting for your answer.';
          renderReply();
          return;
        }
        // The stream dropped while the task runs: resume after the last event seen.
        streamNote.textContent = 'Connection lost; reconnecting…';
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(10_000, 300 * 2 ** Math.min(failures, 5))),
        );
      }
    } finally {
      model.following = false;
    }
  };

  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    actionError.hidden = true;
    try {
      const task = await rpc('CancelTask', { id });
      model.state = shortState(task.status?.state);
      render();
      renderReply();
      announce(`Task is ${model.state}`);
      // The cancel's own events (and anything before it) join the timeline.
      void follow();
    } catch (err) {
      actionError.textContent = `Could not cancel: ${err.message}`;
      actionError.hidden = false;
    } finally {
      cancel.disabled = false;
    }
  });

  try {
    const task = await rpc('GetTask', { id, historyLength: 0 });
    model.meta = { ...(task.metadata ?? {}) };
    model.state = shortState(task.status?.state);
    renderDetails();
  } catch (err) {
    replace(
      main,
      h('p', {}, h('a', { href: '#/' }, '← All tasks')),
      h('p', { class: 'error', role: 'alert' }, `This task cannot be shown: ${err.message}`),
    );
    return;
  }
  const tick = setInterval(renderDetails, 5_000);
  signal.addEventListener('abort', () => clearInterval(tick), { once: true });
  await follow();
}
