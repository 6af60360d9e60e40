// The file browser: the task's files grouped by folder, filtered by the
// categories of the API's by_type lists (code, config, docs, tests, other), and a viewer
// with line numbers and syntax highlighting.

import { h, replace } from '../dom.js';
import { describe, taskPath, filePath } from '../api.js';
import { bytes } from '../format.js';
import { codeView } from '../highlight.js';
import { alertBox, empty, loading, copyButton, showMessage } from '../ui.js';

const CATEGORIES = [
  ['all', 'All'],
  ['code', 'Code'],
  ['config', 'Config'],
  ['docs', 'Docs'],
  ['tests', 'Tests'],
  ['other', 'Other'],
];

/** buildTree groups paths into nested folders: {dirs: Map, files: []}. */
export function buildTree(files) {
  const root = { dirs: new Map(), files: [] };
  for (const f of files) {
    const parts = String(f.path).split('/');
    let node = root;
    for (const dir of parts.slice(0, -1)) {
      if (!node.dirs.has(dir)) node.dirs.set(dir, { dirs: new Map(), files: [] });
      node = node.dirs.get(dir);
    }
    node.files.push({ ...f, name: parts[parts.length - 1] });
  }
  return root;
}

/**
 * visibleFiles picks the entries of a GET /files answer to list under a
 * category: `files` holds each file's metadata, `by_type` the paths of each
 * category ('all' shows every file).
 */
export function visibleFiles(data, category) {
  const files = data.files || [];
  if (category === 'all') return files;
  const allowed = new Set(data.by_type[category] || []);
  return files.filter((f) => allowed.has(f.path));
}

/** filesTab lists the files and shows one. */
export function filesTab(app, id) {
  const chips = h('div', { class: 'chips', role: 'group', 'aria-label': 'File category' });
  const tree = h('nav', { class: 'tree', 'aria-label': 'Files' });
  const viewer = h('div', { class: 'viewer', 'aria-live': 'polite' }, empty('Choose a file to see its contents.'));
  const el = h('div', { class: 'files' }, chips, h('div', { class: 'files-grid' }, tree, viewer));
  let data = null;
  let category = 'all';
  let selected = '';
  let shownSha = '';

  function renderNode(node, prefix) {
    const ul = h('ul', {});
    for (const [name, child] of [...node.dirs.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
      ul.appendChild(h('li', {}, h('details', { open: true }, h('summary', {}, h('span', { class: 'folder' }, `${name}/`)), renderNode(child, `${prefix}${name}/`))));
    }
    for (const f of node.files.sort((a, b) => a.name.localeCompare(b.name))) {
      const b = h('button', { type: 'button', class: 'file', 'data-path': f.path, title: f.path }, h('span', { class: 'fname' }, f.name), h('span', { class: 'fsize' }, bytes(f.size)));
      if (f.path === selected) b.setAttribute('aria-current', 'true');
      b.addEventListener('click', () => open(f.path));
      ul.appendChild(h('li', {}, b));
    }
    return ul;
  }

  function render() {
    const counts = { all: data.files.length };
    for (const [k] of CATEGORIES.slice(1)) counts[k] = (data.by_type[k] || []).length;
    replace(
      chips,
      CATEGORIES.map(([k, label]) => {
        const b = h('button', { type: 'button', class: 'chip', 'aria-pressed': String(k === category) }, `${label} (${counts[k]})`);
        b.disabled = counts[k] === 0 && k !== 'all';
        b.addEventListener('click', () => {
          category = k;
          render();
        });
        return b;
      }),
    );
    const files = visibleFiles(data, category);
    replace(tree, files.length ? renderNode(buildTree(files), '') : empty('No files yet.'));
  }

  async function open(path) {
    selected = path;
    for (const b of tree.querySelectorAll('button.file')) {
      if (b.dataset.path === path) b.setAttribute('aria-current', 'true');
      else b.removeAttribute('aria-current');
    }
    replace(viewer, loading(`Loading ${path}…`));
    try {
      const f = await app.api.get(taskPath(id, 'files', filePath(path)));
      if (selected !== path) return;
      shownSha = f.sha256;
      const body = f.is_binary
        ? h('p', { class: 'muted' }, 'Binary file: download it to view.')
        : codeView(f.content, f.language, `Contents of ${f.path}`);
      const raw = h('button', { type: 'button', class: 'btn small' }, 'Download');
      const rawMsg = h('div', { class: 'msg' });
      raw.addEventListener('click', () =>
        app.api
          .download(`${taskPath(id, 'files', filePath(path))}?raw=1`, f.path.split('/').pop())
          .then(() => showMessage(rawMsg))
          .catch((err) => showMessage(rawMsg, 'error', describe(err))),
      );
      replace(
        viewer,
        h(
          'div',
          { class: 'viewer-head' },
          h('h3', { class: 'path' }, f.path),
          h('span', { class: 'muted' }, `${f.language} · ${bytes(f.size)}`),
          h('span', { class: 'actions' }, f.is_binary ? null : copyButton(() => f.content, 'Copy'), raw),
        ),
        rawMsg,
        body,
      );
    } catch (err) {
      replace(viewer, alertBox('error', describe(err)));
    }
  }

  return {
    el,
    async load() {
      if (!data) replace(tree, loading('Loading files…'));
      try {
        data = await app.api.get(taskPath(id, 'files'));
        render();
        if (selected) {
          const cur = data.files.find((f) => f.path === selected);
          if (cur && cur.sha256 !== shownSha) open(selected);
        }
      } catch (err) {
        replace(tree, alertBox('error', describe(err)));
      }
    },
  };
}
