// Results of a task: downloads and rerun review, then tabs for files,
// changes (the patch), the latest review, command logs, events and
// artifacts. Each tab loads when shown and again when the task changes.

import { h, replace } from '../dom.js';
import { describe, taskPath } from '../api.js';
import { terminal } from '../format.js';
import { tabs, showMessage, announce } from '../ui.js';
import { filesTab } from './files.js';
import { diffTab } from './changes.js';
import { reviewTab, logsTab } from './review.js';
import { eventsTab, artifactsTab } from './timeline.js';

const RELOAD_MS = 1500;
const REVIEW_POLL_MS = 2000;
const REVIEW_WAIT_MS = 10 * 60 * 1000;

/** resultsPanel is the results card; update(task) keeps it current. */
export function resultsPanel(app, id) {
  const msg = h('div', { class: 'msg' });
  const zip = h('button', { type: 'button', class: 'btn', 'data-action': 'download-zip' }, 'Download zip');
  const git = h('button', { type: 'button', class: 'btn', 'data-action': 'download-git' }, 'Download git export');
  const rerun = h('button', { type: 'button', class: 'btn', 'data-action': 'rerun-review' }, 'Rerun review');
  const sections = {
    files: filesTab(app, id),
    changes: diffTab(app, id),
    review: reviewTab(app, id),
    logs: logsTab(app, id),
    events: eventsTab(app, id),
    artifacts: artifactsTab(app, id),
  };
  const labels = { files: 'Files', changes: 'Changes', review: 'Review', logs: 'Command logs', events: 'Events', artifacts: 'Artifacts' };
  const stale = new Set(Object.keys(sections));
  let timer = 0;
  let gone = false;
  let last = null;
  let reviewWatch = 0;
  let reviewing = false;

  let loadedAt = 0;
  const load = (name) => {
    stale.delete(name);
    loadedAt = Date.now();
    sections[name].load();
  };
  const t = tabs(
    Object.keys(sections).map((name) => ({ id: name, label: labels[name] })),
    (name, panel) => {
      if (!panel.firstChild) panel.appendChild(sections[name].el);
      if (stale.has(name)) load(name);
    },
  );

  async function download(button, path, fallback) {
    button.disabled = true;
    const label = button.textContent;
    button.textContent = 'Preparing…';
    showMessage(msg);
    try {
      const r = await app.api.download(taskPath(id, path), fallback);
      showMessage(msg, 'info', `Downloaded ${r.name} (${Math.max(1, Math.round(r.size / 1024))} KB).`);
    } catch (err) {
      showMessage(msg, 'error', describe(err));
    } finally {
      button.textContent = label;
      button.disabled = !(last && last.files_count > 0);
    }
  }
  zip.addEventListener('click', () => download(zip, 'download.zip', `task_${id}.zip`));
  git.addEventListener('click', () => download(git, 'git-export.zip', `task_${id}_git_export.zip`));

  // Rerun review answers 202 at once; the new review_report appears when
  // the review workflow finishes, so wait for an id we have not seen.
  const reviewDone = () => {
    reviewing = false;
    rerun.disabled = !(last && terminal(last.status) && last.files_count > 0);
  };
  rerun.addEventListener('click', async () => {
    reviewing = true;
    rerun.disabled = true;
    showMessage(msg, 'info', 'Starting the review…');
    let before = '';
    try {
      const latest = await app.api.get(taskPath(id, 'artifacts'), { type: 'review_report', limit: 1 });
      before = latest.artifacts.length ? latest.artifacts[0].id : '';
      const r = await app.api.post(taskPath(id, 'rerun-review'));
      showMessage(msg, 'info', `Review running (run ${String(r.run_id || '').slice(0, 8)})…`);
    } catch (err) {
      showMessage(msg, 'error', describe(err));
      reviewDone();
      return;
    }
    const started = Date.now();
    const poll = async () => {
      if (gone) return;
      try {
        const latest = await app.api.get(taskPath(id, 'artifacts'), { type: 'review_report', limit: 1 });
        const a = latest.artifacts[0];
        if (a && a.id !== before) {
          showMessage(msg, 'info', `Review finished: ${a.payload && a.payload.status ? a.payload.status : 'done'}.`);
          announce('Review finished');
          ['review', 'logs', 'events', 'artifacts'].forEach((n) => stale.add(n));
          t.select('review');
          reviewDone();
          return;
        }
      } catch {
        // keep waiting
      }
      if (Date.now() - started > REVIEW_WAIT_MS) {
        showMessage(msg, 'error', 'The review is taking long; refresh the page later to see it.');
        reviewDone();
        return;
      }
      reviewWatch = setTimeout(poll, REVIEW_POLL_MS);
    };
    reviewWatch = setTimeout(poll, REVIEW_POLL_MS);
  });

  const el = h(
    'section',
    { class: 'card results', 'aria-labelledby': 'results-title' },
    h('div', { class: 'page-head' }, h('h2', { id: 'results-title' }, 'Results'), h('div', { class: 'actions' }, zip, git, rerun)),
    msg,
    t.el,
  );
  t.select('files');

  return {
    el,
    update(task) {
      const first = !last;
      const changed =
        first ||
        last.status !== task.status ||
        last.files_count !== task.files_count ||
        last.iterations !== task.iterations ||
        last.artifacts_count !== task.artifacts_count ||
        last.updated_at !== task.updated_at;
      last = task;
      const hasFiles = task.files_count > 0;
      zip.disabled = !hasFiles;
      git.disabled = !hasFiles;
      rerun.disabled = reviewing || !(terminal(task.status) && hasFiles);
      // The tab shown at construction has just loaded; later changes mark
      // every tab stale and reload the visible one.
      if (!changed || first) return;
      Object.keys(sections).forEach((n) => stale.add(n));
      // Throttled, not debounced: a busy task (updates every few hundred
      // ms) still refreshes the visible tab every RELOAD_MS.
      if (timer) return;
      timer = setTimeout(() => {
        timer = 0;
        if (!gone && stale.has(t.current)) load(t.current);
      }, Math.max(0, loadedAt + RELOAD_MS - Date.now()));
    },
    destroy() {
      gone = true;
      clearTimeout(timer);
      clearTimeout(reviewWatch);
    },
  };
}
