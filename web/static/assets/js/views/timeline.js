// Events and artifacts as timelines: time, type, a one-line summary and the
// full payload (pretty JSON, as text) on demand.

import { h, replace, append } from '../dom.js';
import { describe, taskPath } from '../api.js';
import { clock, dateTime } from '../format.js';
import { alertBox, empty, loading } from '../ui.js';

const MAX_PAYLOAD_CHARS = 20000;

function summary(type, p) {
  if (!p || typeof p !== 'object') return '';
  const bits = [];
  for (const k of ['stage', 'status', 'kind', 'iteration', 'purpose', 'command', 'exit_code', 'passed', 'progress', 'failure_reason', 'error', 'model', 'tokens_in', 'tokens_out', 'cost_usd', 'type']) {
    if (p[k] !== undefined && p[k] !== null && p[k] !== '' && typeof p[k] !== 'object') bits.push(`${k}: ${p[k]}`);
  }
  if (Array.isArray(p.files)) bits.push(`files: ${p.files.map((f) => (typeof f === 'string' ? f : f.path)).join(', ')}`);
  if (Array.isArray(p.questions)) bits.push(`${p.questions.length} question(s)`);
  if (type === 'ArtifactAdded' && p.artifact_type) bits.push(p.artifact_type);
  return bits.join(' · ');
}

function pretty(payload) {
  let s = JSON.stringify(payload, null, 2) || '';
  if (s.length > MAX_PAYLOAD_CHARS) s = `${s.slice(0, MAX_PAYLOAD_CHARS)}\n… (${s.length - MAX_PAYLOAD_CHARS} more characters)`;
  return s;
}

function item(entry, extra) {
  return h(
    'li',
    { class: 'tl-item' },
    h('time', { datetime: entry.created_at, title: dateTime(entry.created_at) }, clock(entry.created_at)),
    h(
      'details',
      {},
      h('summary', {}, h('span', { class: 'tl-type' }, entry.type), extra ? h('span', { class: 'muted' }, ` by ${extra}`) : null, h('span', { class: 'tl-sum' }, summary(entry.type, entry.payload))),
      h('pre', { class: 'output', tabindex: '0' }, pretty(entry.payload)),
    ),
  );
}

function timeline(app, id, kind) {
  const el = h('div', { class: 'timeline' }, loading(`Loading ${kind}…`));
  let cursor = null;
  const listEl = h('ol', { class: 'tl' });
  const more = h('button', { type: 'button', class: 'btn' }, 'Load more');
  const count = h('p', { class: 'muted' });

  async function page(reset) {
    const r = await app.api.get(taskPath(id, kind), { order: 'asc', limit: 200, cursor: reset ? '' : cursor });
    const items = r[kind] || [];
    if (reset) replace(listEl);
    append(listEl, items.map((e) => item(e, kind === 'artifacts' ? e.produced_by : '')));
    cursor = r.next_cursor || null;
    more.hidden = !cursor;
    count.textContent = `${listEl.children.length} of ${r.total} ${kind}, oldest first.`;
  }
  more.addEventListener('click', () => page(false).catch((err) => el.appendChild(alertBox('error', describe(err)))));

  return {
    el,
    async load() {
      try {
        await page(true);
        replace(el, count, listEl.children.length ? listEl : empty(`No ${kind} yet.`), h('div', { class: 'actions center' }, more));
      } catch (err) {
        replace(el, alertBox('error', describe(err)));
      }
    },
  };
}

/** eventsTab is the task's event timeline. */
export function eventsTab(app, id) {
  return timeline(app, id, 'events');
}

/** artifactsTab is the task's artifact timeline. */
export function artifactsTab(app, id) {
  return timeline(app, id, 'artifacts');
}
