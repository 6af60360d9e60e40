// The latest review report (checks, issues, warnings) and the command logs.

import { h, replace } from '../dom.js';
import { describe, taskPath } from '../api.js';
import { dateTime, duration, clock } from '../format.js';
import { alertBox, empty, loading, checkBadge } from '../ui.js';

function list(title, items, cls) {
  const arr = Array.isArray(items) ? items.filter(Boolean) : [];
  return h(
    'div',
    { class: `review-list ${cls}` },
    h('h4', {}, `${title} (${arr.length})`),
    arr.length ? h('ul', {}, arr.map((i) => h('li', {}, typeof i === 'string' ? i : JSON.stringify(i)))) : h('p', { class: 'muted' }, 'None.'),
  );
}

function checksTable(checks) {
  if (!checks || !checks.length) return empty('No checks recorded.');
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'checks' },
      h('caption', { class: 'sr-only' }, 'Review checks'),
      h('thead', {}, h('tr', {}, ['Check', 'Tool', 'Result', 'Details', 'Time'].map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        {},
        checks.map((c) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, c.name || ''),
            h('td', {}, c.tool || ''),
            h('td', {}, checkBadge(c.status)),
            h(
              'td',
              { class: 'details' },
              c.reason ? h('p', {}, c.reason) : null,
              c.command ? h('code', {}, c.command) : null,
              c.exit_code !== null && c.exit_code !== undefined ? h('p', { class: 'muted' }, `exit code ${c.exit_code}`) : null,
            ),
            h('td', {}, c.duration_seconds ? duration(c.duration_seconds) : '—'),
          ),
        ),
      ),
    ),
  );
}

/** reviewTab shows the newest review_report artifact. */
export function reviewTab(app, id) {
  const el = h('div', { class: 'review' }, loading('Loading the review…'));
  return {
    el,
    async load() {
      try {
        const r = await app.api.get(taskPath(id, 'artifacts'), { type: 'review_report', limit: 1 });
        const a = r.artifacts[0];
        if (!a) {
          replace(el, empty('No review yet. The first one runs after the first piece of code is written.'));
          return;
        }
        const p = a.payload || {};
        const mr = p.model_review;
        replace(
          el,
          h(
            'div',
            { class: 'review-head' },
            h('span', { class: `badge ${p.passed ? 'ck-passed' : 'ck-failed'}` }, p.passed ? 'Passed' : 'Not passed'),
            h('span', {}, `${p.kind || 'review'} review${p.iteration ? ` · iteration ${p.iteration}` : ''} · ${String(p.status || '').replace(/_/g, ' ')}`),
            h('time', { class: 'muted', datetime: a.created_at }, dateTime(a.created_at)),
          ),
          p.message ? h('p', { class: 'review-msg' }, p.message) : null,
          h('h3', {}, 'Checks'),
          checksTable(p.checks),
          h('div', { class: 'grid-3' }, list('Issues', p.issues, 'issues'), list('Errors', p.errors, 'errors'), list('Warnings', p.warnings, 'warnings')),
          mr
            ? h(
                'div',
                { class: 'model-review' },
                h('h3', {}, 'Model review'),
                h('p', {}, `Verdict: ${String(mr.verdict || '').replace(/_/g, ' ')}`),
                mr.summary ? h('p', {}, mr.summary) : null,
              )
            : null,
          p.files_to_fix && p.files_to_fix.length ? h('p', {}, `Files to fix: ${p.files_to_fix.join(', ')}`) : null,
          h('p', { class: 'muted' }, `${p.files_reviewed || 0} files reviewed · sandbox ${p.sandbox || 'unknown'}`),
        );
      } catch (err) {
        replace(el, alertBox('error', describe(err)));
      }
    },
  };
}

function logEntry(a) {
  const p = a.payload || {};
  const state = p.skipped ? 'skipped' : p.blocked ? 'blocked' : p.timed_out ? 'timed out' : p.exit_code === 0 ? 'exit 0' : p.exit_code === null || p.exit_code === undefined ? p.error || 'not run' : `exit ${p.exit_code}`;
  const ok = p.exit_code === 0 && !p.timed_out;
  const flags = [
    p.timed_out ? 'timed out' : '',
    p.blocked ? 'blocked' : '',
    p.stdout_truncated ? 'stdout truncated' : '',
    p.stderr_truncated ? 'stderr truncated' : '',
    p.sandbox ? `sandbox ${p.sandbox}` : '',
    p.uid !== undefined && p.uid !== null ? `uid ${p.uid}` : '',
    p.quota_exceeded ? `stopped: ${p.quota_detail || 'over the workspace quota'}` : '',
    p.error ? `error: ${p.error}` : '',
    p.skip_reason || '',
  ].filter(Boolean);
  return h(
    'details',
    { class: 'log' },
    h(
      'summary',
      {},
      h('span', { class: `badge ${ok ? 'ck-passed' : 'ck-failed'}` }, state),
      h('span', { class: 'purpose' }, p.purpose || 'command'),
      h('code', { class: 'cmd' }, p.command || ''),
      h('span', { class: 'muted' }, `${p.duration_seconds ? duration(p.duration_seconds) : ''} · ${clock(a.created_at)}`),
    ),
    flags.length ? h('p', { class: 'muted' }, flags.join(' · ')) : null,
    h('h4', {}, 'stdout'),
    h('pre', { class: 'output', tabindex: '0' }, p.stdout || '(empty)'),
    h('h4', {}, 'stderr'),
    h('pre', { class: 'output', tabindex: '0' }, p.stderr || '(empty)'),
  );
}

/** logsTab shows the command_log artifacts, newest first. */
export function logsTab(app, id) {
  const el = h('div', { class: 'logs' }, loading('Loading command logs…'));
  return {
    el,
    async load() {
      try {
        const r = await app.api.get(taskPath(id, 'artifacts'), { type: 'command_log', limit: 100 });
        replace(el, r.artifacts.length ? [h('p', { class: 'muted' }, `${r.artifacts.length} command run${r.artifacts.length === 1 ? '' : 's'}, newest first.`), r.artifacts.map(logEntry)] : empty('No commands have run yet.'));
      } catch (err) {
        replace(el, alertBox('error', describe(err)));
      }
    },
  };
}
