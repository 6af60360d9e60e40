// Unified diff parsing and rendering (text nodes only).

import { h } from './dom.js';

/**
 * parseDiff splits a git-style unified diff into files:
 * [{oldPath, newPath, path, change, meta[], hunks[{header, lines[{kind, old, new, text}]}], adds, dels}]
 */
export function parseDiff(diffText) {
  const files = [];
  let f = null;
  let hunk = null;
  let oldNo = 0;
  let newNo = 0;
  const start = (line) => {
    f = { oldPath: '', newPath: '', path: '', change: 'modified', meta: [], hunks: [], adds: 0, dels: 0, header: line };
    files.push(f);
    hunk = null;
  };
  const lines = String(diffText || '').split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    if (line.startsWith('diff --git ')) {
      start(line);
      const m = /^diff --git a\/(.*) b\/(.*)$/.exec(line);
      if (m) f.path = m[2];
      continue;
    }
    if (!f) start('');
    if (!hunk) {
      if (line.startsWith('--- ')) {
        f.oldPath = line.slice(4).replace(/^a\//, '');
        continue;
      }
      if (line.startsWith('+++ ')) {
        f.newPath = line.slice(4).replace(/^b\//, '');
        if (f.oldPath === '/dev/null') f.change = 'added';
        if (f.newPath === '/dev/null') f.change = 'removed';
        f.path = f.newPath !== '/dev/null' ? f.newPath : f.oldPath;
        continue;
      }
    }
    const hm = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$/.exec(line);
    if (hm) {
      oldNo = Number(hm[1]);
      newNo = Number(hm[2]);
      hunk = { header: line, lines: [] };
      f.hunks.push(hunk);
      continue;
    }
    if (!hunk) {
      if (/^new file mode/.test(line)) f.change = 'added';
      if (/^deleted file mode/.test(line)) f.change = 'removed';
      f.meta.push(line);
      continue;
    }
    const c = line[0];
    if (c === '+') {
      hunk.lines.push({ kind: 'add', old: '', new: newNo++, text: line.slice(1) });
      f.adds++;
    } else if (c === '-') {
      hunk.lines.push({ kind: 'del', old: oldNo++, new: '', text: line.slice(1) });
      f.dels++;
    } else if (c === '\\') {
      hunk.lines.push({ kind: 'note', old: '', new: '', text: line });
    } else {
      hunk.lines.push({ kind: 'ctx', old: oldNo++, new: newNo++, text: line.slice(1) });
    }
  }
  return files;
}

const SIGN = { add: '+', del: '−', ctx: ' ', note: ' ' };
const SR = { add: 'added', del: 'removed', ctx: '', note: '' };

/** diffView renders the parsed files as tables (old no., new no., line). */
export function diffView(files) {
  return files.map((f) => {
    const body = h('tbody');
    for (const hk of f.hunks) {
      body.appendChild(h('tr', { class: 'hunk' }, h('td', { colspan: '3' }, hk.header)));
      for (const l of hk.lines) {
        body.appendChild(
          h(
            'tr',
            { class: `d-${l.kind}` },
            h('td', { class: 'no', 'aria-hidden': 'true' }, String(l.old)),
            h('td', { class: 'no', 'aria-hidden': 'true' }, String(l.new)),
            h(
              'td',
              { class: 'txt' },
              h('span', { class: 'sign', 'aria-hidden': 'true' }, SIGN[l.kind]),
              SR[l.kind] ? h('span', { class: 'sr-only' }, `${SR[l.kind]}: `) : null,
              l.text,
            ),
          ),
        );
      }
    }
    return h(
      'section',
      { class: 'diff-file' },
      h(
        'h3',
        { class: 'diff-head' },
        h('span', { class: `chg chg-${f.change}` }, f.change),
        h('span', { class: 'path' }, f.path || '(unnamed)'),
        h('span', { class: 'counts' }, h('span', { class: 'adds' }, `+${f.adds}`), ' ', h('span', { class: 'dels' }, `−${f.dels}`)),
      ),
      f.hunks.length
        ? h('div', { class: 'table-scroll' }, h('table', { class: 'diff' }, h('caption', { class: 'sr-only' }, `Changes to ${f.path}`), body))
        : h('p', { class: 'muted' }, f.meta.join(' ') || 'No text changes'),
    );
  });
}
