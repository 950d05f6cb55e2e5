// The status strip: health, active and queued tasks, and the backends the gateway found.
import { getJson } from './api.js';
import { h, replace } from './dom.js';
import { onStats } from './feed.js';

let strip;
const state = { health: undefined, healthError: undefined, backends: undefined, active: 0, queued: 0 };

function render() {
  const health = state.health;
  const ok = health?.status === 'healthy';
  const all = state.backends ?? [];
  // Backends a skill runs on, or installed ones; the rest (configured by default, not installed) in one line.
  const backends = all.filter((b) => b.found || b.skills.length > 0);
  const absent = all.filter((b) => !b.found && b.skills.length === 0).map((b) => b.name);
  replace(
    strip,
    h(
      'ul',
      { class: 'strip' },
      h(
        'li',
        {},
        h('span', { class: 'label' }, 'Health '),
        h(
          'strong',
          { class: `pill ${ok ? 'ok' : 'bad'}`, id: 'health' },
          state.healthError ? 'unreachable' : (health?.status ?? '…'),
        ),
        health?.version ? h('span', { class: 'muted' }, ` v${health.version}`) : null,
      ),
      h(
        'li',
        {},
        h('span', { class: 'label' }, 'Active '),
        h('strong', { id: 'active-count' }, String(state.active)),
        health ? h('span', { class: 'muted' }, ` of ${health.max_concurrent_tasks}`) : null,
      ),
      h(
        'li',
        {},
        h('span', { class: 'label' }, 'Queued '),
        h('strong', { id: 'queued-count' }, String(state.queued)),
      ),
      h(
        'li',
        { class: 'backends' },
        h('span', { class: 'label' }, 'Backends '),
        backends.length === 0
          ? h('span', { class: 'muted' }, '…')
          : h(
              'ul',
              { class: 'inline', 'aria-label': 'Backends' },
              backends.map((b) =>
                h(
                  'li',
                  {
                    class: `pill ${b.found ? 'ok' : 'bad'}`,
                    title: b.found
                      ? `${b.type}: ${b.skills.join(', ') || 'no skill'}`
                      : (b.detail ?? 'not found'),
                  },
                  `${b.name} ${b.found ? 'found' : 'missing'}`,
                ),
              ),
            ),
        absent.length > 0
          ? h('span', { class: 'muted' }, ` (unused, not installed: ${absent.join(', ')})`)
          : null,
      ),
    ),
  );
}

async function refreshHealth() {
  try {
    // /health answers 503 with a body when the store is down.
    const res = await fetch(new URL('health', new URL('../', location.href)));
    state.health = await res.json();
    state.healthError = undefined;
    state.active = state.health.active_tasks ?? state.active;
    state.queued = state.health.queued_tasks ?? state.queued;
  } catch (err) {
    state.healthError = err.message;
  }
  render();
}

/** Starts the strip: health now and every 30 s, backends once, counts live from the task feed. */
export function startStatus(element) {
  strip = element;
  render();
  void refreshHealth();
  setInterval(() => void refreshHealth(), 30_000);
  getJson('api/backends')
    .then((body) => {
      state.backends = body.backends;
      render();
    })
    .catch(() => {});
  onStats((stats) => {
    state.active = stats.active;
    state.queued = stats.queued;
    render();
  });
}
