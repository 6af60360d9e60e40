// A small syntax highlighter for Python, Markdown, TOML and JSON. It splits
// text into [class, text] tokens with sticky regular expressions and builds
// <span> elements whose content is a text node: no markup is ever parsed, so
// file contents cannot inject anything.

import { h } from './dom.js';

const PY_KEYWORDS = new Set(
  ('False None True and as assert async await break class continue def del elif else except finally for ' +
    'from global if import in is lambda nonlocal not or pass raise return try while with yield match case').split(' '),
);
const PY_BUILTINS = new Set(
  ('abs all any bool bytes callable dict dir enumerate filter float format frozenset getattr hasattr hash ' +
    'int isinstance issubclass iter len list map max min next object open print range repr reversed round ' +
    'set setattr sorted str sum super tuple type vars zip self cls Exception ValueError TypeError KeyError ' +
    'RuntimeError SystemExit').split(' '),
);

// Rules: [class, sticky regexp]; the first that matches at the position wins.
const PYTHON = [
  ['comment', /#[^\n]*/y],
  ['string', /[rRbBuUfF]{0,2}(?:"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?)/y],
  ['decorator', /@[A-Za-z_][\w.]*/y],
  ['number', /(?:0[xX][\da-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?j?|\.\d+)(?![\w])/y],
  ['word', /[A-Za-z_][\w]*/y],
  ['plain', /\s+|[^\w\s#'"@]+/y],
];

const TOML = [
  ['comment', /#[^\n]*/y],
  ['section', /^[ \t]*\[\[?[^\]\n]*\]\]?/my],
  ['key', /^[ \t]*[A-Za-z0-9_.\-"']+(?=[ \t]*=)/my],
  ['string', /"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|"(?:[^"\\\n]|\\.)*"?|'[^'\n]*'?/y],
  ['literal', /\b(?:true|false|inf|nan)\b/y],
  ['number', /\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)?)?|[+-]?(?:0x[\da-fA-F_]+|\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?)/y],
  ['plain', /\n|[ \t]+|[^\s#"'\w]+|\w+/y],
];

const JSONR = [
  ['key', /"(?:[^"\\\n]|\\.)*"(?=\s*:)/y],
  ['string', /"(?:[^"\\\n]|\\.)*"?/y],
  ['literal', /\b(?:true|false|null)\b/y],
  ['number', /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y],
  ['punct', /[{}[\],:]/y],
  ['plain', /\s+|[^\s"{}[\],:\d-]+|./y],
];

function scan(textIn, rules, classify) {
  const out = [];
  let i = 0;
  let plain = '';
  const flush = () => {
    if (plain) out.push(['', plain]);
    plain = '';
  };
  while (i < textIn.length) {
    let matched = false;
    for (const [cls, re] of rules) {
      re.lastIndex = i;
      const m = re.exec(textIn);
      if (!m || m[0] === '') continue;
      const c = classify ? classify(cls, m[0], out) : cls;
      if (c === 'plain' || c === '') plain += m[0];
      else {
        flush();
        out.push([c, m[0]]);
      }
      i += m[0].length;
      matched = true;
      break;
    }
    if (!matched) {
      plain += textIn[i];
      i += 1;
    }
  }
  flush();
  return out;
}

function lastWord(out) {
  for (let j = out.length - 1; j >= 0; j--) {
    const [c, t] = out[j];
    if (c === '' && /^\s+$/.test(t)) continue;
    return t;
  }
  return '';
}

function python(textIn) {
  return scan(textIn, PYTHON, (cls, word, out) => {
    if (cls !== 'word') return cls;
    const prev = lastWord(out);
    if (prev === 'def') return 'fn';
    if (prev === 'class') return 'type';
    if (PY_KEYWORDS.has(word)) return 'keyword';
    if (PY_BUILTINS.has(word)) return 'builtin';
    return 'plain';
  });
}

// Markdown is highlighted line by line: headings, fences, quotes, list
// markers, then inline code, emphasis and links.
const MD_INLINE = [
  ['code', /`[^`\n]+`/y],
  ['strong', /\*\*[^*\n]+\*\*|__[^_\n]+__/y],
  ['em', /\*[^*\s][^*\n]*\*|_[^_\s][^_\n]*_/y],
  ['link', /!?\[[^\]\n]*\]\([^)\n]*\)/y],
  ['plain', /[^`*_![]+|./y],
];

function markdown(textIn) {
  const out = [];
  let fence = false;
  const lines = textIn.split('\n');
  lines.forEach((line, n) => {
    const nl = n < lines.length - 1 ? '\n' : '';
    if (/^\s*(```|~~~)/.test(line)) {
      fence = !fence;
      out.push(['code', line], ['', nl]);
      return;
    }
    if (fence) {
      out.push(['code', line], ['', nl]);
      return;
    }
    if (/^#{1,6}\s/.test(line)) {
      out.push(['heading', line], ['', nl]);
      return;
    }
    if (/^\s*>/.test(line)) {
      out.push(['comment', line], ['', nl]);
      return;
    }
    const m = /^(\s*)([-*+]|\d+[.)])(\s+)/.exec(line);
    let rest = line;
    if (m) {
      out.push(['', m[1]], ['punct', m[2]], ['', m[3]]);
      rest = line.slice(m[0].length);
    }
    out.push(...scan(rest, MD_INLINE), ['', nl]);
  });
  return out;
}

const LANGS = {
  python: python,
  toml: (t) => scan(t, TOML),
  json: (t) => scan(t, JSONR),
  markdown: markdown,
};

/** languageFor picks a highlighter name from the API's language or the path. */
export function languageFor(language, path = '') {
  const l = String(language || '').toLowerCase();
  if (LANGS[l]) return l;
  const p = String(path).toLowerCase();
  if (p.endsWith('.py')) return 'python';
  if (p.endsWith('.toml') || p.endsWith('.cfg') || p.endsWith('.ini')) return 'toml';
  if (p.endsWith('.json')) return 'json';
  if (p.endsWith('.md')) return 'markdown';
  return 'text';
}

/** Files larger than this are shown without colours (still with line numbers). */
const MAX_HIGHLIGHT = 200000;

/** tokens splits text into [class, text] tokens for the language. */
export function tokens(textIn, language) {
  const fn = LANGS[language];
  if (!fn || textIn.length > MAX_HIGHLIGHT) return [['', textIn]];
  return fn(textIn);
}

/** toLines groups tokens into lines (a token spanning lines is split). */
export function toLines(toks) {
  const lines = [[]];
  for (const [cls, t] of toks) {
    const parts = t.split('\n');
    parts.forEach((part, i) => {
      if (i > 0) lines.push([]);
      if (part) lines[lines.length - 1].push([cls, part]);
    });
  }
  return lines;
}

/**
 * codeView renders text as numbered, highlighted lines: a <pre> whose line
 * numbers are aria-hidden and not selectable.
 */
export function codeView(textIn, language, label) {
  const lang = languageFor(language);
  const lines = toLines(tokens(String(textIn), lang));
  if (lines.length > 1 && lines[lines.length - 1].length === 0 && String(textIn).endsWith('\n')) lines.pop();
  const code = h('code', { class: `lang-${lang}` });
  const width = String(lines.length).length;
  lines.forEach((line, i) => {
    const row = h('span', { class: 'line' }, h('span', { class: 'ln', 'aria-hidden': 'true' }, String(i + 1).padStart(width, ' ')));
    const src = h('span', { class: 'src' });
    for (const [cls, t] of line) src.appendChild(cls ? h('span', { class: `tok-${cls}` }, t) : document.createTextNode(t));
    if (!line.length) src.appendChild(document.createTextNode(' '));
    row.appendChild(src);
    code.appendChild(row);
  });
  return h('pre', { class: 'code', tabindex: '0', 'aria-label': label || 'File contents' }, code);
}
