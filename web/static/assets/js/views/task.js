// One task, live: status, stage, progress, iteration, elapsed time and
// token usage pushed over the WebSocket (polling while it is down), the
// controls, the clarification form and the results.

import { h, replace } from '../dom.js';
import { describe, taskPath } from '../api.js';
import { LiveTask } from '../live.js';
import { duration, num, stageLabel, statusLabel, terminal, dateTime } from '../format.js';
import { badge, progress, updateProgress, alertBox, showMessage, confirmDialog, copyButton, announce, connectionView } from '../ui.js';
import { clarifyPanel } from './clarify.js';
import { resultsPanel } from './results.js';
import { liveOutputPanel } from './liveoutput.js';

const CONTROLS = [
  {
    id: 'cancel',
    label: 'Cancel',
    allowed: (t) => !terminal(t.status),
    confirm: { title: 'Cancel this task?', body: 'The task stops for good. Files written so far are kept.', confirm: 'Cancel task', danger: true },
  },
  {
    id: 'pause',
    label: 'Pause',
    allowed: (t) => t.status === 'queued' || t.status === 'processing',
    confirm: { title: 'Pause this task?', body: 'It stops before its next step and waits until you unpause it.', confirm: 'Pause' },
  },
  {
    id: 'unpause',
    label: 'Unpause',
    allowed: (t) => t.status === 'paused',
    confirm: { title: 'Unpause this task?', body: 'It continues where it stopped.', confirm: 'Unpause' },
  },
  {
    id: 'retry',
    label: 'Retry',
    allowed: (t) => t.status === 'failed',
    confirm: { title: 'Retry this task?', body: 'A new run continues from the stage that failed, keeping research, design, answers and files.', confirm: 'Retry' },
  },
];

// dollars shows a cost as the API rounds it (6 decimals), trailing zeros
// trimmed down to the cents: $0.000031, $0.30.
function dollars(v) {
  const s = (Number(v) || 0).toFixed(6).replace(/0+$/, '');
  const decimals = s.length - s.indexOf('.') - 1;
  return `$${decimals < 2 ? s + '0'.repeat(2 - decimals) : s}`;
}

// costText is the task's cost, with its dollar budget when it has one.
function costText(t) {
  const cost = dollars(t.cost_usd);
  return t.budget_usd > 0 ? `${cost} of ${dollars(t.budget_usd)} budget` : cost;
}

function metric(label, value) {
  const v = h('dd', {}, value);
  return { el: h('div', { class: 'metric' }, h('dt', {}, label), v), value: v };
}

/** taskView is the live page of one task. */
// temporalLink opens the task's workflow in the Temporal Web UI, when the
// server says where that UI is.
function temporalLink(config, id) {
  if (!config.temporal_ui_url) return null;
  const ns = encodeURIComponent(config.temporal_namespace || 'default');
  const href = `${config.temporal_ui_url.replace(/\/$/, '')}/namespaces/${ns}/workflows/${encodeURIComponent(`task-${id}`)}`;
  return h('a', { class: 'btn', href, target: '_blank', rel: 'noopener noreferrer' }, 'Open in Temporal UI');
}

