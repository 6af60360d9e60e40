// Shared widgets: status badges, progress bars, alerts, a confirmation
// dialog, accessible tabs, copy buttons and the live announcer.

import { h, replace, dot, uid } from './dom.js';
import { statusLabel, percent } from './format.js';

/** badge shows a task status as a coloured pill with a text label. */
export function badge(status) {
  return h('span', { class: `badge st-${String(status || 'unknown').replace(/[^a-z_]/g, '')}` }, statusLabel(status));
}

/** checkBadge shows passed / failed / skipped. */
export function checkBadge(state) {
  const s = String(state || 'unknown').replace(/[^a-z_]/g, '');
  return h('span', { class: `badge ck-${s}` }, s.replace(/_/g, ' '));
}

/** progress builds a native <progress> with a visible percentage. */
export function progress(value, status, label) {
  const pct = percent(value, status);
  const bar = h('progress', { max: '100', value: String(pct), 'aria-label': label || 'Progress' });
  return h('span', { class: 'progress' }, bar, h('span', { class: 'pct' }, `${pct}%`));
}

/** updateProgress sets an existing progress() element. */
export function updateProgress(el, value, status) {
  const pct = percent(value, status);
  el.querySelector('progress').value = pct;
  el.querySelector('.pct').textContent = `${pct}%`;
}

/** alertBox is an error/info message; role=alert for errors. */
export function alertBox(kind, message) {
  const attrs = { class: `alert alert-${kind}` };
  if (kind === 'error') attrs.role = 'alert';
  else attrs.role = 'status';
  return h('div', attrs, message);
}

/** showError puts an error message into a slot (or empties it). */
export function showMessage(slot, kind, message) {
  if (!message) {
    replace(slot);
    return;
  }
  replace(slot, alertBox(kind, message));
}

/**
 * confirmDialog asks a yes/no question in a modal <dialog> (focus is trapped
 * by the browser, Escape cancels) and resolves true on confirm.
 */
export function confirmDialog({ title, body, confirm = 'Confirm', danger = false }) {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const ok = h('button', { type: 'submit', class: danger ? 'btn danger' : 'btn primary', value: 'yes' }, confirm);
    const dlg = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': titleId },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: titleId }, title),
        body ? h('p', {}, body) : null,
        h(
          'div',
          { class: 'actions' },
          h('button', { type: 'submit', class: 'btn', value: 'no' }, 'Cancel'),
          ok,
        ),
      ),
    );
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'yes');
      dlg.remove();
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    ok.focus();
  });
}

/**
 * tabs builds an ARIA tab list: [{id, label, render(panel)}]; arrow keys,
 * Home and End move between tabs. Returns {el, select(id), panels}.
 */
export function tabs(items, onSelect) {
  const list = h('div', { role: 'tablist', class: 'tablist', 'aria-label': 'Task results' });
  const panels = {};
  const buttons = {};
  const wrap = h('div', { class: 'tabs' }, list);
  let current = '';
  const select = (id, focus = false) => {
    current = id;
    for (const it of items) {
      const on = it.id === id;
      buttons[it.id].setAttribute('aria-selected', String(on));
      buttons[it.id].tabIndex = on ? 0 : -1;
      panels[it.id].hidden = !on;
    }
    if (focus) buttons[id].focus();
    if (onSelect) onSelect(id, panels[id]);
  };
  items.forEach((it, i) => {
    const tabId = `tab-${it.id}`;
    const panelId = `panel-${it.id}`;
    const b = h(
      'button',
      {
        type: 'button',
        role: 'tab',
        id: tabId,
        'aria-controls': panelId,
        'aria-selected': 'false',
        tabindex: '-1',
        on: {
          click: () => select(it.id),
          keydown: (e) => {
            const keys = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: items.length - 1 };
            if (!(e.key in keys)) return;
            e.preventDefault();
            const n = (keys[e.key] + items.length) % items.length;
            select(items[n].id, true);
          },
        },
      },
      it.label,
    );
    buttons[it.id] = b;
    list.appendChild(b);
    const p = h('div', { role: 'tabpanel', id: panelId, 'aria-labelledby': tabId, tabindex: '0', class: 'tabpanel' });
    p.hidden = true;
    panels[it.id] = p;
    wrap.appendChild(p);
  });
  return { el: wrap, select, panels, get current() { return current; } };
}

/** copyButton copies text to the clipboard and says so. */
export function copyButton(getText, label = 'Copy') {
  const b = h('button', { type: 'button', class: 'btn small' }, label);
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(typeof getText === 'function' ? getText() : getText);
      b.textContent = 'Copied';
    } catch {
      b.textContent = 'Copy failed';
    }
    setTimeout(() => {
      b.textContent = label;
    }, 1500);
  });
  return b;
}

/** announce speaks a short message through the page's polite live region. */
export function announce(message) {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  setTimeout(() => {
    region.textContent = message;
  }, 50);
}

/** connection renders the live-connection indicator state. */
export function connectionView(el, state, detail) {
  const labels = {
    connecting: 'Connecting…',
    live: 'Live',
    reconnecting: 'Reconnecting',
    polling: 'Polling every 2 s',
    offline: 'Offline',
    closed: 'Not connected',
  };
  el.dataset.state = state;
  replace(el, dot(`conn-${state}`), h('span', { class: 'sr-only' }, 'Connection: '), h('span', {}, labels[state] || state), detail ? h('span', { class: 'muted' }, ` · ${detail}`) : null);
}

/** empty is a muted placeholder paragraph. */
export function empty(message) {
  return h('p', { class: 'muted empty' }, message);
}

/** loading is a busy placeholder. */
export function loading(message = 'Loading…') {
  return h('p', { class: 'muted loading', role: 'status' }, message);
}
