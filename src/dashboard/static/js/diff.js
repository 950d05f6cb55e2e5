// A unified diff as a file list and one block per file, each line marked as added, removed, hunk header or
// context (coloured by the stylesheet). Text only: nothing in a diff is ever read as HTML.
import { h } from './dom.js';
import { highlight } from './highlight.js';

/** Splits a unified diff (`git diff` output) into files: {path, oldPath, status, added, removed, lines}. */
export function parseDiff(text) {
  const files = [];
  let file;
  for (const line of text.split('\n')) {
    const start = /^diff --git a\/(.+?) b\/(.+)$/.exec(line);
    if (start) {
      file = { path: start[2], oldPath: start[1], status: 'modified', added: 0, removed: 0, lines: [] };
      files.push(file);
    }
    if (!file) continue;
    if (line.startsWith('new file mode')) file.status = 'added';
    else if (line.startsWith('deleted file mode')) file.status = 'deleted';
    else if (line.startsWith('rename to ')) file.status = 'renamed';
    else if (line.startsWith('Binary files')) file.status = 'binary';
    let kind = 'ctx';
    if (line.startsWith('@@')) kind = 'hunk';
    else if (
      line.startsWith('+++') ||
      line.startsWith('---') ||
      start ||
      /^(index|new file|deleted file|similarity|rename|old mode|new mode|Binary)/.test(line)
    )
      kind = 'meta';
    else if (line.startsWith('+')) {
      kind = 'add';
      file.added += 1;
    } else if (line.startsWith('-')) {
      kind = 'del';
      file.removed += 1;
    } else if (line.startsWith('\\')) kind = 'meta';
    file.lines.push({ kind, text: line });
  }
  // The diff ends with a newline: drop the empty line it leaves.
  for (const f of files) if (f.lines.at(-1)?.text === '') f.lines.pop();
  return files;
}

const CODE = new Set(['add', 'del', 'ctx']);
const LABEL = { add: 'added', del: 'removed', hunk: 'hunk', meta: '', ctx: '' };

/** The diff view: a list of files (buttons that jump to each) and the files' lines. */
export function diffView(text) {
  const files = parseDiff(text);
  const sections = files.map((f, i) =>
    h(
      'section',
      { class: 'diff-file', id: `diff-file-${i}`, tabindex: '-1', 'aria-label': `Changes to ${f.path}` },
      h(
        'h3',
        { class: 'mono' },
        f.path,
        ' ',
        h('span', { class: 'count add' }, `+${f.added}`),
        ' ',
        h('span', { class: 'count del' }, `−${f.removed}`),
      ),
      h(
        'pre',
        { class: 'diff', tabindex: '0', 'aria-label': `Diff of ${f.path}` },
        h(
          'code',
          {},
          f.lines.map((l) =>
            h(
              'span',
              { class: `line ${l.kind}`, ...(LABEL[l.kind] ? { 'data-kind': LABEL[l.kind] } : {}) },
              CODE.has(l.kind) ? [l.text.slice(0, 1), highlight(l.text.slice(1))] : l.text,
              '\n',
            ),
          ),
        ),
      ),
    ),
  );
  const list = h(
    'ul',
    { class: 'file-list', id: 'diff-files' },
    files.map((f, i) =>
      h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'link-button mono',
            'on:click': () => {
              const target = sections[i];
              target.scrollIntoView({ block: 'start' });
              target.focus({ preventScroll: true });
            },
          },
          f.path,
        ),
        ' ',
        h('span', { class: 'muted' }, f.status),
        ' ',
        h('span', { class: 'count add' }, `+${f.added}`),
        ' ',
        h('span', { class: 'count del' }, `−${f.removed}`),
      ),
    ),
  );
  return {
    files,
    element: h('div', { class: 'diff-view' }, h('h3', { class: 'visually-hidden' }, 'Files'), list, sections),
  };
}
