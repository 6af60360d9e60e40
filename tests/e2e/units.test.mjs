// Unit tests of the UI's pure modules (highlighter, diff parser, file list), run by the
// same node test runner as the browser tests.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokens, toLines, languageFor } from '../../web/static/assets/js/highlight.js';
import { parseDiff } from '../../web/static/assets/js/diff.js';
import { visibleFiles, buildTree } from '../../web/static/assets/js/views/files.js';

const classes = (toks, cls) => toks.filter(([c]) => c === cls).map(([, t]) => t);

test('highlighter: tokens rebuild the exact text for every language', () => {
  const samples = {
    python: 'def f(x):\n    """Doc\n    more"""\n    return x + 1  # done\n',
    toml: '[tool.ruff]\nline-length = 100\nselect = ["E", "F"]  # rules\n',
    json: '{"a": [1, 2.5, true, null], "b": "<b>x</b>"}\n',
    markdown: '# Title\n\n- item with `code` and **bold**\n```\n<script>\n```\n',
  };
  for (const [lang, text] of Object.entries(samples)) {
    assert.equal(tokens(text, lang).map(([, t]) => t).join(''), text, lang);
  }
});

test('highlighter: classes per language', () => {
  const cases = [
    ['python', 'class A:\n    def run(self):\n        return "s"  # c\n', { keyword: ['class', 'def', 'return'], type: ['A'], fn: ['run'], string: ['"s"'], comment: ['# c'] }],
    ['python', 'x = """a\nb"""\n@dec\n', { string: ['"""a\nb"""'], decorator: ['@dec'] }],
    ['toml', '[project]\nname = "x"\nlen = 100\nok = true\n', { section: ['[project]'], key: ['name', 'len', 'ok'], string: ['"x"'], number: ['100'], literal: ['true'] }],
    ['json', '{"k": "v", "n": -1.5e3, "t": false}', { key: ['"k"', '"n"', '"t"'], string: ['"v"'], number: ['-1.5e3'], literal: ['false'] }],
    ['markdown', '## Head\ntext `c` [l](u)\n', { heading: ['## Head'], code: ['`c`'], link: ['[l](u)'] }],
  ];
  for (const [lang, text, want] of cases) {
    const toks = tokens(text, lang);
    for (const [cls, expected] of Object.entries(want)) assert.deepEqual(classes(toks, cls), expected, `${lang} ${cls}`);
  }
});

test('highlighter: lines, languages, plain text for others', () => {
  const lines = toLines(tokens('a = """x\ny"""\nb = 1', 'python'));
  assert.equal(lines.length, 3);
  assert.deepEqual(lines[1], [['string', 'y"""']]);
  assert.equal(languageFor('', 'pyproject.toml'), 'toml');
  assert.equal(languageFor('python', 'x.txt'), 'python');
  assert.equal(languageFor('text', 'a.sh'), 'text');
  assert.deepEqual(tokens('<b>x</b>', 'text'), [['', '<b>x</b>']]);
});

test('diff parser: files, change kinds, line numbers, no-newline marker', () => {
  const diff = [
    'diff --git a/app.py b/app.py',
    'index 1111111..2222222 100644',
    '--- a/app.py',
    '+++ b/app.py',
    '@@ -1,3 +1,4 @@',
    ' import os',
    '-x = 1',
    '+x = 2',
    '+y = 3',
    ' print(x)',
    '\\ No newline at end of file',
    'diff --git a/new.md b/new.md',
    'new file mode 100644',
    '--- /dev/null',
    '+++ b/new.md',
    '@@ -0,0 +1 @@',
    '+# <img src=x>',
    '',
  ].join('\n');
  const files = parseDiff(diff);
  assert.equal(files.length, 2);
  const [a, b] = files;
  assert.equal(a.path, 'app.py');
  assert.equal(a.change, 'modified');
  assert.equal(a.adds, 2);
  assert.equal(a.dels, 1);
  assert.deepEqual(
    a.hunks[0].lines.map((l) => [l.kind, l.old, l.new]),
    [['ctx', 1, 1], ['del', 2, ''], ['add', '', 2], ['add', '', 3], ['ctx', 3, 4], ['note', '', '']],
  );
  assert.equal(b.path, 'new.md');
  assert.equal(b.change, 'added');
  assert.equal(b.hunks[0].lines[0].text, '# <img src=x>');
  assert.deepEqual(parseDiff(''), []);
});

test('file list: metadata from files, categories from by_type path lists', () => {
  // GET /files: all_files and by_type are path strings, files the metadata.
  const data = {
    total: 3,
    all_files: ['cli.py', 'README.md', 'tests/test_cli.py'],
    by_type: { code: ['cli.py', 'tests/test_cli.py'], config: [], docs: ['README.md'], tests: ['tests/test_cli.py'], other: [] },
    files: [
      { path: 'README.md', size: 10, language: 'markdown' },
      { path: 'cli.py', size: 20, language: 'python' },
      { path: 'tests/test_cli.py', size: 30, language: 'python' },
    ],
  };
  const paths = (cat) => visibleFiles(data, cat).map((f) => f.path);
  assert.deepEqual(paths('all'), ['README.md', 'cli.py', 'tests/test_cli.py']);
  assert.deepEqual(paths('code'), ['cli.py', 'tests/test_cli.py']);
  assert.deepEqual(paths('tests'), ['tests/test_cli.py']);
  assert.deepEqual(paths('config'), []);
  assert.deepEqual(paths('unknown'), []);
  assert.equal(visibleFiles(data, 'docs')[0].size, 10, 'entries keep their metadata');
  const tree = buildTree(visibleFiles(data, 'all'));
  assert.deepEqual(tree.files.map((f) => f.name), ['README.md', 'cli.py']);
  assert.deepEqual(tree.dirs.get('tests').files.map((f) => [f.name, f.size]), [['test_cli.py', 30]]);
});
