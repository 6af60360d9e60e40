// DOM helpers. Every string that reaches the page goes through a text node:
// this module is the only place elements are built, and it has no way to
// parse markup. Attributes named on* are refused so no handler can be set
// from data.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * h builds an element: h('a', {href: '/x', class: 'btn'}, 'text', child).
 * Attribute values are set with setAttribute (never parsed as markup);
 * `on` takes {event: handler}; `props` sets element properties.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'on') {
      for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    } else if (name === 'props') {
      Object.assign(el, value);
    } else if (/^on/i.test(name)) {
      throw new Error(`refusing inline handler attribute ${name}`);
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/** append adds children (nodes, strings as text, arrays, null skipped). */
export function append(parent, children) {
  for (const c of [children].flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return parent;
}

/** clear removes every child of el. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** replace swaps el's children for the given ones. */
export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

/** text sets el's text (a text node; never markup). */
export function text(el, value) {
  el.textContent = value === null || value === undefined ? '' : String(value);
  return el;
}

/** icon returns a small decorative SVG circle (status dots). */
export function dot(cls) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', `dot ${cls}`);
  svg.setAttribute('viewBox', '0 0 10 10');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const c = document.createElementNS(SVG_NS, 'circle');
  c.setAttribute('cx', '5');
  c.setAttribute('cy', '5');
  c.setAttribute('r', '4');
  svg.appendChild(c);
  return svg;
}

let idSeq = 0;
/** uid returns a document-unique id with the given prefix. */
export function uid(prefix = 'id') {
  idSeq += 1;
  return `${prefix}-${idSeq}`;
}

/** visuallyHidden is text only screen readers read. */
export function srOnly(value) {
  return h('span', { class: 'sr-only' }, value);
}
