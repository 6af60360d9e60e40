// Sign-in: an API key (kept in sessionStorage for this tab) and, when the
// server has accounts on, email/password sign-in and registration.

import { h, uid } from '../dom.js';
import { describe } from '../api.js';
import { alertBox, showMessage } from '../ui.js';

function nextPath() {
  const n = new URLSearchParams(location.search).get('next') || '';
  // Only local app paths: never an absolute or protocol-relative URL.
  return /^\/(?!\/)/.test(n) && n !== '/' && !n.startsWith('/app/signin') ? n : '/app/tasks';
}

function field(label, input, help) {
  const id = uid('f');
  input.id = id;
  const helpEl = help ? h('p', { class: 'help', id: `${id}-help` }, help) : null;
  if (helpEl) input.setAttribute('aria-describedby', helpEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, helpEl);
}

function keyForm(app) {
  const msg = h('div', { class: 'msg' });
  const input = h('input', { type: 'password', name: 'api_key', autocomplete: 'off', required: true, spellcheck: 'false' });
  const show = h('input', { type: 'checkbox', id: uid('show') });
  show.addEventListener('change', () => {
    input.type = show.checked ? 'text' : 'password';
  });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Use this key');
  const form = h(
    'form',
    { class: 'card stack', 'aria-labelledby': 'key-title', novalidate: true },
    h('h2', { id: 'key-title' }, 'With an API key'),
    field('API key', input, 'Sent as the X-API-Key header. Kept only in this browser tab (sessionStorage) and forgotten when you close it or sign out.'),
    h('div', { class: 'check' }, show, h('label', { for: show.id }, 'Show key')),
    msg,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    if (!key) {
      showMessage(msg, 'error', 'Enter an API key.');
      input.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Checking…';
    showMessage(msg);
    // Check the key before keeping it: a plain authenticated request.
    try {
      const resp = await fetch('/api/tasks?limit=1', { headers: { 'X-API-Key': key, Accept: 'application/json' } });
      if (!resp.ok) {
        let detail = '';
        try {
          detail = (await resp.json()).detail;
        } catch {
          detail = resp.statusText;
        }
        const text = typeof detail === 'string' ? detail : (detail && detail.message) || `HTTP ${resp.status}`;
        showMessage(msg, 'error', resp.status === 401 ? `The server rejected this key: ${text}.` : `Sign-in failed: ${text}.`);
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      app.session.useApiKey(key);
      app.navigate(nextPath(), { replaceState: true });
    } catch {
      showMessage(msg, 'error', 'Unable to reach the server. Check your connection and try again.');
    } finally {
      submit.disabled = false;
      submit.textContent = 'Use this key';
    }
  });
  return form;
}

function accountForm(app) {
  const msg = h('div', { class: 'msg' });
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'email', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, minlength: '8' });
  const signIn = h('button', { type: 'submit', class: 'btn primary', value: 'login' }, 'Sign in');
  const register = app.config.registration_enabled
    ? h('button', { type: 'submit', class: 'btn', value: 'register' }, 'Create account')
    : null;
  const form = h(
    'form',
    { class: 'card stack', 'aria-labelledby': 'acct-title', novalidate: true },
    h('h2', { id: 'acct-title' }, 'With email and password'),
    field('Email', email),
    field('Password', password, register ? 'At least 8 characters when creating an account.' : ''),
    msg,
    h('div', { class: 'actions' }, signIn, register),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const isRegister = e.submitter && e.submitter.value === 'register';
    if (!email.value.trim() || !password.value) {
      showMessage(msg, 'error', 'Enter your email and password.');
      return;
    }
    if (isRegister && password.value.length < 8) {
      showMessage(msg, 'error', 'The password needs at least 8 characters.');
      password.focus();
      return;
    }
    for (const b of [signIn, register]) if (b) b.disabled = true;
    showMessage(msg);
    try {
      const r = await app.session.login(email.value.trim(), password.value, isRegister);
      if (!r.ok) {
        const d = r.body && r.body.detail;
        const text = typeof d === 'string' ? d : (d && d.message) || `HTTP ${r.status}`;
        const retry = Number(r.headers.get('Retry-After')) || (d && d.retry_after);
        showMessage(msg, 'error', r.status === 429 ? `Too many attempts. Try again in ${retry || 60} s.` : text);
        return;
      }
      password.value = '';
      app.navigate(nextPath(), { replaceState: true });
    } catch (err) {
      showMessage(msg, 'error', describe(err));
    } finally {
      for (const b of [signIn, register]) if (b) b.disabled = false;
    }
  });
  return form;
}

/** signInView is the sign-in page. */
export function signInView(app) {
  const notice = app.takeNotice();
  const forms = [];
  if (app.session.authEnabled) forms.push(accountForm(app));
  if (app.session.keysEnabled) forms.push(keyForm(app));
  const el = h(
    'section',
    { class: 'signin' },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'lead' }, 'Describe a piece of software; the platform researches it, asks when something is unclear, writes and tests the code, and hands you the files.'),
    notice ? alertBox(notice.startsWith('You are signed out') ? 'info' : 'error', notice) : null,
    h('div', { class: 'grid-2' }, forms),
  );
  return { el };
}
