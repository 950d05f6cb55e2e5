// A small, language-agnostic highlighter for the code inside diff lines: strings, comments, numbers and the
// keywords common to the languages agents edit (JS/TS, Python, Go, Rust, shell, YAML keys). It returns nodes,
// never HTML, and gives up on nothing: unknown text stays plain.
import { h } from './dom.js';

const KEYWORDS = new Set(
  (
    'abstract as async await break case catch class const continue def default defer del do elif else enum ' +
    'export extends false final finally fn for from func function go if impl implements import in interface ' +
    'is lambda let match mod module mut new nil none None not null of or package pass private protected pub ' +
    'public raise return self static struct super switch this throw true True False try type typeof use var ' +
    'void while with yield FROM RUN COPY CMD ENTRYPOINT WORKDIR ENV EXPOSE USER ARG'
  ).split(' '),
);

const TOKEN =
  /(\/\/.*$|#(?![!{]).*$|\/\*.*?\*\/)|("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|`(?:[^`\\]|\\.)*`?)|(\b\d[\d_.]*(?:e[+-]?\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)/g;

/** Nodes for one line of code. */
export function highlight(code) {
  const out = [];
  let last = 0;
  for (const m of code.matchAll(TOKEN)) {
    const [text, comment, string, number, word] = m;
    let kind;
    if (comment) kind = 'tok-comment';
    else if (string) kind = 'tok-string';
    else if (number) kind = 'tok-number';
    else if (word && KEYWORDS.has(word)) kind = 'tok-keyword';
    if (!kind) continue;
    if (m.index > last) out.push(code.slice(last, m.index));
    out.push(h('span', { class: kind }, text));
    last = m.index + text.length;
  }
  if (last < code.length) out.push(code.slice(last));
  return out;
}
