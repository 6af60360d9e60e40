// The caller's tasks, newest first, with a status filter and paging.

import { h, replace, uid } from '../dom.js';
import { describe } from '../api.js';
import { age, dateTime, stageLabel, STATUSES, terminal } from '../format.js';
import { badge, progress, empty, loading, showMessage } from '../ui.js';

const PAGE = 20;
const REFRESH_MS = 5000;

function row(t) {
  const desc = String(t.description || '').trim() || '(no description)';
  return h(
    'li',
    {},
    h(
      'a',
      { class: 'task-row', href: `/app/tasks/${encodeURIComponent(t.task_id)}` },
      h('span', { class: 'desc' }, desc),
      h(
        'span',
        { class: 'meta' },
        badge(t.status),
        h('span', { class: 'stage' }, h('span', { class: 'sr-only' }, 'Stage: '), stageLabel(t.current_stage)),
        progress(t.progress, t.status, 'Task progress'),
        h('time', { datetime: t.created_at, title: dateTime(t.created_at) }, age(t.created_at)),
      ),
    ),
  );
}

/** listView shows the caller's tasks. */
export function listView(app) {
  const filterId = uid('status');
  const params = new URLSearchParams(location.search);
  const select = h(
    'select',
    { id: filterId, name: 'status' },
    h('option', { value: '' }, 'All statuses'),
    STATUSES.map(([v, label]) => h('option', { value: v }, label)),
  );
  select.value = params.get('status') || '';
  const msg = h('div', { class: 'msg' });
  const list = h('ul', { class: 'task-list', 'aria-busy': 'true' });
  const more = h('button', { type: 'button', class: 'btn' }, 'Load more');
  more.hidden = true;
  const refreshBtn = h('button', { type: 'button', class: 'btn' }, 'Refresh');
  const count = h('p', { class: 'muted count', role: 'status' });
  let cursor = null;
  let pages = 0;
  let timer = 0;
  let gone = false;
  // Each reset (a filter change, Refresh, the timer) starts a generation; an
  // answer of an older one arrives too late to be shown, so a slow answer
  // for the previous filter cannot replace the list of the new one.
  let generation = 0;

  async function load(reset) {
    const gen = reset ? ++generation : generation;
    const stale = () => gone || gen !== generation;
    if (reset) {
      cursor = null;
      pages = 0;
    }
    list.setAttribute('aria-busy', 'true');
    if (reset && !list.firstChild) replace(list, h('li', {}, loading('Loading tasks…')));
    try {
      const page = await app.api.get('/api/tasks', { limit: PAGE, status: select.value, cursor: reset ? '' : cursor });
      if (stale()) return;
      const items = page.tasks.map(row);
      if (reset) replace(list, items);
      else items.forEach((i) => list.appendChild(i));
      if (reset && !page.tasks.length) {
        replace(
          list,
          h('li', {}, empty(select.value ? 'No tasks with this status.' : 'No tasks yet.'), select.value ? null : h('a', { class: 'btn primary', href: '/app/new' }, 'Create your first task')),
        );
      }
      cursor = page.next_cursor || null;
      pages += 1;
      more.hidden = !cursor;
      count.textContent = `${page.total} task${page.total === 1 ? '' : 's'}`;
      showMessage(msg);
      scheduleRefresh(page.tasks.some((t) => !terminal(t.status)));
    } catch (err) {
      if (!stale()) showMessage(msg, 'error', describe(err));
    } finally {
      if (!stale()) list.setAttribute('aria-busy', 'false');
    }
  }

  // While a task on the first page is active, the page refreshes itself.
  function scheduleRefresh(active) {
    clearTimeout(timer);
    if (!active || pages !== 1 || gone) return;
    timer = setTimeout(() => {
      // Re-rendering would drop the keyboard focus; wait while it is in the list.
      if (list.contains(document.activeElement)) scheduleRefresh(true);
      else load(true);
    }, REFRESH_MS);
  }

  select.addEventListener('change', () => {
    const q = select.value ? `?status=${encodeURIComponent(select.value)}` : '';
    history.replaceState(null, '', `/app/tasks${q}`);
    load(true);
  });
  refreshBtn.addEventListener('click', () => load(true));
  more.addEventListener('click', () => load(false));

  const el = h(
    'section',
    { class: 'list-page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Your tasks'), h('a', { class: 'btn primary', href: '/app/new' }, 'New task')),
    h('div', { class: 'toolbar' }, h('div', { class: 'field inline' }, h('label', { for: filterId }, 'Status'), select), refreshBtn, count),
    msg,
    list,
    h('div', { class: 'actions center' }, more),
  );
  load(true);
  return {
    el,
    destroy() {
      gone = true;
      clearTimeout(timer);
    },
  };
}
