// The live task list: every task the key may see, newest first, with filters; rows change in place as the
// feed reports them, without a reload.
import { getJson } from './api.js';
import { h, replace } from './dom.js';
import { onReconnect, onTask } from './feed.js';
import { age, cost, duration, isTerminal } from './format.js';

const STATES = ['submitted', 'working', 'input-required', 'completed', 'failed', 'canceled', 'rejected'];

/** The filters live in the page's hash query (#/?state=working&skill=fix_bug), so a filtered view can be shared. */
function filtersFromHash() {
  const query = location.hash.split('?')[1] ?? '';
  const params = new URLSearchParams(query);
  return {
    state: params.get('state') ?? '',
    skill: params.get('skill') ?? '',
    backend: params.get('backend') ?? '',
    text: params.get('q') ?? '',
  };
}

function matches(row, f) {
  if (f.state && row.state !== f.state) return false;
  if (f.skill && row.skill !== f.skill) return false;
  if (f.backend && row.backend !== f.backend) return false;
  if (f.text) {
    const hay = `${row.id} ${row.workdir ?? ''} ${row.message ?? ''}`.toLowerCase();
    if (!hay.includes(f.text.toLowerCase())) return false;
  }
  return true;
}

function sortKey(row) {
  return row.createdAt ?? row.updatedAt ?? '';
}

function select(id, label, value, options) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h(
      'select',
      { id, name: id },
      h('option', { value: '' }, 'any'),
      options.map((o) => h('option', { value: o, selected: o === value }, o)),
    ),
  );
}

export async function showTaskList(main, signal) {
  const rows = new Map();
  const filters = filtersFromHash();
  const body = h('tbody', { id: 'task-rows' });
  const count = h('p', { class: 'muted', id: 'task-count', 'aria-live': 'polite' });
  const filterBox = h('div', { class: 'filters' });
  const form = h('form', { class: 'card', role: 'search', 'aria-label': 'Filter tasks' }, filterBox);

  let shownOptions = '';
  const renderFilters = () => {
    const known = (key) => [...new Set([...rows.values()].map((r) => r[key]).filter(Boolean))].sort();
    const options = JSON.stringify([known('skill'), known('backend')]);
    if (options === shownOptions) return;
    shownOptions = options;
    const focused = document.activeElement?.id;
    replace(
      filterBox,
      select('filter-state', 'State', filters.state, STATES),
      select('filter-skill', 'Skill', filters.skill, [
        ...new Set([...known('skill'), filters.skill].filter(Boolean)),
      ]),
      select('filter-backend', 'Backend', filters.backend, [
        ...new Set([...known('backend'), filters.backend].filter(Boolean)),
      ]),
      h(
        'div',
        { class: 'field grow' },
        h('label', { for: 'filter-text' }, 'Search'),
        h('input', {
          id: 'filter-text',
          type: 'search',
          value: filters.text,
          placeholder: 'id, workdir or message',
        }),
      ),
    );
    if (focused) document.getElementById(focused)?.focus();
  };

  const renderRows = () => {
    const now = Date.now();
    const shown = [...rows.values()]
      .filter((r) => matches(r, filters))
      .sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : -1));
    replace(
      body,
      shown.length === 0
        ? h(
            'tr',
            {},
            h(
              'td',
              { colspan: 8, class: 'muted' },
              rows.size === 0 ? 'No tasks yet.' : 'No task matches the filters.',
            ),
          )
        : shown.map((r) => rowOf(r, now)),
    );
    count.textContent = `${shown.length} of ${rows.size} task${rows.size === 1 ? '' : 's'}`;
  };

  form.addEventListener('input', (event) => {
    const t = event.target;
    if (t.id === 'filter-state') filters.state = t.value;
    if (t.id === 'filter-skill') filters.skill = t.value;
    if (t.id === 'filter-backend') filters.backend = t.value;
    if (t.id === 'filter-text') filters.text = t.value;
    const q = new URLSearchParams(
      Object.entries({ ...filters, q: filters.text, text: '' }).filter(([, v]) => v),
    );
    history.replaceState(null, '', `#/${q.size ? `?${q}` : ''}`);
    renderRows();
  });
  form.addEventListener('submit', (event) => event.preventDefault());

  replace(
    main,
    h(
      'div',
      { class: 'heading' },
      h('h1', {}, 'Tasks'),
      h('a', { href: '#/new', class: 'button primary' }, 'New task'),
    ),
    form,
    count,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'tasks' },
        h('caption', { class: 'visually-hidden' }, 'Tasks, newest first'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Task', 'State', 'Skill', 'Backend', 'Workdir', 'Age', 'Duration', 'Cost'].map((c) =>
              h('th', { scope: 'col' }, c),
            ),
          ),
        ),
        body,
      ),
    ),
  );

  const load = async () => {
    const data = await getJson('api/tasks?limit=200', { signal });
    rows.clear();
    for (const row of data.tasks) rows.set(row.id, row);
    renderFilters();
    renderRows();
  };
  onTask((row) => {
    const isNew = !rows.has(row.id);
    rows.set(row.id, row);
    if (isNew) renderFilters();
    renderRows();
  }, signal);
  onReconnect(() => void load().catch(() => {}), signal);
  renderFilters();
  await load();
  // Ages and running durations move on by themselves.
  const tick = setInterval(renderRows, 10_000);
  signal.addEventListener('abort', () => clearInterval(tick), { once: true });
}

function rowOf(r, now) {
  const running = !isTerminal(r.state);
  const took = r.durationMs ?? (running && r.createdAt ? now - Date.parse(r.createdAt) : undefined);
  return h(
    'tr',
    { dataset: { id: r.id, state: r.state } },
    h(
      'th',
      { scope: 'row' },
      h('a', { href: `#/task/${encodeURIComponent(r.id)}`, class: 'mono' }, r.id.slice(0, 8)),
      r.message ? h('div', { class: 'row-message' }, r.message) : null,
    ),
    h('td', {}, h('span', { class: `state state-${r.state}` }, r.state)),
    h('td', {}, r.skill ?? '–'),
    h('td', {}, r.backend ?? '–'),
    h('td', { class: 'mono workdir', title: r.workdir ?? '' }, r.workdir ?? (r.createdAt ? 'scratch' : '–')),
    h('td', {}, age(r.createdAt ?? r.updatedAt, now)),
    h('td', {}, took === undefined ? '–' : `${duration(took)}${running ? '…' : ''}`),
    h('td', {}, cost(r.costUsd)),
  );
}
