// The dashboard's entry: the key gate, the status strip, and a hash router (#/, #/task/<id>, #/new/<skill>).
import { AuthError, getJson, onAuthError, session } from './api.js';
import { h, replace } from './dom.js';
import { showTaskList } from './list.js';
import { showNewTask } from './new-task.js';
import { startStatus } from './status.js';
import { showTask } from './task.js';

const main = document.getElementById('main');
const signOut = document.getElementById('sign-out');
/** Aborted when the page changes: each view's streams and timers stop with it. */
let view = new AbortController();
let statusStarted = false;

function newView() {
  view.abort();
  view = new AbortController();
  return view.signal;
}

/** The key form: shown when the gateway wants a key and this session has none, or a wrong one. */
function showKeyForm(reason) {
  newView();
  signOut.hidden = true;
  if (!statusStarted)
    replace(
      document.getElementById('status'),
      h('p', { class: 'muted' }, 'Sign in to see the gateway’s status.'),
    );
  const input = h('input', {
    id: 'api-key',
    name: 'api-key',
    type: 'password',
    autocomplete: 'off',
    required: true,
    spellcheck: 'false',
    'aria-describedby': 'api-key-help',
  });
  const form = h(
    'form',
    {
      class: 'card narrow',
      id: 'key-form',
      'on:submit': (event) => {
        event.preventDefault();
        session.key = input.value.trim();
        void route();
      },
    },
    h('h1', {}, 'Sign in'),
    reason ? h('p', { class: 'error', role: 'alert', id: 'key-error' }, reason) : null,
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'api-key' }, 'API key'),
      input,
      h(
        'p',
        { id: 'api-key-help', class: 'help' },
        'The gateway needs a key (X-API-Key). It is kept in this browser tab only, until the tab is closed.',
      ),
    ),
    h('button', { type: 'submit', class: 'primary' }, 'Open dashboard'),
  );
  replace(main, form);
  input.focus();
}

/** Asks the gateway whether this session may read (no key configured: yes; else the key must be right). */
async function admitted() {
  try {
    await getJson('api/backends');
    return true;
  } catch (err) {
    if (err instanceof AuthError) {
      showKeyForm(session.key ? `The gateway refused this key: ${err.message}` : undefined);
      session.key = '';
      return false;
    }
    throw err;
  }
}

async function route() {
  const hash = location.hash;
  if (hash && !hash.startsWith('#/')) return; // an in-page link, not a route
  if (!(await admitted())) return;
  signOut.hidden = !session.key;
  if (!statusStarted) {
    statusStarted = true;
    startStatus(document.getElementById('status'));
  }
  const signal = newView();
  const path = (hash || '#/').slice(1);
  const task = /^\/task\/([^/]+)$/.exec(path);
  const create = /^\/new(?:\/([^/]+))?$/.exec(path);
  if (task) await showTask(main, decodeURIComponent(task[1]), signal);
  else if (create) await showNewTask(main, create[1] ? decodeURIComponent(create[1]) : undefined, signal);
  else await showTaskList(main, signal);
}

function routeSafely() {
  route().catch((err) => {
    if (err instanceof AuthError) return; // the key form is up
    replace(main, h('p', { class: 'error', role: 'alert' }, `The dashboard could not load: ${err.message}`));
  });
}

onAuthError((err) => {
  if (document.getElementById('key-form')) return;
  session.key = '';
  showKeyForm(`The gateway refused the key: ${err.message}`);
});

signOut.addEventListener('click', () => {
  session.key = '';
  location.hash = '#/';
  routeSafely();
});

// The skip link moves focus to the content without touching the route.
document.querySelector('.skip')?.addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener('hashchange', routeSafely);
routeSafely();