export function taskView(app, id) {
  const head = h('div', { class: 'task-head' });
  const conn = h('p', { class: 'conn' });
  const statusSlot = h('span', { class: 'status-slot' });
  const stage = h('span', { class: 'stage-text' });
  const bar = progress(0, 'queued', 'Task progress');
  const metrics = {
    iteration: metric('Iteration', '—'),
    elapsed: metric('Elapsed', '—'),
    tokens: metric('Tokens', '—'),
    cost: metric('Cost', '—'),
    files: metric('Files', '—'),
    template: metric('Template', '—'),
    created: metric('Created', '—'),
  };
  const problem = h('div', { class: 'msg' });
  const controlMsg = h('div', { class: 'msg' });
  const buttons = {};
  const controls = h('div', { class: 'actions controls', role: 'group', 'aria-label': 'Task controls' });
  for (const c of CONTROLS) {
    const b = h('button', { type: 'button', class: c.id === 'cancel' ? 'btn danger-outline' : 'btn', 'data-action': c.id }, c.label);
    b.disabled = true;
    b.addEventListener('click', () => act(c));
    buttons[c.id] = b;
    controls.appendChild(b);
  }
  const statusCard = h(
    'section',
    { class: 'card status-card', 'aria-labelledby': 'status-title' },
    h('h2', { id: 'status-title', class: 'sr-only' }, 'Status'),
    h('div', { class: 'status-line' }, statusSlot, stage, conn),
    bar,
    h('dl', { class: 'metrics' }, Object.values(metrics).map((m) => m.el)),
    problem,
    controls,
    controlMsg,
  );
  const liveOut = liveOutputPanel();
  const clarifySlot = h('div');
  const resultsSlot = h('div');
  const pageMsg = h('div', { class: 'msg' });
  const el = h('section', { class: 'task-page' }, h('p', { class: 'back' }, h('a', { href: '/app/tasks' }, '← All tasks')), head, pageMsg, statusCard, liveOut.el, clarifySlot, resultsSlot);

  let task = null;
  let tick = 0;
  let lastStatus = '';
  let clarify = null;
  let results = null;
  let gone = false;
  let connState = '';

  function renderHead(t) {
    replace(
      head,
      h('h1', {}, 'Task ', h('code', { class: 'task-id' }, t.task_id)),
      h('div', { class: 'head-actions' }, copyButton(t.task_id, 'Copy id'), temporalLink(app.config, t.task_id)),
      h('p', { class: 'task-desc' }, t.description),
    );
  }

  function elapsed(t) {
    let s = Number(t.time_taken_seconds) || 0;
    if (!terminal(t.status) && t.created_at) s = Math.max(s, (Date.now() - Date.parse(t.created_at)) / 1000);
    return duration(s);
  }

  function render(t) {
    const first = !task;
    task = t;
    if (first) renderHead(t);
    if (t.status !== lastStatus) {
      replace(statusSlot, badge(t.status));
      document.title = `${statusLabel(t.status)} · Task ${t.task_id.slice(0, 8)} · ai-platform`;
      if (lastStatus) announce(`Task status: ${statusLabel(t.status)}`);
      lastStatus = t.status;
    }
    stage.textContent = `Stage: ${stageLabel(t.current_stage)}`;
    updateProgress(bar, t.progress, t.status);
    metrics.iteration.value.textContent = t.max_iterations ? `${t.iterations || 0} / ${t.max_iterations}` : String(t.iterations || 0);
    metrics.elapsed.value.textContent = elapsed(t);
    metrics.tokens.value.textContent = `${num(t.total_tokens)} (${num(t.tokens_in)} in, ${num(t.tokens_out)} out)`;
    if (t.cost_usd !== undefined) metrics.cost.value.textContent = costText(t);
    metrics.files.value.textContent = num(t.files_count);
    metrics.template.value.textContent = t.template_id || 'none';
    metrics.created.value.textContent = dateTime(t.created_at);
    if (t.status === 'failed' || t.error) {
      const reason = t.failure_reason ? `${t.failure_reason.replace(/_/g, ' ')}: ` : '';
      replace(problem, alertBox('error', `${reason}${t.error || 'The task failed.'}`));
    } else if (t.status === 'cancelled') {
      replace(problem, alertBox('info', 'The task was cancelled.'));
    } else {
      replace(problem);
    }
    for (const c of CONTROLS) buttons[c.id].disabled = !c.allowed(t);
    liveOut.task(t);

    if (t.status === 'needs_input') {
      if (!clarify) {
        clarify = clarifyPanel(app, id, () => live.refresh());
        replace(clarifySlot, clarify.el);
      }
    } else if (clarify) {
      clarify.destroy();
      clarify = null;
      replace(clarifySlot);
    }
    if (!results) {
      results = resultsPanel(app, id);
      replace(resultsSlot, results.el);
    }
    results.update(t);
  }

  async function act(c) {
    if (!task || !c.allowed(task)) return;
    const ok = await confirmDialog(c.confirm);
    if (!ok) return;
    buttons[c.id].disabled = true;
    showMessage(controlMsg);
    try {
      const r = await app.api.post(taskPath(id, c.id));
      const said = { cancel: 'Cancellation requested.', pause: 'Pause requested: the task stops before its next step.', unpause: 'Unpaused.', retry: 'Retry started.' };
      showMessage(controlMsg, 'info', `${said[c.id]}${r && r.status ? ` (${String(r.status).replace(/_/g, ' ')})` : ''}`);
      live.refresh();
    } catch (err) {
      showMessage(controlMsg, 'error', describe(err));
      if (task) buttons[c.id].disabled = !c.allowed(task);
    }
  }

  const live = new LiveTask({
    id,
    session: app.session,
    api: app.api,
    onTask: (t) => !gone && render(t),
    onLive: (m) => !gone && liveOut.update(m),
    onState: (s, d) => {
      connectionView(conn, s, d);
      // Announce only real changes (not every retry countdown).
      const degraded = s === 'polling' || s === 'offline';
      if (degraded && connState === 'live') announce('Live updates interrupted; checking every 2 seconds.');
      if (s === 'live' && (connState === 'polling' || connState === 'offline')) announce('Live updates restored.');
      if (s === 'live' || degraded) connState = s;
    },
    onFatal: (code, reason) => {
      connectionView(conn, 'closed');
      if (code === 4404) replace(pageMsg, alertBox('error', 'Task not found. It may belong to another key or account, or have been deleted.'));
      else {
        replace(pageMsg, alertBox('error', `Not authorised: ${reason || 'sign in again'}.`));
      }
    },
  });
  connectionView(conn, 'connecting');
  live.start();
  // Fetch once right away too: the page fills in even before the socket opens.
  app.api
    .get(taskPath(id))
    .then((t) => live.deliver(t))
    .catch((err) => {
      if (!task) replace(pageMsg, alertBox('error', describe(err)));
    });
  tick = setInterval(() => {
    if (task && !terminal(task.status)) metrics.elapsed.value.textContent = elapsed(task);
  }, 1000);

  return {
    el,
    destroy() {
      gone = true;
      live.stop();
      clearInterval(tick);
      if (clarify) clarify.destroy();
      if (results) results.destroy();
    },
  };
}
