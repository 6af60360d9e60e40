// Entry point: reads the server's public config, restores the session,
// and routes /app/... paths to views (history API; the server answers every
// /app/ path with this page).

import { h, replace } from './dom.js';
import { Api, describe } from './api.js';
import { Session } from './session.js';
import { alertBox } from './ui.js';
import { signInView } from './views/signin.js';
import { listView } from './views/list.js';
import { createView } from './views/create.js';
import { taskView } from './views/task.js';

const ROUTES = [
  [/^\/(?:app\/?)?$/, 'list'],
  [/^\/app\/tasks\/?$/, 'list'],
  [/^\/app\/new\/?$/, 'create'],
  [/^\/app\/tasks\/([0-9a-fA-F-]{36})\/?$/, 'task'],
  [/^\/app\/signin\/?$/, 'signin'],
];

const VIEWS = { list: listView, create: createView, task: taskView, signin: signInView };

const TITLES = { list: 'Tasks', create: 'New task', task: 'Task', signin: 'Sign in' };

class App {
  constructor(config) {
    this.config = config;
    this.session = new Session(config);
    this.api = new Api(this.session, (err) => this.unauthorized(err));
    this.main = document.getElementById('main');
    this.current = null;
    this.notice = '';
    this.session.onChange(() => this.renderIdentity());
    window.addEventListener('popstate', () => this.route());
    document.addEventListener('click', (e) => this.intercept(e));
  }

  /** intercept turns clicks on same-origin /app links into in-page navigation. */
  intercept(e) {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest && e.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download') || a.getAttribute('href').startsWith('#')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || !(url.pathname === '/' || url.pathname.startsWith('/app'))) return;
    e.preventDefault();
    this.navigate(url.pathname + url.search);
  }

  navigate(path, { replaceState = false } = {}) {
    if (replaceState) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
    this.route();
  }

  unauthorized(err) {
    // A key the server no longer accepts is dropped; the sign-in page says why.
    if (!this.session.token) this.session.forgetApiKey();
    this.notice = describe(err);
    if (this.current && this.current.name !== 'signin') this.navigate(`/app/signin?next=${encodeURIComponent(location.pathname)}`);
  }

  renderIdentity() {
    const slot = document.getElementById('identity');
    const nav = document.getElementById('nav');
    nav.hidden = !this.session.signedIn;
    if (!this.session.signedIn) {
      replace(slot);
      return;
    }
    replace(
      slot,
      h('span', { class: 'who' }, this.session.label),
      h('button', { type: 'button', class: 'btn small', on: { click: () => this.signOut() } }, 'Sign out'),
    );
  }

  async signOut() {
    await this.session.signOut();
    this.notice = 'You are signed out.';
    this.navigate('/app/signin');
  }

  route() {
    const path = location.pathname;
    let name = 'list';
    let params = [];
    let found = false;
    for (const [re, n] of ROUTES) {
      const m = re.exec(path);
      if (m) {
        name = n;
        params = m.slice(1);
        found = true;
        break;
      }
    }
    if (this.current && this.current.destroy) this.current.destroy();
    this.current = null;
    if (!found) {
      this.show('notfound', { el: h('section', {}, h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '/app/tasks' }, 'Back to your tasks'))) });
      return;
    }
    if (name !== 'signin' && !this.session.signedIn) {
      history.replaceState(null, '', `/app/signin?next=${encodeURIComponent(path)}`);
      name = 'signin';
      params = [];
    }
    const view = VIEWS[name](this, ...params);
    this.show(name, view);
  }

  show(name, view) {
    this.current = { name, ...view };
    document.title = `${TITLES[name] || 'ai-platform'} · ai-platform`;
    for (const a of document.querySelectorAll('#nav a')) {
      if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    replace(this.main, view.el);
    // Move focus to the new page's heading so keyboard and screen-reader
    // users start at the top of the new content.
    const h1 = this.main.querySelector('h1');
    if (h1) {
      h1.tabIndex = -1;
      h1.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }

  /** takeNotice returns (once) a message left for the next page. */
  takeNotice() {
    const n = this.notice;
    this.notice = '';
    return n;
  }
}

async function boot() {
  const main = document.getElementById('main');
  let config;
  try {
    const resp = await fetch('/api/config', { headers: { Accept: 'application/json' } });
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    config = await resp.json();
  } catch (e) {
    replace(main, alertBox('error', `Unable to reach the server (${e.message}). Reload the page to try again.`));
    return;
  }
  const app = new App(config);
  if (app.session.authEnabled && !app.session.apiKey) await app.session.refresh();
  app.renderIdentity();
  app.route();
  document.documentElement.dataset.ready = 'true';
}

boot();
